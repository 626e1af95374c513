//! Which events a viewer sees, and which of them a filter keeps, as SQL (docs/security.md,
//! "Events"). Who sees an event is decided when it is read, against the viewer's reach now:
//! - the actor sees its own events, and a person sees events about itself;
//! - COLLABORATION: whoever can see a concerned object — a team it belongs to, an app it sees,
//!   a payment method it bills to;
//! - TECHNICAL: a developer connection to a concerned app, or UNLIMITED membership of one of
//!   its teams;
//! - BILLING: billing access to a concerned payment method;
//! - the events of access requests: only those who may see access requests.
//!
//! The same rules for events already in memory (the live feed) are `Reach::sees_event` and
//! `EventCriteria::matches`; the two forms sit side by side in this folder so that they change
//! together.

use entity::enums::{EventCategory, EventType};
use entity::{event, event_filter, event_subject};
use sea_orm::FromQueryResult;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::access::Reach;
use crate::store::db::Db;
use crate::store::page::{CursorKey, PageArgs};
use crate::store::sql::Sql;

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

pub fn category_value(category: EventCategory) -> &'static str {
    match category {
        EventCategory::Collaboration => "COLLABORATION",
        EventCategory::Technical => "TECHNICAL",
        EventCategory::Billing => "BILLING",
    }
}

/// The object an object's `events` list is about (`Person.events`, `Team.events`, `App.events`,
/// `PaymentMethod.events`).
#[derive(Debug, Clone, Copy)]
pub enum About {
    Person(Uuid),
    Team(Uuid),
    App(Uuid),
    PaymentMethod(Uuid),
}

impl EventCriteria {
    /// The conditions a saved filter stored.
    pub fn of_saved(saved: &event_filter::Model) -> ApiResult<Self> {
        serde_json::from_value(saved.filter.clone())
            .map_err(|err| ApiError::internal(format!("stored event filter {}: {err}", saved.id)))
    }

    /// Keeps only events about `object`, besides what the filter keeps.
    pub fn about(mut self, object: About) -> Self {
        let mut pinned = EventCriteria::default();
        match object {
            About::Person(id) => pinned.person_id = Some(id),
            About::Team(id) => pinned.team_id = Some(id),
            About::App(id) => pinned.app_id = Some(id),
            About::PaymentMethod(id) => pinned.payment_method_id = Some(id),
        }
        self.merge(pinned);
        self
    }

    /// Both filters must hold: lists are intersected, single objects must agree. When nothing
    /// can satisfy both, the result matches no event.
    pub fn merge(&mut self, other: EventCriteria) {
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
pub fn push_visibility(sql: &mut Sql, reach: &Reach) {
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
        .bind_list(super::ACCESS_REQUEST_EVENTS)
        .push(" OR EXISTS (SELECT 1 FROM event_subject r WHERE r.event_id = e.id AND ((r.kind = 'PERSON' AND r.object_id = ")
        .bind(reach.person)
        .push(") OR (r.kind = 'TEAM' AND r.object_id IN ")
        .bind_list(unlimited_teams)
        .push("))))))");
}

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
    db: &Db,
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

/// The sequence an event cursor's key points at; an id cursor is BAD_USER_INPUT.
pub fn sequence_of(key: CursorKey) -> ApiResult<i64> {
    match key {
        CursorKey::Sequence(seq) => Ok(seq),
        CursorKey::Id(_) => Err(ApiError::bad_input("that cursor is not an event cursor")),
    }
}

/// One page of the events `reach` may see that `criteria` keeps, in sequence order.
pub async fn page(
    db: &Db,
    reach: &Reach,
    criteria: &EventCriteria,
    args: PageArgs,
) -> ApiResult<EventPage> {
    let mut sql = visible_events(db.backend(), reach, criteria);
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
        .all(&db.conn)
        .await?;
    let more = events.len() as u64 > args.limit;
    events.truncate(usize::try_from(args.limit).unwrap_or(usize::MAX));
    Ok(if args.backward {
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
    })
}

/// The number of events `reach` may see that `criteria` keeps.
pub async fn count(db: &Db, reach: &Reach, criteria: &EventCriteria) -> ApiResult<i64> {
    #[derive(FromQueryResult)]
    struct Count {
        n: i64,
    }
    let mut sql = Sql::new(db.backend());
    sql.push("SELECT COUNT(*) AS n FROM event e WHERE ");
    push_visibility(&mut sql, reach);
    criteria.push_conditions(&mut sql, reach);
    Ok(Count::find_by_statement(sql.statement())
        .one(&db.conn)
        .await?
        .map_or(0, |c| c.n))
}

/// The events among `ids` that `reach` may see now.
pub async fn visible_by_id(db: &Db, reach: &Reach, ids: &[Uuid]) -> ApiResult<Vec<event::Model>> {
    let mut sql = Sql::new(db.backend());
    sql.push("SELECT e.* FROM event e WHERE e.id IN ")
        .bind_list(ids.iter().copied())
        .push(" AND ");
    push_visibility(&mut sql, reach);
    Ok(event::Model::find_by_statement(sql.statement())
        .all(&db.conn)
        .await?)
}
