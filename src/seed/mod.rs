//! Worlds to explore (`seed demo`) and to measure (`seed bench`).

mod bench;
mod demo;
pub mod world;

pub use bench::bench;
pub use demo::demo;

/// What a seed made: lines for a person to read, and a token for the world's viewer.
pub struct SeedReport {
    pub summary: Vec<String>,
    pub token: String,
}
