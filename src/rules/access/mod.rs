//! The one place that decides who may see what (docs/rules.md, "What each person may see").
//!
//! A viewer's whole reach — teams and roles, developer connections, payment methods with
//! billing access and every app visible through any of them — is loaded once per request in
//! two statements. Every check afterwards is a hash lookup, so the number of statements a query
//! costs depends on its shape, never on how much the viewer can see.

use std::collections::{HashMap, HashSet};

use entity::enums::TeamRole;
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use uuid::Uuid;

use crate::store::keys::{EdgeFilter, Restrict};
use crate::store::sql::{EdgeFilterValues, Sql};

pub mod events;

/// How the viewer is connected to one app as a developer (docs/rules.md, "Developer connection").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeveloperConnection {
    /// The team the connection goes through; `None` for a direct connection.
    pub team: Option<Uuid>,
    /// Direct, or through a team where the viewer is UNLIMITED.
    pub full: bool,
}

/// An app the viewer can see, with what the access decisions about it need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisibleApp {
    pub payment_method: Option<Uuid>,
    /// The viewer's teams that hold this app.
    pub teams: Vec<Uuid>,
}

/// The viewer's three booleans about one app, as `App.viewerAccess` shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppAccess {
    pub developer: bool,
    pub full: bool,
    pub billing: bool,
}

/// Everything one person can reach.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    pub person: Uuid,
    pub teams: HashMap<Uuid, TeamRole>,
    pub connections: HashMap<Uuid, DeveloperConnection>,
    pub billing: HashSet<Uuid>,
    pub apps: HashMap<Uuid, VisibleApp>,
}

impl Reach {
    pub fn role_in(&self, team: Uuid) -> Option<TeamRole> {
        self.teams.get(&team).copied()
    }

    pub fn is_member(&self, team: Uuid) -> bool {
        self.teams.contains_key(&team)
    }

    pub fn is_unlimited(&self, team: Uuid) -> bool {
        self.role_in(team) == Some(TeamRole::Unlimited)
    }

    pub fn sees_app(&self, app: Uuid) -> bool {
        self.apps.contains_key(&app)
    }

    pub fn bills(&self, payment_method: Uuid) -> bool {
        self.billing.contains(&payment_method)
    }

    /// Billing access to an app: billing access to the payment method that owns it.
    pub fn bills_app(&self, app: Uuid) -> bool {
        self.apps
            .get(&app)
            .and_then(|a| a.payment_method)
            .is_some_and(|pm| self.bills(pm))
    }

    pub fn app_access(&self, app: Uuid) -> AppAccess {
        let connection = self.connections.get(&app);
        AppAccess {
            developer: connection.is_some(),
            full: connection.is_some_and(|c| c.full),
            billing: self.bills_app(app),
        }
    }

    /// Environments, developers and authorized keys of an app: a developer connection, or
    /// UNLIMITED membership of one of the app's teams.
    pub fn sees_app_internals(&self, app: Uuid) -> bool {
        self.connections.contains_key(&app)
            || self
                .apps
                .get(&app)
                .is_some_and(|a| a.teams.iter().any(|t| self.is_unlimited(*t)))
    }

    /// Whether the viewer is subscribed to `app` through `team`.
    pub fn subscribed_through(&self, app: Uuid, team: Uuid) -> bool {
        self.connections.get(&app).and_then(|c| c.team) == Some(team)
    }

    /// The apps the viewer can see, for `IN (...)` filters.
    pub fn app_ids(&self) -> Vec<Uuid> {
        self.apps.keys().copied().collect()
    }

    /// The apps whose internals (developers among them) the viewer sees, for `IN (...)`
    /// filters.
    pub fn app_ids_with_visible_internals(&self) -> Vec<Uuid> {
        self.apps
            .keys()
            .copied()
            .filter(|app| self.sees_app_internals(*app))
            .collect()
    }

    pub fn team_ids(&self) -> Vec<Uuid> {
        self.teams.keys().copied().collect()
    }

    pub fn billing_ids(&self) -> Vec<Uuid> {
        self.billing.iter().copied().collect()
    }

    /// Payment methods whose people share something with the viewer: the ones it bills to and
    /// the owners of the apps it sees (their billing people share those apps with it).
    pub fn shared_payment_methods(&self) -> Vec<Uuid> {
        let mut ids: HashSet<Uuid> = self.billing.clone();
        ids.extend(self.apps.values().filter_map(|a| a.payment_method));
        ids.into_iter().collect()
    }
}

#[derive(FromQueryResult)]
struct ReachRow {
    kind: String,
    a: Uuid,
    b: Option<Uuid>,
    role: Option<TeamRole>,
}

#[derive(FromQueryResult)]
struct AppRow {
    id: Uuid,
    payment_method_id: Option<Uuid>,
}

/// The SQL for "payment methods `person_id` bills to": directly, or as an UNLIMITED member of
/// a team connected to them. A macro so that edges can `concat!` it into their static SQL.
macro_rules! billing_paths {
    () => {
        "SELECT person_id, payment_method_id FROM payment_method_person \
         UNION SELECT tm.person_id, pt.payment_method_id FROM payment_method_team pt \
         JOIN team_member tm ON tm.team_id = pt.team_id AND tm.role = 'UNLIMITED'"
    };
}
pub(crate) use billing_paths;

impl Reach {
    /// Loads the reach of `person` in two statements.
    pub async fn load(db: &impl ConnectionTrait, person: Uuid) -> Result<Reach, DbErr> {
        let mut sql = Sql::new(db.get_database_backend());
        sql.push("SELECT 'T' AS kind, team_id AS a, NULL AS b, role FROM team_member WHERE person_id = ")
            .bind(person)
            .push(" UNION ALL SELECT 'D', app_id, team_id, NULL FROM developer_connection WHERE person_id = ")
            .bind(person)
            .push(" UNION ALL SELECT 'B', payment_method_id, NULL, NULL FROM (")
            .push(billing_paths!())
            .push(") billing WHERE person_id = ")
            .bind(person)
            .push(" UNION ALL SELECT 'A', ta.app_id, ta.team_id, NULL FROM team_app ta JOIN team_member tm ON tm.team_id = ta.team_id WHERE tm.person_id = ")
            .bind(person);
        let rows = ReachRow::find_by_statement(sql.statement()).all(db).await?;

        let mut reach = Reach {
            person,
            ..Reach::default()
        };
        let mut team_apps = Vec::new();
        for row in rows {
            match (row.kind.as_str(), row.role) {
                ("T", Some(role)) => {
                    reach.teams.insert(row.a, role);
                }
                ("D", _) => {
                    reach.connections.insert(
                        row.a,
                        DeveloperConnection {
                            team: row.b,
                            full: false,
                        },
                    );
                }
                ("B", _) => {
                    reach.billing.insert(row.a);
                }
                ("A", _) => team_apps.extend(row.b.map(|team| (team, row.a))),
                _ => {}
            }
        }
        for connection in reach.connections.values_mut() {
            connection.full = match connection.team {
                None => true,
                Some(team) => reach.teams.get(&team) == Some(&TeamRole::Unlimited),
            };
        }

        // Every visible app with its owner: connected, held by one of the teams, or billed.
        let mut sql = Sql::new(db.get_database_backend());
        sql.push("SELECT id, payment_method_id FROM app WHERE id IN ")
            .bind_list(
                reach
                    .connections
                    .keys()
                    .chain(team_apps.iter().map(|(_, app)| app))
                    .copied()
                    .collect::<HashSet<_>>(),
            )
            .push(" OR payment_method_id IN ")
            .bind_list(reach.billing.iter().copied());
        let apps =
            if reach.connections.is_empty() && team_apps.is_empty() && reach.billing.is_empty() {
                Vec::new()
            } else {
                AppRow::find_by_statement(sql.statement()).all(db).await?
            };
        for app in apps {
            reach.apps.insert(
                app.id,
                VisibleApp {
                    payment_method: app.payment_method_id,
                    teams: Vec::new(),
                },
            );
        }
        for (team, app) in team_apps {
            if let Some(visible) = reach.apps.get_mut(&app) {
                visible.teams.push(team);
            }
        }
        Ok(reach)
    }

    /// An edge's restriction resolved into the ids of the viewer's set it names, with its
    /// equality, ready to bind into the edge's statements.
    pub fn edge_filter_values(&self, edge_filter: &EdgeFilter) -> EdgeFilterValues {
        let only_ids = match edge_filter.restrict {
            Restrict::Nothing => None,
            Restrict::AppsWithVisibleDevelopers(column) => {
                Some((column, self.app_ids_with_visible_internals()))
            }
            Restrict::ViewerTeams(column) => Some((column, self.team_ids())),
            Restrict::BilledPaymentMethods(column) => Some((column, self.billing_ids())),
        };
        EdgeFilterValues {
            only_ids,
            equals: edge_filter.equals,
        }
    }

    /// Whether the viewer may see an event (docs/security.md, "Events"): its actor, the people
    /// it is about, and by category whoever sees one of the objects it concerns; the events of
    /// access requests only those who may see access requests. The same rule as the SQL of
    /// `events::push_visibility`, for events already in memory (the live feed).
    pub fn sees_event(
        &self,
        event: &entity::event::Model,
        subjects: &[entity::event_subject::Model],
    ) -> bool {
        use entity::enums::EventCategory;
        if event.actor_id == Some(self.person) {
            return true;
        }
        if ACCESS_REQUEST_EVENTS.contains(&event.event_type.as_str())
            && !self.sees_access_request_in(event, subjects)
        {
            return false;
        }
        subjects.iter().any(|s| {
            let id = s.object_id;
            match (s.kind.as_str(), event.category) {
                ("PERSON", _) => id == self.person,
                ("TEAM", EventCategory::Collaboration) => self.is_member(id),
                ("APP", EventCategory::Collaboration) => self.sees_app(id),
                ("APP", EventCategory::Technical) => {
                    self.sees_app(id) && self.sees_app_internals(id)
                }
                ("PAYMENT_METHOD", EventCategory::Collaboration | EventCategory::Billing) => {
                    self.bills(id)
                }
                _ => false,
            }
        })
    }

    /// Whether the viewer may see the access request an event concerns, as `accessRequests`
    /// shows them: its requester (the event's actor, or the person it is about) and the
    /// UNLIMITED members of its team.
    fn sees_access_request_in(
        &self,
        event: &entity::event::Model,
        subjects: &[entity::event_subject::Model],
    ) -> bool {
        event.actor_id == Some(self.person)
            || subjects.iter().any(|s| match s.kind.as_str() {
                "PERSON" => s.object_id == self.person,
                "TEAM" => self.is_unlimited(s.object_id),
                _ => false,
            })
    }

    /// Whether the viewer is shown `subject` in an event it sees (docs/security.md, "Events"):
    /// an event never says more than the fields. A payment method only with billing access
    /// to it (as `App.paymentMethod`), an access request only to those who see access requests;
    /// the event's actor is shown everything it did. Every other subject is shown: the event is
    /// visible through it or through the object that contains it, with its name at the time.
    pub fn shows_subject(
        &self,
        event: &entity::event::Model,
        subjects: &[entity::event_subject::Model],
        subject: &entity::event_subject::Model,
    ) -> bool {
        if event.actor_id == Some(self.person) {
            return true;
        }
        match subject.kind.as_str() {
            "PAYMENT_METHOD" => self.bills(subject.object_id),
            "ACCESS_REQUEST" => self.sees_access_request_in(event, subjects),
            _ => true,
        }
    }

    /// An event as this viewer is shown it: the subjects it may see, and the summary and
    /// payload with the names of the others replaced by their kind.
    pub fn view_event<'a>(
        &self,
        event: &'a entity::event::Model,
        subjects: &'a [entity::event_subject::Model],
    ) -> EventView<'a> {
        let (shown, hidden): (Vec<_>, Vec<_>) = subjects
            .iter()
            .partition(|s| self.shows_subject(event, subjects, s));
        // A name that a shown subject carries too is no secret (an access request is named
        // after its app).
        let hidden = hidden
            .into_iter()
            .filter(|h| !h.name.is_empty() && !shown.iter().any(|s| s.name == h.name))
            .collect();
        EventView {
            event,
            shown,
            hidden,
        }
    }

    /// Whether a filter on the object `kind`/`id` may match `event`: only where the viewer is
    /// shown that object (`shows_subject`), so that a filter cannot tell whether a hidden
    /// object exists or what happened to it.
    pub fn filter_sees(&self, event: &entity::event::Model, kind: &str, id: Uuid) -> bool {
        kind != "PAYMENT_METHOD" || self.bills(id) || event.actor_id == Some(self.person)
    }

    /// Whether `event` is one that may change what this viewer can reach: it names the viewer,
    /// one of its teams, apps or payment methods, or the viewer did it.
    pub fn touched_by(
        &self,
        event: &entity::event::Model,
        subjects: &[entity::event_subject::Model],
    ) -> bool {
        event.actor_id == Some(self.person)
            || subjects.iter().any(|s| {
                let id = s.object_id;
                match s.kind.as_str() {
                    "PERSON" => id == self.person,
                    "TEAM" => self.is_member(id),
                    "APP" => self.sees_app(id),
                    "PAYMENT_METHOD" => self.bills(id),
                    _ => false,
                }
            })
    }

    /// Which of `people` share a team, an app or a payment method with this viewer (and so may
    /// be seen by it, e-mail included). One statement for the whole batch.
    pub async fn visible_people(
        &self,
        db: &impl ConnectionTrait,
        people: &[Uuid],
    ) -> Result<HashSet<Uuid>, DbErr> {
        let mut visible: HashSet<Uuid> = people
            .iter()
            .copied()
            .filter(|p| *p == self.person)
            .collect();
        let others: Vec<Uuid> = people
            .iter()
            .copied()
            .filter(|p| *p != self.person)
            .collect();
        if others.is_empty() {
            return Ok(visible);
        }
        let apps = self.app_ids();
        let pms = self.shared_payment_methods();
        let mut sql = Sql::new(db.get_database_backend());
        sql.push("SELECT person_id AS id FROM team_member WHERE person_id IN ")
            .bind_list(others.iter().copied())
            .push(" AND team_id IN ")
            .bind_list(self.team_ids())
            .push(" UNION SELECT person_id FROM developer_connection WHERE person_id IN ")
            .bind_list(others.iter().copied())
            .push(" AND app_id IN ")
            .bind_list(apps.iter().copied())
            .push(" UNION SELECT tm.person_id FROM team_member tm JOIN team_app ta ON ta.team_id = tm.team_id WHERE tm.person_id IN ")
            .bind_list(others.iter().copied())
            .push(" AND ta.app_id IN ")
            .bind_list(apps.iter().copied())
            .push(" UNION SELECT person_id FROM (")
            .push(billing_paths!())
            .push(") billing WHERE person_id IN ")
            .bind_list(others.iter().copied())
            .push(" AND payment_method_id IN ")
            .bind_list(pms);
        visible.extend(
            IdRow::find_by_statement(sql.statement())
                .all(db)
                .await?
                .into_iter()
                .map(|r| r.id),
        );
        Ok(visible)
    }

    /// Which of `teams` the viewer may see: its own teams fully, and by id and name the teams
    /// that share one of its visible apps or billed payment methods.
    pub async fn visible_teams(
        &self,
        db: &impl ConnectionTrait,
        teams: &[Uuid],
    ) -> Result<HashSet<Uuid>, DbErr> {
        let mut visible: HashSet<Uuid> = teams
            .iter()
            .copied()
            .filter(|t| self.is_member(*t))
            .collect();
        let others: Vec<Uuid> = teams
            .iter()
            .copied()
            .filter(|t| !self.is_member(*t))
            .collect();
        if others.is_empty() {
            return Ok(visible);
        }
        let mut sql = Sql::new(db.get_database_backend());
        sql.push("SELECT team_id AS id FROM team_app WHERE team_id IN ")
            .bind_list(others.iter().copied())
            .push(" AND app_id IN ")
            .bind_list(self.app_ids())
            .push(" UNION SELECT team_id FROM payment_method_team WHERE team_id IN ")
            .bind_list(others.iter().copied())
            .push(" AND payment_method_id IN ")
            .bind_list(self.billing_ids());
        visible.extend(
            IdRow::find_by_statement(sql.statement())
                .all(db)
                .await?
                .into_iter()
                .map(|r| r.id),
        );
        Ok(visible)
    }
}

#[derive(FromQueryResult)]
struct IdRow {
    id: Uuid,
}

/// The event types about access requests, as stored: shown only to those who may see access
/// requests (`Reach::sees_event`, `events::push_visibility`).
pub const ACCESS_REQUEST_EVENTS: [&str; 4] = [
    "ACCESS_REQUESTED",
    "ACCESS_REQUEST_APPROVED",
    "ACCESS_REQUEST_DENIED",
    "ACCESS_REQUEST_CANCELLED",
];

/// One event as one viewer is shown it (`Reach::view_event`).
pub struct EventView<'a> {
    event: &'a entity::event::Model,
    /// The subjects shown, in their stored order.
    pub shown: Vec<&'a entity::event_subject::Model>,
    /// The subjects hidden whose names must not appear.
    hidden: Vec<&'a entity::event_subject::Model>,
}

impl EventView<'_> {
    /// The summary, each hidden subject's name replaced by its kind: "Ana created app shop on a
    /// payment method".
    pub fn summary(&self) -> String {
        let mut summary = self.event.summary.clone();
        for subject in &self.hidden {
            let noun = subject_noun(&subject.kind);
            let phrase = format!("{} {noun}", article(noun));
            summary = summary.replace(&format!("{noun} {}", subject.name), &phrase);
            summary = replace_whole(&summary, &subject.name, &phrase);
        }
        summary
    }

    /// The payload, every string that is a hidden subject's name replaced by null.
    pub fn payload(&self) -> serde_json::Value {
        let mut payload = self.event.payload.clone();
        if !self.hidden.is_empty() {
            self.blank(&mut payload);
        }
        payload
    }

    fn blank(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(text) if self.hidden.iter().any(|s| s.name == *text) => {
                *value = Value::Null;
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.blank(item)),
            Value::Object(fields) => fields.values_mut().for_each(|field| self.blank(field)),
            _ => {}
        }
    }
}

/// How summaries name an object of this kind.
fn subject_noun(kind: &str) -> &'static str {
    match kind {
        "PAYMENT_METHOD" => "payment method",
        "ACCESS_REQUEST" => "access request",
        "APP" => "app",
        "TEAM" => "team",
        "PERSON" => "person",
        "ENVIRONMENT" => "environment",
        "INVITATION" => "invitation",
        "SSH_KEY" => "SSH key",
        _ => "object",
    }
}

fn article(noun: &str) -> &'static str {
    match noun.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u' | 'S') => "an",
        _ => "a",
    }
}

/// `text` with every occurrence of `word` that stands as a word of its own (not inside a longer
/// word) replaced by `by`.
fn replace_whole(text: &str, word: &str, by: &str) -> String {
    if word.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + word.len()..].chars().next();
        let alone = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
        out.push_str(&rest[..at]);
        out.push_str(if alone(before) && alone(after) {
            by
        } else {
            word
        });
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// The viewer: UNLIMITED in team 10, LIMITED in team 11; direct on app 1, through team 11
    /// on app 2; team 10 holds app 3; bills payment method 20, which owns app 4.
    fn reach() -> Reach {
        let mut reach = Reach {
            person: id(100),
            ..Reach::default()
        };
        reach.teams.insert(id(10), TeamRole::Unlimited);
        reach.teams.insert(id(11), TeamRole::Limited);
        reach.connections.insert(
            id(1),
            DeveloperConnection {
                team: None,
                full: true,
            },
        );
        reach.connections.insert(
            id(2),
            DeveloperConnection {
                team: Some(id(11)),
                full: false,
            },
        );
        reach.billing.insert(id(20));
        reach.apps.insert(id(1), VisibleApp::default());
        reach.apps.insert(
            id(2),
            VisibleApp {
                payment_method: Some(id(21)),
                teams: vec![id(11)],
            },
        );
        reach.apps.insert(
            id(3),
            VisibleApp {
                payment_method: None,
                teams: vec![id(10)],
            },
        );
        reach.apps.insert(
            id(4),
            VisibleApp {
                payment_method: Some(id(20)),
                teams: vec![],
            },
        );
        reach
    }

    #[test]
    fn a_direct_connection_is_full_a_limited_one_technical_only() {
        let r = reach();
        assert_eq!(
            r.app_access(id(1)),
            AppAccess {
                developer: true,
                full: true,
                billing: false
            }
        );
        assert_eq!(
            r.app_access(id(2)),
            AppAccess {
                developer: true,
                full: false,
                billing: false
            }
        );
    }

    #[test]
    fn billing_access_does_not_grant_internals() {
        let r = reach();
        assert_eq!(
            r.app_access(id(4)),
            AppAccess {
                developer: false,
                full: false,
                billing: true
            }
        );
        assert!(r.sees_app(id(4)));
        assert!(!r.sees_app_internals(id(4)));
    }

    #[test]
    fn unlimited_members_see_internals_of_team_apps_without_a_connection() {
        let r = reach();
        assert!(r.sees_app_internals(id(3)));
        assert!(!r.app_access(id(3)).developer);
    }

    #[test]
    fn limited_members_see_team_apps_but_not_their_internals() {
        let mut r = reach();
        r.apps.insert(
            id(5),
            VisibleApp {
                payment_method: None,
                teams: vec![id(11)],
            },
        );
        assert!(r.sees_app(id(5)));
        assert!(!r.sees_app_internals(id(5)));
    }

    #[test]
    fn outsiders_see_nothing() {
        let r = reach();
        assert!(!r.sees_app(id(99)));
        assert!(!r.bills(id(21)));
        assert!(
            !r.bills_app(id(2)),
            "billing of someone else's payment method"
        );
        assert_eq!(r.app_access(id(99)), AppAccess::default());
        assert_eq!(r.role_in(id(12)), None);
    }

    #[test]
    fn subscriptions_name_their_team() {
        let r = reach();
        assert!(r.subscribed_through(id(2), id(11)));
        assert!(!r.subscribed_through(id(2), id(10)));
        assert!(!r.subscribed_through(id(1), id(11)));
    }

    fn event(actor: u128, event_type: &str, summary: &str) -> entity::event::Model {
        entity::event::Model {
            id: id(500),
            sequence: 1,
            event_type: event_type.to_owned(),
            category: entity::enums::EventCategory::Collaboration,
            occurred_at: chrono::Utc::now(),
            actor_id: Some(id(actor)),
            actor_name: Some("Someone".to_owned()),
            summary: summary.to_owned(),
            payload: serde_json::json!({ "app": "shop", "to": "Visa", "all": ["Visa", "x"] }),
        }
    }

    fn subject(kind: &str, object: u128, name: &str) -> entity::event_subject::Model {
        entity::event_subject::Model {
            event_id: id(500),
            sequence: 1,
            kind: kind.to_owned(),
            object_id: id(object),
            name: name.to_owned(),
            category: entity::enums::EventCategory::Collaboration,
            event_type: "APP_UPDATED".to_owned(),
        }
    }

    /// docs/security.md, "Events": a payment method the viewer does not bill is dropped from
    /// the subjects, named by its kind in the summary and null in the payload.
    #[test]
    fn a_payment_method_without_billing_access_is_hidden_in_events() {
        let r = reach();
        let e = event(
            999,
            "APP_CREATED",
            "Someone created app shop in team T on payment method Visa",
        );
        let subjects = [
            subject("APP", 3, "shop"),
            subject("TEAM", 10, "T"),
            subject("PAYMENT_METHOD", 21, "Visa"),
        ];
        assert!(r.sees_event(&e, &subjects));
        let view = r.view_event(&e, &subjects);
        let kinds: Vec<&str> = view.shown.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(kinds, ["APP", "TEAM"]);
        assert_eq!(
            view.summary(),
            "Someone created app shop in team T on a payment method"
        );
        assert_eq!(
            view.payload(),
            serde_json::json!({ "app": "shop", "to": null, "all": [null, "x"] })
        );
        // Billed, it is shown; and the actor is shown everything it did.
        let billed = [subject("PAYMENT_METHOD", 20, "Visa")];
        assert_eq!(r.view_event(&e, &billed).shown.len(), 1);
        let own = event(
            100,
            "APP_CREATED",
            "I created app shop on payment method Visa",
        );
        assert_eq!(r.view_event(&own, &subjects).shown.len(), 3);
        // Filters match a hidden payment method only in the viewer's own events.
        assert!(!r.filter_sees(&e, "PAYMENT_METHOD", id(21)));
        assert!(r.filter_sees(&e, "PAYMENT_METHOD", id(20)));
        assert!(r.filter_sees(&own, "PAYMENT_METHOD", id(21)));
        assert!(r.filter_sees(&e, "TEAM", id(12)));
    }

    /// docs/security.md, "Events": access requests' events only for their requester and the
    /// UNLIMITED members of their team.
    #[test]
    fn access_request_events_are_for_those_who_see_access_requests() {
        let r = reach();
        let subjects = |team: u128, person: u128| {
            [
                subject("ACCESS_REQUEST", 77, "api"),
                subject("APP", 2, "api"),
                subject("TEAM", team, "T"),
                subject("PERSON", person, "Requester"),
            ]
        };
        let asked = event(
            300,
            "ACCESS_REQUESTED",
            "Requester asked for access to api in team T",
        );
        // LIMITED in team 11: not shown, though the team is the viewer's.
        assert!(!r.sees_event(&asked, &subjects(11, 300)));
        // UNLIMITED in team 10: shown, access request included.
        assert!(r.sees_event(&asked, &subjects(10, 300)));
        assert_eq!(r.view_event(&asked, &subjects(10, 300)).shown.len(), 4);
        // The requester: its own request, and the answer about it.
        assert!(r.sees_event(&event(100, "ACCESS_REQUESTED", ""), &subjects(11, 100)));
        assert!(r.sees_event(&event(300, "ACCESS_REQUEST_DENIED", ""), &subjects(11, 100)));
        // Other collaboration events of that team stay visible to LIMITED members.
        assert!(r.sees_event(&event(300, "MEMBER_JOINED", ""), &subjects(11, 300)[2..]));
    }

    #[test]
    fn names_are_replaced_only_where_they_stand_alone() {
        assert_eq!(
            replace_whole("Visa and Visage", "Visa", "X"),
            "X and Visage"
        );
        assert_eq!(replace_whole("(Visa)", "Visa", "X"), "(X)");
        assert_eq!(replace_whole("nothing", "", "X"), "nothing");
    }

    #[test]
    fn shared_payment_methods_include_owners_of_visible_apps() {
        let shared: HashSet<Uuid> = reach().shared_payment_methods().into_iter().collect();
        assert_eq!(shared, HashSet::from([id(20), id(21)]));
    }

    /// The SQL of event reads finds an access request's event through its team only when the
    /// filter keeps COLLABORATION (`events::push_visibility_of_candidates`): they must be so.
    #[test]
    fn access_request_events_are_collaboration() {
        use entity::enums::{EventCategory, EventType};
        use sea_orm::Iterable;
        let of_requests: Vec<EventType> = EventType::iter()
            .filter(|t| ACCESS_REQUEST_EVENTS.contains(&t.as_str().as_str()))
            .collect();
        assert_eq!(of_requests.len(), ACCESS_REQUEST_EVENTS.len());
        for event_type in of_requests {
            assert_eq!(event_type.category(), EventCategory::Collaboration);
        }
    }
}
