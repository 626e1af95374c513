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

    /// Whether an event in memory matches, as `push_kind_conditions` and
    /// `push_object_conditions` decide in SQL. An object is matched only where `reach` is shown
    /// it (`Reach::filter_sees`).
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

    /// The objects the filter keeps events about, by subject kind.
    fn pinned_objects(&self) -> impl Iterator<Item = (&'static str, Uuid)> {
        [
            ("TEAM", self.team_id),
            ("APP", self.app_id),
            ("PAYMENT_METHOD", self.payment_method_id),
            ("PERSON", self.person_id),
        ]
        .into_iter()
        .filter_map(|(kind, id)| id.map(|id| (kind, id)))
    }

    /// The filter's conditions on an event's own type and category, on the columns of `table`
    /// (an event, or a subject of it, which carries them too).
    fn push_kind_conditions(&self, sql: &mut Sql, table: &str) {
        if !self.types.is_empty() {
            sql.push(" AND ")
                .push(table)
                .push(".event_type IN ")
                .bind_list(self.types.iter().map(|t| t.as_str()));
        }
        if !self.categories.is_empty() {
            sql.push(" AND ")
                .push(table)
                .push(".category IN ")
                .bind_list(self.categories.iter().cloned());
        }
    }

    /// The filter's conditions on the objects an event `e` is about, for events `reach` sees:
    /// an object is matched only where the viewer is shown it (`Reach::filter_sees`; a payment
    /// method without billing access, only in the viewer's own events).
    fn push_object_conditions(&self, sql: &mut Sql, reach: &Reach) {
        for (kind, id) in self.pinned_objects() {
            sql.push(
                " AND EXISTS (SELECT 1 FROM event_subject f WHERE f.event_id = e.id AND f.kind = ",
            )
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

/// `WHERE` conditions for "events this viewer may see", evaluated against the reach now.
pub fn push_visibility(sql: &mut Sql, reach: &Reach) {
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
        .push(")))");
    push_access_request_rule(sql, reach);
    sql.push("))");
}

/// ` AND` the rule of access requests' events: only for those who see access requests (the
/// actor is decided before it; the requester is the person they are about; UNLIMITED members of
/// the team).
fn push_access_request_rule(sql: &mut Sql, reach: &Reach) {
    let unlimited_teams: Vec<Uuid> = reach
        .teams
        .keys()
        .copied()
        .filter(|t| reach.is_unlimited(*t))
        .collect();
    sql.push(" AND (e.event_type NOT IN ")
        .bind_list(super::ACCESS_REQUEST_EVENTS)
        .push(" OR EXISTS (SELECT 1 FROM event_subject r WHERE r.event_id = e.id AND ((r.kind = 'PERSON' AND r.object_id = ")
        .bind(reach.person)
        .push(") OR (r.kind = 'TEAM' AND r.object_id IN ")
        .bind_list(unlimited_teams)
        .push("))))");
}

/// The same rule as `push_visibility`, decided from the candidates alone (`push_candidates`):
/// each says through what it was found — the viewer acted, the event is about the viewer, or
/// about a team, app or payment method it reaches, an app whose internals it sees, a payment
/// method it bills, a team it is an UNLIMITED member of — which is what the rule asks of the
/// event's subjects, and carries the event's category and type; so neither the event's subjects
/// nor its row is read. The events of access requests are COLLABORATION (a test holds it), so
/// their teams are among the candidates whenever the filter can keep them.
fn push_visibility_of_candidates(sql: &mut Sql) {
    sql.push(
        "(k.actor = 1 OR ((k.person = 1 OR (k.category = 'COLLABORATION' AND k.collab = 1) \
         OR (k.category = 'TECHNICAL' AND k.tech = 1) \
         OR (k.category = 'BILLING' AND k.billing = 1)) AND (k.event_type NOT IN ",
    )
    .bind_list(super::ACCESS_REQUEST_EVENTS)
    .push(" OR k.person = 1 OR k.unlimited = 1)))");
}

/// A page of events, oldest first.
#[derive(Clone, Default)]
pub struct EventPage {
    pub events: Vec<event::Model>,
    pub has_next: bool,
    pub has_previous: bool,
}

/// Positions in the log a read is bounded by (exclusive), pushed down to the index scans.
#[derive(Debug, Clone, Copy, Default)]
struct Bounds {
    after: Option<i64>,
    before: Option<i64>,
}

impl Bounds {
    fn push(&self, sql: &mut Sql, column: &str) {
        if let Some(after) = self.after {
            sql.push(" AND ").push(column).push(" > ").bind(after);
        }
        if let Some(before) = self.before {
            sql.push(" AND ").push(column).push(" < ").bind(before);
        }
    }
}

/// The events a read has to look at, one row per event, found through the indexes rather than
/// by testing every event: those the viewer did (`event (actor_id, sequence, category,
/// event_type)`) and those about the viewer or an object it reaches (`event_subject (kind,
/// object_id, sequence, category, event_type)`). A superset of what it sees, as large as its
/// share of the log (never the whole log), which `push_visibility_of_candidates` narrows.
/// Every part is an index-only scan: both indexes hold what the rule and the filter's types and
/// categories ask of an event. Columns: seq, category, event_type, and 0/1 flags saying
/// through what the event was found: actor, person, collab, tech, billing, unlimited.
fn push_candidates(sql: &mut Sql, reach: &Reach, criteria: &EventCriteria, bounds: Bounds) {
    let about = |sql: &mut Sql, kind: &str, through: &str| {
        sql.push("SELECT c.sequence AS seq, c.category AS category, c.event_type AS event_type, ")
            .push(through)
            .push(" FROM event_subject c WHERE c.kind = ")
            .bind(kind)
            .push(" AND c.object_id");
    };
    sql.push(
        "SELECT k.seq, MAX(k.category) AS category, MAX(k.event_type) AS event_type, \
         MAX(k.actor) AS actor, MAX(k.person) AS person, MAX(k.collab) AS collab, \
         MAX(k.tech) AS tech, MAX(k.billing) AS billing, MAX(k.unlimited) AS unlimited FROM (",
    );
    sql.push(
        "SELECT a.sequence AS seq, a.category AS category, a.event_type AS event_type, \
         1 AS actor, 0 AS person, 0 AS collab, 0 AS tech, 0 AS billing, 0 AS unlimited \
         FROM event a WHERE a.actor_id = ",
    )
    .bind(reach.person);
    criteria.push_kind_conditions(sql, "a");
    bounds.push(sql, "a.sequence");
    sql.push(" UNION ALL ");
    about(sql, "PERSON", "0, 1, 0, 0, 0, 0");
    sql.push(" = ").bind(reach.person);
    criteria.push_kind_conditions(sql, "c");
    bounds.push(sql, "c.sequence");
    // Through an object, only some categories show (docs/security.md, "Events"): through a
    // team, COLLABORATION; through an app, COLLABORATION, and TECHNICAL where the viewer sees
    // its internals; through a payment method it bills, COLLABORATION and BILLING. A filter on
    // categories leaves out the objects that cannot show what it keeps.
    let shown = |category: &str| {
        criteria.categories.is_empty() || criteria.categories.iter().any(|c| c == category)
    };
    let collaboration = shown("COLLABORATION");
    let (internal, external): (Vec<Uuid>, Vec<Uuid>) = reach
        .app_ids()
        .into_iter()
        .partition(|app| reach.sees_app_internals(*app));
    let (unlimited, limited): (Vec<Uuid>, Vec<Uuid>) = reach
        .team_ids()
        .into_iter()
        .partition(|team| reach.is_unlimited(*team));
    let mut parts = Vec::new();
    if collaboration {
        parts.push(("TEAM", "0, 0, 1, 0, 0, 1", unlimited));
        parts.push(("TEAM", "0, 0, 1, 0, 0, 0", limited));
        parts.push(("APP", "0, 0, 1, 0, 0, 0", external));
    }
    if collaboration || shown("TECHNICAL") {
        parts.push(("APP", "0, 0, 1, 1, 0, 0", internal));
    }
    if collaboration || shown("BILLING") {
        parts.push(("PAYMENT_METHOD", "0, 0, 1, 0, 1, 0", reach.billing_ids()));
    }
    for (kind, through, ids) in parts {
        if ids.is_empty() {
            continue;
        }
        sql.push(" UNION ALL ");
        about(sql, kind, through);
        sql.push(" IN ").bind_list(ids);
        criteria.push_kind_conditions(sql, "c");
        bounds.push(sql, "c.sequence");
    }
    sql.push(") k GROUP BY k.seq");
}

/// The order a read returns events in: by sequence, up or down, with at most `limit` of them;
/// or none, for a count.
#[derive(Debug, Clone, Copy)]
enum Order {
    Count,
    Ascending(u64),
    Descending(u64),
}

impl Order {
    /// ` ORDER BY column …` and, for a page, its ` LIMIT`.
    fn push(self, sql: &mut Sql, column: &str, with_limit: bool) {
        let (direction, limit) = match self {
            Order::Count => return,
            Order::Ascending(limit) => (" ASC", limit),
            Order::Descending(limit) => (" DESC", limit),
        };
        sql.push(" ORDER BY ").push(column).push(direction);
        if with_limit {
            sql.push(" LIMIT ")
                .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        }
    }
}

/// The events `reach` may see that match `criteria` within `bounds`, as `select` (over the
/// event `e`, or `COUNT(*)`) and in `order`. Its cost follows the viewer's share of the log, or
/// the pinned object's history, never the log's size.
fn visible_events(
    sql: &mut Sql,
    select: &str,
    reach: &Reach,
    criteria: &EventCriteria,
    bounds: Bounds,
    order: Order,
) {
    sql.push("SELECT ").push(select).push(" FROM (");
    if let Some((kind, id)) = criteria.pinned_objects().next() {
        // An object's history, from its index entries; those say nothing of the viewer, so the
        // whole rule decides on each event. Sorted before the join, a page stops at its last
        // row instead of reading every entry.
        sql.push("SELECT c.sequence AS seq FROM event_subject c WHERE c.kind = ")
            .bind(kind)
            .push(" AND c.object_id = ")
            .bind(id);
        criteria.push_kind_conditions(sql, "c");
        bounds.push(sql, "c.sequence");
        order.push(sql, "c.sequence", false);
        sql.push(") k JOIN event e ON e.sequence = k.seq WHERE ");
        push_visibility(sql, reach);
        criteria.push_object_conditions(sql, reach);
        if criteria.matches_nothing {
            sql.push(" AND 1 = 0");
        }
        order.push(sql, "e.sequence", true);
        return;
    }
    // Decided on the candidates alone: a page reads the rows of its own events only, a count
    // no event row at all.
    let count = matches!(order, Order::Count);
    if !count {
        sql.push("SELECT k.seq FROM (");
    }
    push_candidates(sql, reach, criteria, bounds);
    sql.push(") k WHERE ");
    push_visibility_of_candidates(sql);
    if criteria.matches_nothing {
        sql.push(" AND 1 = 0");
    }
    if !count {
        order.push(sql, "k.seq", true);
        sql.push(") k JOIN event e ON e.sequence = k.seq");
        order.push(sql, "e.sequence", false);
    }
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
    let mut sql = Sql::new(db.backend());
    let bounds = Bounds {
        after: Some(after),
        before: None,
    };
    visible_events(
        &mut sql,
        "e.*",
        reach,
        criteria,
        bounds,
        Order::Ascending(limit),
    );
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
    let bounds = Bounds {
        after: args.after.map(sequence_of).transpose()?,
        before: args.before.map(sequence_of).transpose()?,
    };
    let mut sql = Sql::new(db.backend());
    let order = if args.backward {
        Order::Descending(args.limit + 1)
    } else {
        Order::Ascending(args.limit + 1)
    };
    visible_events(&mut sql, "e.*", reach, criteria, bounds, order);
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
    visible_events(
        &mut sql,
        "COUNT(*) AS n",
        reach,
        criteria,
        Bounds::default(),
        Order::Count,
    );
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
