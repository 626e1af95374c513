//! The lowest layer above the entities: the database handle and its pools (`db`), the SQL
//! builder and the statements of every edge (`sql`), and what a page of a list is asked for
//! (`page`). It knows nothing of GraphQL or of the domain's rules; a test keeps it so
//! (tests/it/layers.rs).

pub mod db;
pub mod page;
pub mod sql;
