//! Reads of the event log that every reader of it shares: the live feed, a subscription's replay
//! and the GraphQL event type.

use std::collections::HashMap;

use entity::event_subject;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::ApiResult;

/// The subjects of the events `ids`, by event, in one statement (none for no event). Each
/// event's subjects come in one order on every database and every plan: by kind, then object
/// id, compared bytewise here (a collation would order kinds differently on PostgreSQL).
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
    for list in subjects.values_mut() {
        list.sort_by(|a, b| (a.kind.as_str(), a.object_id).cmp(&(b.kind.as_str(), b.object_id)));
    }
    Ok(subjects)
}
