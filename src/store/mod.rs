//! The lowest layer above the entities: the database handle and its pools (`db`), the SQL
//! builder and the batched statements of edges (`sql`), every edge's statement (`edges`), what
//! the request's loader reads by key, one statement per batch (`keys`), what a page of a list is
//! asked for (`page`), the reads of the event log its readers share (`event_log`), the
//! encoding of global ids (`ids`), bulk loading (`copy`) and backups of an SQLite file (`backup`). It knows nothing of GraphQL or of
//! the domain's rules; a test keeps it so (tests/it/layers.rs).

pub mod backup;
pub mod copy;
pub mod db;
pub mod edges;
pub mod event_log;
pub mod ids;
pub mod keys;
pub mod page;
pub mod sql;
