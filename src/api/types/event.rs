//! The event log as people read it: every interaction, with the objects it concerns and their
//! names at that moment. Who sees an event is decided when it is read (docs/security.md, "Events"):
//! - the actor sees its own events, and a person sees events about itself;
//! - COLLABORATION: whoever can see a concerned object — a team it belongs to, an app it sees,
//!   a payment method it bills to;
//! - TECHNICAL: a developer connection to a concerned app, or UNLIMITED membership of one of
//!   its teams;
//! - BILLING: billing access to a concerned payment method.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::enums::{EventCategory, EventSubjectKind, EventType};
use entity::{event, event_filter, event_subject};
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::context::{Batch, load_by_id, loader, scope};
use crate::api::relay::{NodeKind, expect_global_id, global_id};
use crate::api::types::app::{self, App};
use crate::api::types::payment_method::{self, PaymentMethod};
use crate::api::types::person::{self, Person};
use crate::api::types::team::{self, Team};
use crate::error::{ApiError, ApiResult};
use crate::rules::access::Reach;
use crate::store::page::{CursorKey, PageArgs};
use crate::store::sql::Sql;

load_by_id!(EventFilterId, event_filter);

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

/// A filter with ids decoded and a saved filter merged in: what the SQL needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventCriteria {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<EventType>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_id: Option<Uuid>,
    /// Only events about this person (set by `Person.events`, not by filters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_id: Option<Uuid>,
    /// Set when merged conditions contradict each other.
    #[serde(skip)]
    pub matches_nothing: bool,
}

fn category_value(category: EventCategory) -> &'static str {
    match category {
        EventCategory::Collaboration => "COLLABORATION",
        EventCategory::Technical => "TECHNICAL",
        EventCategory::Billing => "BILLING",
    }
}

impl EventCriteria {
    /// Decodes an input; an id of another kind or a saved filter that is not the viewer's is
    /// NOT_FOUND.
    pub async fn from_input(ctx: &Context<'_>, input: Option<EventFilterInput>) -> ApiResult<Self> {
        let Some(input) = input else {
            return Ok(EventCriteria::default());
        };
        let mut criteria = EventCriteria {
            types: input.types.unwrap_or_default(),
            categories: input
                .categories
                .unwrap_or_default()
                .into_iter()
                .map(|c| category_value(c).to_owned())
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
            criteria.merge(saved.criteria()?);
        }
        Ok(criteria)
    }

    /// Both filters must hold: lists are intersected, single objects must agree. When nothing
    /// can satisfy both, the result matches no event.
    fn merge(&mut self, other: EventCriteria) {
        fn intersect<T: PartialEq>(mine: &mut Vec<T>, theirs: Vec<T>) -> bool {
            match (mine.is_empty(), theirs.is_empty()) {
                (_, true) => true,
                (true, false) => {
                    *mine = theirs;
                    true
                }
                (false, false) => {
                    mine.retain(|t| theirs.contains(t));
                    !mine.is_empty()
                }
            }
        }
        fn agree(mine: &mut Option<Uuid>, theirs: Option<Uuid>) -> bool {
            match (*mine, theirs) {
                (Some(a), Some(b)) => a == b,
                (None, b) => {
                    *mine = b;
                    true
                }
                (Some(_), None) => true,
            }
        }
        let satisfiable = intersect(&mut self.types, other.types)
            & intersect(&mut self.categories, other.categories)
            & agree(&mut self.team_id, other.team_id)
            & agree(&mut self.app_id, other.app_id)
            & agree(&mut self.payment_method_id, other.payment_method_id)
            & agree(&mut self.person_id, other.person_id);
        self.matches_nothing |= other.matches_nothing || !satisfiable;
    }

    /// Whether an event in memory matches, as `push_conditions` decides in SQL. An object is
    /// matched only where `reach` is shown it (`Reach::filter_sees`).
    pub fn matches(
        &self,
        event: &event::Model,
        subjects: &[event_subject::Model],
        reach: &Reach,
    ) -> bool {
        let about = |kind: &str, id: Option<Uuid>| {
            id.is_none_or(|id| {
                reach.filter_sees(event, kind, id)
                    && subjects.iter().any(|s| s.kind == kind && s.object_id == id)
            })
        };
        !self.matches_nothing
            && (self.types.is_empty() || self.types.iter().any(|t| t.as_str() == event.event_type))
            && (self.categories.is_empty()
                || self
                    .categories
                    .iter()
                    .any(|c| c == category_value(event.category)))
            && about("TEAM", self.team_id)
            && about("APP", self.app_id)
            && about("PAYMENT_METHOD", self.payment_method_id)
            && about("PERSON", self.person_id)
    }

    /// The filter's conditions, for events `reach` sees: an object is matched only where the
    /// viewer is shown it (`Reach::filter_sees`; a payment method without billing access, only in
    /// the viewer's own events).
    fn push_conditions(&self, sql: &mut Sql, reach: &Reach) {
        if self.matches_nothing {
            sql.push(" AND 1 = 0");
        }
        if !self.types.is_empty() {
            sql.push(" AND e.event_type IN ")
                .bind_list(self.types.iter().map(|t| t.as_str()));
        }
        if !self.categories.is_empty() {
            sql.push(" AND e.category IN ")
                .bind_list(self.categories.iter().cloned());
        }
        for (kind, id) in [
            ("TEAM", self.team_id),
            ("APP", self.app_id),
            ("PAYMENT_METHOD", self.payment_method_id),
            ("PERSON", self.person_id),
        ] {
            if let Some(id) = id {
                sql.push(" AND EXISTS (SELECT 1 FROM event_subject f WHERE f.event_id = e.id AND f.kind = ")
                    .bind(kind)
                    .push(" AND f.object_id = ")
                    .bind(id)
                    .push(")");
                if kind == "PAYMENT_METHOD" && !reach.bills(id) {
                    sql.push(" AND e.actor_id = ").bind(reach.person);
                }
            }
        }
    }
}

/// `WHERE` conditions for "events this viewer may see", evaluated against the reach now.
fn push_visibility(sql: &mut Sql, reach: &Reach) {
    let unlimited_teams: Vec<Uuid> = reach
        .teams
        .keys()
        .copied()
        .filter(|t| reach.is_unlimited(*t))
        .collect();
    sql.push("(e.actor_id = ")
        .bind(reach.person)
        .push(" OR (EXISTS (SELECT 1 FROM event_subject s WHERE s.event_id = e.id AND (")
        .push("(s.kind = 'PERSON' AND s.object_id = ")
        .bind(reach.person)
        .push(") OR (e.category = 'COLLABORATION' AND ((s.kind = 'TEAM' AND s.object_id IN ")
        .bind_list(reach.team_ids())
        .push(") OR (s.kind = 'APP' AND s.object_id IN ")
        .bind_list(reach.app_ids())
        .push(") OR (s.kind = 'PAYMENT_METHOD' AND s.object_id IN ")
        .bind_list(reach.billing_ids())
        .push("))) OR (e.category = 'TECHNICAL' AND s.kind = 'APP' AND s.object_id IN ")
        .bind_list(reach.app_ids_with_visible_internals())
        .push(") OR (e.category = 'BILLING' AND s.kind = 'PAYMENT_METHOD' AND s.object_id IN ")
        .bind_list(reach.billing_ids())
        .push(")))")
        // Access requests' events: only for those who see access requests (the actor is
        // above; the requester is the person they are about; UNLIMITED members of the team).
        .push(" AND (e.event_type NOT IN ")
        .bind_list(crate::rules::access::ACCESS_REQUEST_EVENTS)
        .push(" OR EXISTS (SELECT 1 FROM event_subject r WHERE r.event_id = e.id AND ((r.kind = 'PERSON' AND r.object_id = ")
        .bind(reach.person)
        .push(") OR (r.kind = 'TEAM' AND r.object_id IN ")
        .bind_list(unlimited_teams)
        .push("))))))");
}

/// One page of the events the viewer may see, matching `criteria`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventsPage {
    pub args: PageArgs,
    pub criteria: EventCriteria,
}

/// The number of events the viewer may see matching `criteria`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventsCount(pub EventCriteria);

/// A page of events, oldest first.
#[derive(Clone, Default)]
pub struct EventPage {
    pub events: Vec<event::Model>,
    pub has_next: bool,
    pub has_previous: bool,
}

/// `SELECT` of the events `reach` may see that match `criteria`, for callers to add their
/// bounds and order to.
fn visible_events(backend: sea_orm::DbBackend, reach: &Reach, criteria: &EventCriteria) -> Sql {
    let mut sql = Sql::new(backend);
    sql.push("SELECT e.* FROM event e WHERE ");
    push_visibility(&mut sql, reach);
    criteria.push_conditions(&mut sql, reach);
    sql
}

/// Up to `limit` events after sequence `after` that `reach` may see and `criteria` matches,
/// oldest first: what a subscription replays before it goes live.
pub async fn visible_after(
    db: &crate::store::db::Db,
    reach: &Reach,
    criteria: &EventCriteria,
    after: i64,
    limit: u64,
) -> ApiResult<Vec<event::Model>> {
    let mut sql = visible_events(db.backend(), reach, criteria);
    sql.push(" AND e.sequence > ")
        .bind(after)
        .push(" ORDER BY e.sequence ASC LIMIT ")
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
    Ok(event::Model::find_by_statement(sql.statement())
        .all(&db.conn)
        .await?)
}

/// The sequence an event cursor points at.
pub fn cursor_sequence(cursor: &str) -> ApiResult<i64> {
    sequence_of(crate::api::relay::cursor_in(
        crate::api::relay::EVENTS,
        cursor,
    )?)
}

fn sequence_of(key: CursorKey) -> ApiResult<i64> {
    match key {
        CursorKey::Sequence(seq) => Ok(seq),
        CursorKey::Id(_) => Err(ApiError::bad_input("that cursor is not an event cursor")),
    }
}

impl Loader<EventsPage> for Batch {
    type Value = EventPage;
    type Error = ApiError;

    async fn load(&self, keys: &[EventsPage]) -> ApiResult<HashMap<EventsPage, EventPage>> {
        let reach = self.0.reach().await?;
        let mut out = HashMap::new();
        for key in keys {
            let args = key.args;
            let mut sql = visible_events(self.0.db.backend(), &reach, &key.criteria);
            if let Some(after) = args.after {
                sql.push(" AND e.sequence > ").bind(sequence_of(after)?);
            }
            if let Some(before) = args.before {
                sql.push(" AND e.sequence < ").bind(sequence_of(before)?);
            }
            sql.push(if args.backward {
                " ORDER BY e.sequence DESC LIMIT "
            } else {
                " ORDER BY e.sequence ASC LIMIT "
            })
            .bind(i64::try_from(args.limit + 1).unwrap_or(i64::MAX));
            let mut events = event::Model::find_by_statement(sql.statement())
                .all(&self.0.db.conn)
                .await?;
            let more = events.len() as u64 > args.limit;
            events.truncate(args.limit as usize);
            let page = if args.backward {
                events.reverse();
                EventPage {
                    events,
                    has_previous: more,
                    has_next: args.before.is_some(),
                }
            } else {
                EventPage {
                    events,
                    has_next: more,
                    has_previous: args.after.is_some(),
                }
            };
            out.insert(key.clone(), page);
        }
        Ok(out)
    }
}

impl Loader<EventsCount> for Batch {
    type Value = i64;
    type Error = ApiError;

    async fn load(&self, keys: &[EventsCount]) -> ApiResult<HashMap<EventsCount, i64>> {
        #[derive(FromQueryResult)]
        struct Count {
            n: i64,
        }
        let reach = self.0.reach().await?;
        let mut out = HashMap::new();
        for key in keys {
            let mut sql = Sql::new(self.0.db.backend());
            sql.push("SELECT COUNT(*) AS n FROM event e WHERE ");
            push_visibility(&mut sql, &reach);
            key.0.push_conditions(&mut sql, &reach);
            let count = Count::find_by_statement(sql.statement())
                .one(&self.0.db.conn)
                .await?
                .map_or(0, |c| c.n);
            out.insert(key.clone(), count);
        }
        Ok(out)
    }
}

/// The subjects of a batch of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventSubjects(pub Uuid);

impl Loader<EventSubjects> for Batch {
    type Value = Vec<event_subject::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[EventSubjects]) -> ApiResult<HashMap<EventSubjects, Self::Value>> {
        let mut subjects =
            crate::store::event_log::subjects_of(&self.0.db.conn, keys.iter().map(|k| k.0)).await?;
        Ok(keys
            .iter()
            .map(|key| (*key, subjects.remove(&key.0).unwrap_or_default()))
            .collect())
    }
}

/// The saved filters of a batch of people, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PersonEventFilters(pub Uuid);

impl Loader<PersonEventFilters> for Batch {
    type Value = Vec<event_filter::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[PersonEventFilters],
    ) -> ApiResult<HashMap<PersonEventFilters, Self::Value>> {
        let rows = event_filter::Entity::find()
            .filter(event_filter::Column::PersonId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(event_filter::Column::Id)
            .all(&self.0.db.conn)
            .await?;
        let mut out: HashMap<PersonEventFilters, Self::Value> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            out.entry(PersonEventFilters(row.person_id))
                .or_default()
                .push(row);
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

/// The object an object's `events` connection is about.
pub enum About {
    Person(Uuid),
    Team(Uuid),
    App(Uuid),
    PaymentMethod(Uuid),
}

/// The events about one object that the viewer may see, optionally filtered further: what
/// `Person.events`, `Team.events`, `App.events` and `PaymentMethod.events` show.
pub async fn about(
    ctx: &Context<'_>,
    about: About,
    args: PageArgs,
    filter: Option<EventFilterInput>,
) -> ApiResult<EventConnection> {
    let mut criteria = EventCriteria::from_input(ctx, filter).await?;
    let mut pinned = EventCriteria::default();
    match about {
        About::Person(id) => pinned.person_id = Some(id),
        About::Team(id) => pinned.team_id = Some(id),
        About::App(id) => pinned.app_id = Some(id),
        About::PaymentMethod(id) => pinned.payment_method_id = Some(id),
    }
    criteria.merge(pinned);
    connection(ctx, args, criteria).await
}

/// The events the viewer may see, matching `criteria`.
pub async fn connection(
    ctx: &Context<'_>,
    args: PageArgs,
    criteria: EventCriteria,
) -> ApiResult<EventConnection> {
    args.expect_list(crate::api::relay::EVENTS)?;
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
        let cursor = crate::api::relay::encode_cursor(
            crate::api::relay::EVENTS,
            CursorKey::Sequence(event.sequence),
        );
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
        crate::api::relay::encode_cursor(
            crate::api::relay::EVENTS,
            CursorKey::Sequence(self.model.sequence),
        )
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
        let mut sql = Sql::new(self.0.db.backend());
        sql.push("SELECT e.* FROM event e WHERE e.id IN ")
            .bind_list(keys.iter().map(|k| k.0))
            .push(" AND ");
        push_visibility(&mut sql, &reach);
        let rows = event::Model::find_by_statement(sql.statement())
            .all(&self.0.db.conn)
            .await?;
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

/// A filter saved by its owner.
pub struct EventFilter(pub event_filter::Model);

impl EventFilter {
    pub fn criteria(&self) -> ApiResult<EventCriteria> {
        serde_json::from_value(self.0.filter.clone())
            .map_err(|err| ApiError::internal(format!("stored event filter {}: {err}", self.0.id)))
    }
}

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
        let c = self.criteria()?;
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
