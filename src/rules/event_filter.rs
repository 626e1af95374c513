//! The rules of saved event filters: a person's own, named uniquely among theirs, at most the
//! `eventFilters` quota of them, deleted by their owner alone; saving and deleting each record
//! their event.

use chrono::Utc;
use entity::enums::EventType;
use entity::event_filter;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, ModelTrait, PaginatorTrait,
    QueryFilter,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::change::{Change, NewEvent, Subject};

/// Saves `filter` (the stored form of its conditions) as the actor's filter `name` (cleaned
/// already, `naming::clean_name`).
pub async fn create(
    change: &mut Change,
    name: String,
    filter: serde_json::Value,
    max_filters: u64,
) -> ApiResult<event_filter::Model> {
    let saved = event_filter::Entity::find()
        .filter(event_filter::Column::PersonId.eq(change.actor.id))
        .count(&change.txn)
        .await?;
    crate::rules::quotas::ensure_room(
        "eventFilters",
        max_filters,
        saved,
        "saved event filters per person",
    )?;
    let taken = event_filter::Entity::find()
        .filter(event_filter::Column::PersonId.eq(change.actor.id))
        .filter(event_filter::Column::Name.eq(&name))
        .one(&change.txn)
        .await?;
    if let Some(taken) = taken {
        return Err(ApiError::Conflict {
            message: format!("you have a filter named \"{name}\" already"),
            ids: vec![taken.id],
        });
    }
    let saved = event_filter::ActiveModel {
        id: Set(Uuid::now_v7()),
        person_id: Set(change.actor.id),
        name: Set(name),
        filter: Set(filter.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(&change.txn)
    .await?;
    change.record(NewEvent {
        event_type: EventType::EventFilterSaved,
        summary: format!("{} saved event filter {}", change.actor.name, saved.name),
        subjects: vec![Subject::person(&change.actor)],
        payload: serde_json::json!({ "name": saved.name, "filter": filter }),
    });
    Ok(saved)
}

/// Deletes the actor's saved filter `id`. Anyone else's, or none, is NOT_FOUND alike.
pub async fn delete(change: &mut Change, id: Uuid) -> ApiResult<()> {
    let saved = event_filter::Entity::find_by_id(id)
        .one(&change.txn)
        .await?
        .filter(|f| f.person_id == change.actor.id)
        .ok_or_else(|| ApiError::not_found("EventFilter"))?;
    let name = saved.name.clone();
    saved.delete(&change.txn).await?;
    change.record(NewEvent {
        event_type: EventType::EventFilterDeleted,
        summary: format!("{} deleted event filter {name}", change.actor.name),
        subjects: vec![Subject::person(&change.actor)],
        payload: serde_json::json!({ "name": name }),
    });
    Ok(())
}
