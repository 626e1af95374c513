//! `createEventFilter` and `deleteEventFilter`: decode the input (a filter's ids, and the
//! conditions into their stored form), begin the change, apply the rule
//! (`rules::event_filter`), commit, build the payload.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::api::context::{quotas, scope, writer};
use crate::api::relay::{NodeKind, expect_global_id};
use crate::api::types::event::filter::{self, EventFilter, EventFilterInput};
use crate::error::{ApiError, ApiResult};
use crate::rules::change::Change;
use crate::rules::event_filter;

/// A filter to save for the viewer.
#[derive(InputObject)]
pub struct CreateEventFilterInput {
    /// The viewer's name for it, unique among its filters.
    pub name: String,
    /// What it selects. `savedFilterId` is not allowed inside a saved filter.
    pub filter: EventFilterInput,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `createEventFilter`.
#[derive(SimpleObject)]
pub struct CreateEventFilterPayload {
    /// The saved filter.
    pub event_filter: EventFilter,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// A saved filter of the viewer's to delete.
#[derive(InputObject)]
pub struct DeleteEventFilterInput {
    /// The filter's global id.
    pub event_filter_id: ID,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `deleteEventFilter`.
#[derive(SimpleObject)]
pub struct DeleteEventFilterPayload {
    /// The id of the deleted filter.
    pub deleted_event_filter_id: ID,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// Mutations of saved event filters.
#[derive(Default)]
pub struct EventFilterMutation;

#[Object]
impl EventFilterMutation {
    /// Saves a named event filter for the viewer.
    async fn create_event_filter(
        &self,
        ctx: &Context<'_>,
        input: CreateEventFilterInput,
    ) -> ApiResult<Option<CreateEventFilterPayload>> {
        let scope = scope(ctx)?;
        let viewer = writer(ctx)?;
        let name = crate::naming::clean_name(&input.name, "a filter name")?;
        if input.filter.saved_filter_id.is_some() {
            return Err(ApiError::bad_input(
                "a saved filter cannot refer to another saved filter",
            ));
        }
        let criteria = filter::criteria(ctx, Some(input.filter)).await?;
        let stored = serde_json::to_value(&criteria)
            .map_err(|err| ApiError::internal(format!("event filter to JSON: {err}")))?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let saved =
            event_filter::create(&mut change, name, stored, quotas(ctx)?.event_filters).await?;
        change.commit().await?;
        Ok(Some(CreateEventFilterPayload {
            event_filter: EventFilter(saved),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Deletes one of the viewer's saved filters.
    async fn delete_event_filter(
        &self,
        ctx: &Context<'_>,
        input: DeleteEventFilterInput,
    ) -> ApiResult<Option<DeleteEventFilterPayload>> {
        let scope = scope(ctx)?;
        let viewer = writer(ctx)?;
        let id = expect_global_id(&input.event_filter_id, NodeKind::EventFilter)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        event_filter::delete(&mut change, id).await?;
        change.commit().await?;
        Ok(Some(DeleteEventFilterPayload {
            deleted_event_filter_id: input.event_filter_id,
            client_mutation_id: input.client_mutation_id,
        }))
    }
}
