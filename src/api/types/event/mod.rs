//! The event log as people read it: every interaction, with the objects it concerns and their
//! names at that moment, rendered for the viewer (`Reach::view_event`). Which events a viewer
//! sees and which a filter keeps is a rule (`rules::access::events`); the filter's input and
//! saved filters are in `filter`.

pub mod filter;

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, Json, Object};
use chrono::{DateTime, Utc};
use entity::enums::{EventCategory, EventSubjectKind, EventType};
use entity::{event, event_subject};
use uuid::Uuid;

use crate::api::context::{Batch, loader, scope};
use crate::api::cursor::List;
use crate::api::cursor::lists::Events;
use crate::api::relay::{NodeKind, global_id};
use crate::api::types::app::{self, App};
use crate::api::types::event::filter::EventFilterInput;
use crate::api::types::payment_method::{self, PaymentMethod};
use crate::api::types::person::{self, Person};
use crate::api::types::team::{self, Team};
use crate::error::{ApiError, ApiResult};
use crate::rules::access::Reach;
use crate::rules::access::events::{self, About, EventCriteria, EventPage};
use crate::store::keys::EventSubjects;
use crate::store::page::{CursorKey, PageArgs};

/// The kind of global id an event subject's object has.
fn node_kind(kind: EventSubjectKind) -> NodeKind {
    match kind {
        EventSubjectKind::Person => NodeKind::Person,
        EventSubjectKind::Team => NodeKind::Team,
        EventSubjectKind::App => NodeKind::App,
        EventSubjectKind::Environment => NodeKind::Environment,
        EventSubjectKind::PaymentMethod => NodeKind::PaymentMethod,
        EventSubjectKind::SshKey => NodeKind::SshKey,
        EventSubjectKind::Invitation => NodeKind::Invitation,
        EventSubjectKind::AccessRequest => NodeKind::AccessRequest,
    }
}

/// One page of the events the viewer may see, matching `criteria`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventsPage {
    pub args: PageArgs,
    pub criteria: EventCriteria,
}

impl Loader<EventsPage> for Batch {
    type Value = EventPage;
    type Error = ApiError;

    // One statement per key: each page has its own bounds, and a request rarely asks for two.
    async fn load(&self, keys: &[EventsPage]) -> ApiResult<HashMap<EventsPage, EventPage>> {
        let reach = self.0.reach().await?;
        let mut out = HashMap::new();
        for key in keys {
            let page = events::page(&self.0.db, &reach, &key.criteria, key.args).await?;
            out.insert(key.clone(), page);
        }
        Ok(out)
    }
}

/// The number of events the viewer may see matching `criteria`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventsCount(pub EventCriteria);

impl Loader<EventsCount> for Batch {
    type Value = i64;
    type Error = ApiError;

    async fn load(&self, keys: &[EventsCount]) -> ApiResult<HashMap<EventsCount, i64>> {
        let reach = self.0.reach().await?;
        let mut out = HashMap::new();
        for key in keys {
            out.insert(
                key.clone(),
                events::count(&self.0.db, &reach, &key.0).await?,
            );
        }
        Ok(out)
    }
}

/// The total of an event connection, counted only when asked for.
pub struct EventTotal(EventCriteria);

/// The total of an event connection, counted only when asked for.
#[Object]
impl EventTotal {
    /// The number of events in the whole connection that the viewer may see.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(loader(ctx)?
            .load_one(EventsCount(self.0.clone()))
            .await?
            .unwrap_or(0))
    }
}

/// A connection of events, oldest first.
pub type EventConnection = async_graphql::connection::Connection<String, Event, EventTotal>;

/// The events about one object that the viewer may see, optionally filtered further: what
/// `Person.events`, `Team.events`, `App.events` and `PaymentMethod.events` show.
pub async fn about(
    ctx: &Context<'_>,
    about: About,
    args: PageArgs,
    filter: Option<EventFilterInput>,
) -> ApiResult<EventConnection> {
    let criteria = filter::criteria(ctx, filter).await?.about(about);
    connection(ctx, args, criteria).await
}

/// The events the viewer may see, matching `criteria`.
pub async fn connection(
    ctx: &Context<'_>,
    args: PageArgs,
    criteria: EventCriteria,
) -> ApiResult<EventConnection> {
    args.expect_list(Events::NAME)?;
    let page = loader(ctx)?
        .load_one(EventsPage {
            args,
            criteria: criteria.clone(),
        })
        .await?
        .unwrap_or_default();
    let mut connection = EventConnection::with_additional_fields(
        page.has_previous,
        page.has_next,
        EventTotal(criteria),
    );
    for event in page.events {
        let cursor = crate::api::cursor::encode(Events::NAME, CursorKey::Sequence(event.sequence));
        connection.edges.push(async_graphql::connection::Edge::new(
            cursor,
            Event::stored(event),
        ));
    }
    Ok(connection)
}

/// The record of one interaction, as the viewer is shown it (`Reach::view_event`): every
/// field that names objects (`summary`, `payload`, `subjects` and the objects) goes through the
/// one per-viewer rendering, wherever the event comes from (`Query.events`, an object's
/// `events`, `node`, the live feed).
pub struct Event {
    model: Arc<event::Model>,
    /// Its subjects, when whoever made it had them at hand (the live feed); loaded otherwise.
    subjects: Option<Arc<[event_subject::Model]>>,
}

pub struct EventSubject(event_subject::Model, EventSubjectKind);

/// An object an event concerns, with its name when the event happened.
#[Object]
impl EventSubject {
    /// What kind of object it is.
    async fn kind(&self) -> EventSubjectKind {
        self.1
    }

    /// The object's global id, kept after the object is gone.
    async fn id(&self) -> ID {
        global_id(node_kind(self.1), self.0.object_id)
    }

    /// The object's name when the event happened.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The object as it is now: null once deleted, or when the viewer may not see it.
    async fn node(&self, ctx: &Context<'_>) -> ApiResult<Option<crate::api::Node>> {
        crate::api::load_node(ctx, &global_id(node_kind(self.1), self.0.object_id)).await
    }
}

impl Event {
    /// An event read from the table; its subjects are loaded when a field needs them.
    pub fn stored(model: event::Model) -> Self {
        Event {
            model: Arc::new(model),
            subjects: None,
        }
    }

    /// An event with its subjects already in memory.
    pub fn with_subjects(model: Arc<event::Model>, subjects: Arc<[event_subject::Model]>) -> Self {
        Event {
            model,
            subjects: Some(subjects),
        }
    }

    pub fn model(&self) -> &event::Model {
        &self.model
    }

    /// Every subject as stored, and the viewer's reach to render them with.
    async fn rendering(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<(Arc<Reach>, Arc<[event_subject::Model]>)> {
        match &self.subjects {
            // The live feed: the subjects are at hand, and the reach is the subscription's
            // own, already loaded (`RequestScope::reach`). Not through the dataloader, whose
            // batches outside a request wait for its delay: a millisecond an event would put a
            // busy subscriber behind the feed.
            Some(subjects) => Ok((scope(ctx)?.reach().await?, subjects.clone())),
            None => {
                let subjects = loader(ctx)?
                    .load_one(EventSubjects(self.model.id))
                    .await?
                    .unwrap_or_default()
                    .into();
                Ok((crate::api::context::reach(ctx).await?, subjects))
            }
        }
    }

    /// The subjects the viewer is shown.
    async fn subjects_of(&self, ctx: &Context<'_>) -> ApiResult<Vec<EventSubject>> {
        let (reach, subjects) = self.rendering(ctx).await?;
        Ok(reach
            .view_event(&self.model, &subjects)
            .shown
            .into_iter()
            .filter_map(|row| {
                EventSubjectKind::parse(&row.kind).map(|kind| EventSubject(row.clone(), kind))
            })
            .collect())
    }

    async fn first_of(&self, ctx: &Context<'_>, kind: EventSubjectKind) -> ApiResult<Option<Uuid>> {
        Ok(self
            .subjects_of(ctx)
            .await?
            .into_iter()
            .find(|s| s.1 == kind)
            .map(|s| s.0.object_id))
    }
}

/// The record of one interaction.
#[Object]
impl Event {
    /// The global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Event, self.model.id)
    }

    /// The event's place in the log: strictly increasing, never reused.
    async fn sequence(&self) -> i64 {
        self.model.sequence
    }

    /// The cursor of this event, for `after:` in `events` and the events subscription.
    async fn cursor(&self) -> String {
        crate::api::cursor::encode(Events::NAME, CursorKey::Sequence(self.model.sequence))
    }

    /// What happened.
    #[graphql(name = "type")]
    async fn event_type(&self) -> ApiResult<EventType> {
        EventType::parse(&self.model.event_type).ok_or_else(|| {
            ApiError::internal(format!("unknown event type {}", self.model.event_type))
        })
    }

    /// Which kind of access shows the event.
    async fn category(&self) -> EventCategory {
        self.model.category
    }

    /// When it happened.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.model.occurred_at
    }

    /// Who did it, if the viewer may still see that person; null for the system.
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        match self.model.actor_id {
            None => Ok(None),
            Some(id) => person::visible_person(ctx, id).await,
        }
    }

    /// The actor's name when it happened; null for the system.
    async fn actor_name(&self) -> Option<&str> {
        self.model.actor_name.as_deref()
    }

    /// One line for people: "Ana invited bo@example.com to team Rocket as LIMITED". An object
    /// the viewer may not see there is named by its kind ("a payment method").
    async fn summary(&self, ctx: &Context<'_>) -> ApiResult<String> {
        let (reach, subjects) = self.rendering(ctx).await?;
        Ok(reach.view_event(&self.model, &subjects).summary())
    }

    /// The change, as JSON; the name of an object the viewer may not see there is null.
    async fn payload(&self, ctx: &Context<'_>) -> ApiResult<Json<serde_json::Value>> {
        let (reach, subjects) = self.rendering(ctx).await?;
        Ok(Json(reach.view_event(&self.model, &subjects).payload()))
    }

    /// Every object the event concerns, containers included, with their names then: those the
    /// viewer may see there (a payment method only with billing access to it, an access request
    /// only for those who see access requests).
    async fn subjects(&self, ctx: &Context<'_>) -> ApiResult<Vec<EventSubject>> {
        let subjects = self.subjects_of(ctx).await?;
        // A deletion names everything it removed: nothing bounds the list ahead.
        crate::api::context::metered_list(ctx, subjects.len())?;
        Ok(subjects)
    }

    /// The team the event is about, if any; null once deleted or out of the viewer's reach.
    async fn team(&self, ctx: &Context<'_>) -> ApiResult<Option<Team>> {
        match self.first_of(ctx, EventSubjectKind::Team).await? {
            Some(id) => team::node(ctx, id).await,
            None => Ok(None),
        }
    }

    /// The app the event is about, if any; null once deleted or out of the viewer's reach.
    async fn app(&self, ctx: &Context<'_>) -> ApiResult<Option<App>> {
        match self.first_of(ctx, EventSubjectKind::App).await? {
            Some(id) => app::node(ctx, id).await,
            None => Ok(None),
        }
    }

    /// The payment method the event is about, if any; null once deleted or out of reach.
    async fn payment_method(&self, ctx: &Context<'_>) -> ApiResult<Option<PaymentMethod>> {
        match self.first_of(ctx, EventSubjectKind::PaymentMethod).await? {
            Some(id) => payment_method::node(ctx, id).await,
            None => Ok(None),
        }
    }

    /// The person the event is about, if any; null once gone or out of reach.
    async fn person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        match self.first_of(ctx, EventSubjectKind::Person).await? {
            Some(id) => person::visible_person(ctx, id).await,
            None => Ok(None),
        }
    }
}

/// An event by id, if the viewer may see it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VisibleEvent(pub Uuid);

impl Loader<VisibleEvent> for Batch {
    type Value = event::Model;
    type Error = ApiError;

    async fn load(&self, keys: &[VisibleEvent]) -> ApiResult<HashMap<VisibleEvent, event::Model>> {
        let reach = self.0.reach().await?;
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = events::visible_by_id(&self.0.db, &reach, &ids).await?;
        Ok(rows
            .into_iter()
            .map(|row| (VisibleEvent(row.id), row))
            .collect())
    }
}

/// Loads an event the viewer may see now.
pub async fn node(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Event>> {
    Ok(loader(ctx)?
        .load_one(VisibleEvent(id))
        .await?
        .map(Event::stored))
}
