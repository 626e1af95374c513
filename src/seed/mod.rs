//! Worlds to explore (`seed demo`) and to measure (`seed bench`).

mod bench;
mod demo;
pub mod world;

pub use bench::bench;
pub use demo::demo;

use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};

use crate::error::ApiResult;

/// What a seed made: lines for a person to read, and a token for the world's viewer.
pub struct SeedReport {
    pub summary: Vec<String>,
    pub token: String,
}

/// The sequence the next event gets: one more than the highest so far.
pub async fn next_event_sequence(conn: &impl ConnectionTrait) -> ApiResult<i64> {
    let last = entity::event::Entity::find()
        .order_by_desc(entity::event::Column::Sequence)
        .one(conn)
        .await?;
    Ok(last.map_or(1, |e| e.sequence + 1))
}
