//! What people filter events by: the input of every `events` list and the subscription, decoded
//! into the rule's `EventCriteria`, and the filters people save to reuse.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::enums::{EventCategory, EventType};
use entity::event_filter;
use uuid::Uuid;

use crate::api::context::{loader, scope};
use crate::api::relay::{NodeKind, expect_global_id, global_id};
use crate::error::{ApiError, ApiResult};
use crate::rules::access::events::{self, EventCriteria};
use crate::store::keys::EventFilterId;

/// Which events to show. All conditions must hold; each list matches any of its values.
#[derive(InputObject, Debug, Clone, Default)]
pub struct EventFilterInput {
    /// Only events of these types.
    pub types: Option<Vec<EventType>>,
    /// Only events of these categories.
    pub categories: Option<Vec<EventCategory>>,
    /// Only events concerning this team.
    pub team_id: Option<ID>,
    /// Only events concerning this app.
    pub app_id: Option<ID>,
    /// Only events concerning this payment method.
    pub payment_method_id: Option<ID>,
    /// Apply one of the viewer's saved filters as well.
    pub saved_filter_id: Option<ID>,
}

/// Decodes an input; an id of another kind or a saved filter that is not the viewer's is
/// NOT_FOUND.
pub async fn criteria(
    ctx: &Context<'_>,
    input: Option<EventFilterInput>,
) -> ApiResult<EventCriteria> {
    let Some(input) = input else {
        return Ok(EventCriteria::default());
    };
    let mut criteria = EventCriteria {
        types: input.types.unwrap_or_default(),
        categories: input
            .categories
            .unwrap_or_default()
            .into_iter()
            .map(|c| events::category_value(c).to_owned())
            .collect(),
        matches_nothing: false,
        person_id: None,
        team_id: input
            .team_id
            .as_ref()
            .map(|id| expect_global_id(id, NodeKind::Team))
            .transpose()?,
        app_id: input
            .app_id
            .as_ref()
            .map(|id| expect_global_id(id, NodeKind::App))
            .transpose()?,
        payment_method_id: input
            .payment_method_id
            .as_ref()
            .map(|id| expect_global_id(id, NodeKind::PaymentMethod))
            .transpose()?,
    };
    if let Some(id) = &input.saved_filter_id {
        let saved = saved_filter(ctx, expect_global_id(id, NodeKind::EventFilter)?)
            .await?
            .ok_or_else(|| ApiError::not_found("EventFilter"))?;
        criteria.merge(EventCriteria::of_saved(&saved.0)?);
    }
    Ok(criteria)
}

/// A filter saved by its owner.
pub struct EventFilter(pub event_filter::Model);

/// The conditions of a saved filter.
#[derive(SimpleObject)]
pub struct EventFilterSpec {
    /// Only events of these types (all when empty).
    pub types: Vec<EventType>,
    /// Only events of these categories (all when empty).
    pub categories: Vec<EventCategory>,
    /// Only events concerning this team.
    pub team_id: Option<ID>,
    /// Only events concerning this app.
    pub app_id: Option<ID>,
    /// Only events concerning this payment method.
    pub payment_method_id: Option<ID>,
}

/// A filter saved by its owner.
#[Object]
impl EventFilter {
    /// The global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::EventFilter, self.0.id)
    }

    /// The owner's name for it.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What it selects.
    async fn filter(&self) -> ApiResult<EventFilterSpec> {
        let c = EventCriteria::of_saved(&self.0)?;
        Ok(EventFilterSpec {
            types: c.types,
            categories: c
                .categories
                .iter()
                .filter_map(|c| match c.as_str() {
                    "COLLABORATION" => Some(EventCategory::Collaboration),
                    "TECHNICAL" => Some(EventCategory::Technical),
                    "BILLING" => Some(EventCategory::Billing),
                    _ => None,
                })
                .collect(),
            team_id: c.team_id.map(|id| global_id(NodeKind::Team, id)),
            app_id: c.app_id.map(|id| global_id(NodeKind::App, id)),
            payment_method_id: c
                .payment_method_id
                .map(|id| global_id(NodeKind::PaymentMethod, id)),
        })
    }

    /// When it was saved.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Loads one of the viewer's own saved filters.
pub async fn saved_filter(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<EventFilter>> {
    let viewer = scope(ctx)?.viewer()?.id();
    Ok(loader(ctx)?
        .load_one(EventFilterId(id))
        .await?
        .filter(|f| f.person_id == viewer)
        .map(EventFilter))
}
