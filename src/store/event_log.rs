//! Reads of the event log that every reader of it shares: the live feed, a subscription's replay
//! and the GraphQL event type.

use std::collections::HashMap;

use entity::event_subject;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::ApiResult;

/// The subjects of the events `ids`, by event, in one statement (none for no event).
pub async fn subjects_of(
    conn: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> ApiResult<HashMap<Uuid, Vec<event_subject::Model>>> {
    let mut subjects: HashMap<Uuid, Vec<event_subject::Model>> = HashMap::new();
    let ids: Vec<Uuid> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(subjects);
    }
    for subject in event_subject::Entity::find()
        .filter(event_subject::Column::EventId.is_in(ids))
        .all(conn)
        .await?
    {
        subjects.entry(subject.event_id).or_default().push(subject);
    }
    Ok(subjects)
}
