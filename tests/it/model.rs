//! Model-based test of the collaboration rules (docs/rules.md).
//!
//! A small reference model of the rules, written plainly below, and the running service are
//! driven through the same random sequences of operations: teams, roles, apps, environments,
//! developer connections, grants, technical contacts, billing, cascading deletions,
//! invitations of all four kinds with their whole lifecycle (the inviter's right checked again
//! at acceptance), access requests, account types and account cancellation. After every step
//! the outcome of each GraphQL mutation (success or its `extensions.code`) must be what the
//! model predicts, and what each of four people (three developers and a client) can see —
//! their teams, connections, payment methods and pending invitations, and every object of the
//! sequence through `nodes(ids:)` with its gated fields — must equal what the model says.
//!
//! Every sequence gets four new people in the same database, so sequences never share objects
//! and one migrated database serves the whole run. `MODEL_CASES` overrides the number of
//! sequences and `MODEL_SEED` replays a run: a failure prints the seed, the steps as they ran
//! and the shortest failing sequence found. `MODEL_TALLY=1` counts outcomes per operation and
//! `MODEL_TRACE=1` prints every sequence, to see what a run exercised.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use crate::common::{Backend, TestApp};
use entity::enums::AccountType;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use serde_json::{Value, json};
use warren::seed::world::{Clock, World};

/// Steps per sequence.
const STEPS: usize = 30;
/// People P0, P1 and P2 are developers; P3 is a client.
const PEOPLE: usize = 4;
const CLIENT: usize = 3;

#[test]
fn sqlite_sequences_agree_with_the_model() {
    run(Backend::Sqlite, cases(200));
}

#[cfg_attr(
    no_test_postgres,
    ignore = "needs PostgreSQL: set WARREN_TEST_POSTGRES_URL"
)]
#[test]
fn postgres_sequences_agree_with_the_model() {
    run(Backend::Postgres, cases(30));
}

fn cases(default: u32) -> u32 {
    std::env::var("MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvitationKind {
    Team,
    App,
    PaymentMethod,
    TakeOverBilling,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Unlimited,
    Limited,
}

impl Role {
    fn graphql(self) -> &'static str {
        match self {
            Role::Unlimited => "UNLIMITED",
            Role::Limited => "LIMITED",
        }
    }

    fn parse(value: &Value) -> Option<Role> {
        match value.as_str()? {
            "UNLIMITED" => Some(Role::Unlimited),
            "LIMITED" => Some(Role::Limited),
            _ => None,
        }
    }
}

/// One step. People are indices 0..4; teams, apps and payment methods are indices into the
/// objects the sequence created so far (taken modulo their number, deleted ones included, so
/// operations on deleted objects happen too); a step that names a kind of object the sequence
/// has not created yet does nothing.
#[derive(Debug, Clone)]
enum Op {
    CreateTeam {
        actor: usize,
    },
    /// inviteToTeam, then acceptInvitation by the invitee (revoked if acceptance fails).
    AddMember {
        actor: usize,
        team: usize,
        person: usize,
        role: Role,
    },
    ChangeRole {
        actor: usize,
        team: usize,
        person: usize,
        role: Role,
    },
    RemoveMember {
        actor: usize,
        team: usize,
        person: usize,
    },
    LeaveTeam {
        actor: usize,
        team: usize,
    },
    CreateApp {
        actor: usize,
        team: Option<usize>,
        pm: Option<usize>,
    },
    AddAppToTeam {
        actor: usize,
        app: usize,
        team: usize,
    },
    RemoveAppFromTeam {
        actor: usize,
        app: usize,
        team: usize,
    },
    Subscribe {
        actor: usize,
        app: usize,
        team: usize,
    },
    Unsubscribe {
        actor: usize,
        app: usize,
    },
    Switch {
        actor: usize,
        app: usize,
        team: usize,
    },
    /// inviteToApp, then acceptInvitation by the invitee (revoked if acceptance fails).
    AddDeveloper {
        actor: usize,
        app: usize,
        person: usize,
    },
    RemoveDeveloper {
        actor: usize,
        app: usize,
        person: usize,
    },
    DeleteApp {
        actor: usize,
        app: usize,
    },
    CreatePaymentMethod {
        actor: usize,
    },
    /// inviteToPaymentMethod, then acceptInvitation by the invitee.
    AddBiller {
        actor: usize,
        pm: usize,
        person: usize,
    },
    RemoveBiller {
        actor: usize,
        pm: usize,
        person: usize,
    },
    ConnectTeam {
        actor: usize,
        team: usize,
        pm: usize,
    },
    DisconnectTeam {
        actor: usize,
        team: usize,
        pm: usize,
    },
    MoveApp {
        actor: usize,
        app: usize,
        pm: usize,
    },
    DeletePaymentMethod {
        actor: usize,
        pm: usize,
    },
    DeleteTeam {
        actor: usize,
        team: usize,
    },
    /// An invitation left pending, for later steps to answer. A TEAM invitation with `apps`
    /// lists them (resolved to the team's apps at that moment).
    Invite {
        actor: usize,
        kind: InvitationKind,
        target: usize,
        person: usize,
        role: Role,
        apps: Option<Vec<usize>>,
    },
    /// acceptInvitation by id; `pm` picks the payment method taking over billing (None: a new
    /// one in the same call).
    Accept {
        actor: usize,
        invitation: usize,
        pm: Option<usize>,
    },
    Decline {
        actor: usize,
        invitation: usize,
    },
    Revoke {
        actor: usize,
        invitation: usize,
    },
    /// updateViewer with an account type.
    ChangeAccountType {
        actor: usize,
        client: bool,
    },
    /// setTechnicalContacts with the people of bitmask `people` (see `resolve`).
    SetContacts {
        actor: usize,
        app: usize,
        people: usize,
    },
    CreateEnvironment {
        actor: usize,
        app: usize,
    },
    DeleteEnvironment {
        actor: usize,
        environment: usize,
    },
    CancelAccount {
        actor: usize,
    },
    /// requestAppAccess, then approveAccessRequest (or denyAccessRequest) by `approver`; the
    /// requester cancels the request if that fails.
    RequestAccess {
        actor: usize,
        team: usize,
        app: usize,
        approver: usize,
        deny: bool,
    },
}

fn invitation_kind() -> impl Strategy<Value = InvitationKind> {
    prop_oneof![
        Just(InvitationKind::Team),
        Just(InvitationKind::App),
        Just(InvitationKind::PaymentMethod),
        Just(InvitationKind::TakeOverBilling),
    ]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    // Actors 4..8 stand for insiders (see `resolve`); people acted upon are 0..4.
    let a = || 0..4 * PEOPLE;
    // Objects and people acted upon: below PLAIN (or PEOPLE) any, above a related one.
    let p = || 0..3 * PEOPLE;
    let o = || 0..3 * PLAIN;
    let role = || prop_oneof![Just(Role::Unlimited), Just(Role::Limited)];
    prop_oneof![
        3 => a().prop_map(|actor| Op::CreateTeam { actor }),
        6 => (a(), o(), p(), role()).prop_map(|(actor, team, person, role)| Op::AddMember { actor, team, person, role }),
        2 => (a(), o(), p(), role()).prop_map(|(actor, team, person, role)| Op::ChangeRole { actor, team, person, role }),
        2 => (a(), o(), p()).prop_map(|(actor, team, person)| Op::RemoveMember { actor, team, person }),
        2 => (a(), o()).prop_map(|(actor, team)| Op::LeaveTeam { actor, team }),
        5 => (a(), proptest::option::of(o()), proptest::option::of(o())).prop_map(|(actor, team, pm)| Op::CreateApp { actor, team, pm }),
        3 => (a(), o(), o()).prop_map(|(actor, app, team)| Op::AddAppToTeam { actor, app, team }),
        2 => (a(), o(), o()).prop_map(|(actor, app, team)| Op::RemoveAppFromTeam { actor, app, team }),
        4 => (a(), o(), o()).prop_map(|(actor, app, team)| Op::Subscribe { actor, app, team }),
        2 => (a(), o()).prop_map(|(actor, app)| Op::Unsubscribe { actor, app }),
        2 => (a(), o(), o()).prop_map(|(actor, app, team)| Op::Switch { actor, app, team }),
        3 => (a(), o(), p()).prop_map(|(actor, app, person)| Op::AddDeveloper { actor, app, person }),
        2 => (a(), o(), p()).prop_map(|(actor, app, person)| Op::RemoveDeveloper { actor, app, person }),
        1 => (a(), o()).prop_map(|(actor, app)| Op::DeleteApp { actor, app }),
        3 => a().prop_map(|actor| Op::CreatePaymentMethod { actor }),
        3 => (a(), o(), p()).prop_map(|(actor, pm, person)| Op::AddBiller { actor, pm, person }),
        2 => (a(), o(), p()).prop_map(|(actor, pm, person)| Op::RemoveBiller { actor, pm, person }),
        3 => (a(), o(), o()).prop_map(|(actor, team, pm)| Op::ConnectTeam { actor, team, pm }),
        2 => (a(), o(), o()).prop_map(|(actor, team, pm)| Op::DisconnectTeam { actor, team, pm }),
        2 => (a(), o(), o()).prop_map(|(actor, app, pm)| Op::MoveApp { actor, app, pm }),
        1 => (a(), o()).prop_map(|(actor, pm)| Op::DeletePaymentMethod { actor, pm }),
        1 => (a(), o()).prop_map(|(actor, team)| Op::DeleteTeam { actor, team }),
        3 => (a(), o(), o(), a(), proptest::bool::weighted(0.3)).prop_map(|(actor, team, app, approver, deny)| Op::RequestAccess { actor, team, app, approver, deny }),
        4 => (a(), invitation_kind(), o(), p(), role(), any::<bool>()).prop_map(|(actor, kind, target, person, role, apps)| Op::Invite { actor, kind, target, person, role, apps: apps.then(Vec::new) }),
        2 => (a(), o(), 0..32usize).prop_map(|(actor, app, people)| Op::SetContacts { actor, app, people }),
        2 => (a(), o()).prop_map(|(actor, app)| Op::CreateEnvironment { actor, app }),
        2 => (a(), o()).prop_map(|(actor, environment)| Op::DeleteEnvironment { actor, environment }),
        1 => a().prop_map(|actor| Op::CancelAccount { actor }),
        4 => (a(), o(), proptest::option::of(o())).prop_map(|(actor, invitation, pm)| Op::Accept { actor, invitation, pm }),
        1 => (a(), o()).prop_map(|(actor, invitation)| Op::Decline { actor, invitation }),
        2 => (a(), o()).prop_map(|(actor, invitation)| Op::Revoke { actor, invitation }),
        1 => (a(), any::<bool>()).prop_map(|(actor, client)| Op::ChangeAccountType { actor, client }),
    ]
}

/// What one mutation call came to: success, or the code of its error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    NotFound,
    Forbidden,
    Conflict,
    BadInput,
    Unauthenticated,
    /// What a mutation made to fail just before commit answers (see `Step`).
    Internal,
    /// Any other code; the model never predicts one.
    Other,
}

use Outcome::{BadInput, Conflict, Forbidden, NotFound, Unauthenticated};

impl Outcome {
    fn of(code: Option<&str>) -> Outcome {
        match code {
            None => Outcome::Ok,
            Some("NOT_FOUND") => NotFound,
            Some("FORBIDDEN") => Forbidden,
            Some("CONFLICT") => Conflict,
            Some("BAD_USER_INPUT") => BadInput,
            Some("UNAUTHENTICATED") => Unauthenticated,
            Some("INTERNAL") => Outcome::Internal,
            Some(_) => Outcome::Other,
        }
    }
}

/// The result of a rule check: `Err` carries the refusal the service must answer with.
type Check = Result<(), Outcome>;

fn refuse_unless(allowed: bool, outcome: Outcome) -> Check {
    if allowed { Ok(()) } else { Err(outcome) }
}

fn outcome(check: Check) -> Outcome {
    match check {
        Ok(()) => Outcome::Ok,
        Err(refusal) => refusal,
    }
}

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
struct TeamModel {
    members: BTreeMap<usize, Role>,
    apps: BTreeSet<usize>,
    pms: BTreeSet<usize>,
}

#[derive(Debug, Clone, Default)]
struct AppModel {
    pm: Option<usize>,
    /// person -> (team it goes through, None = direct; when it was made)
    connections: BTreeMap<usize, (Option<usize>, u64)>,
    /// (team, person)
    grants: BTreeSet<(usize, usize)>,
    contacts: BTreeSet<usize>,
}

#[derive(Debug, Clone, Default)]
struct PmModel {
    people: BTreeSet<usize>,
}

impl InvitationModel {
    fn close(&mut self, state: &'static str) {
        self.pending = false;
        self.state = state;
    }
}

#[derive(Debug, Clone)]
struct InvitationModel {
    kind: InvitationKind,
    inviter: usize,
    invitee: usize,
    /// The team, app (also for TAKE_OVER_BILLING) or payment method offered.
    target: usize,
    role: Role,
    /// The apps a TEAM invitation lists.
    apps: Vec<usize>,
    pending: bool,
    /// Its `state` as the service names it.
    state: &'static str,
    /// Deleted with the team, app or payment method it offered. A TAKE_OVER_BILLING
    /// invitation stays when its app goes, with nothing left to offer.
    gone: bool,
}

/// The rules of docs/rules.md over teams, apps, payment methods and four people. `None` marks a
/// deleted object; indices are creation order.
#[derive(Debug, Clone)]
struct Model {
    teams: Vec<Option<TeamModel>>,
    apps: Vec<Option<AppModel>>,
    pms: Vec<Option<PmModel>>,
    invitations: Vec<InvitationModel>,
    /// Which people have CLIENT accounts now.
    clients: [bool; PEOPLE],
    /// Who cancelled their account.
    cancelled: [bool; PEOPLE],
    /// Environments, by creation order: the app each belongs to (None once deleted).
    environments: Vec<Option<usize>>,
    clock: u64,
}

impl Default for Model {
    fn default() -> Self {
        let mut clients = [false; PEOPLE];
        clients[CLIENT] = true;
        Model {
            teams: Vec::new(),
            apps: Vec::new(),
            pms: Vec::new(),
            invitations: Vec::new(),
            clients,
            cancelled: [false; PEOPLE],
            environments: Vec::new(),
            clock: 0,
        }
    }
}

impl Model {
    fn is_client(&self, person: usize) -> bool {
        self.clients[person]
    }

    fn team(&self, t: usize) -> Option<&TeamModel> {
        self.teams.get(t).and_then(Option::as_ref)
    }

    fn app(&self, a: usize) -> Option<&AppModel> {
        self.apps.get(a).and_then(Option::as_ref)
    }

    fn pm(&self, m: usize) -> Option<&PmModel> {
        self.pms.get(m).and_then(Option::as_ref)
    }

    fn live_teams(&self) -> impl Iterator<Item = (usize, &TeamModel)> {
        self.teams
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.as_ref().map(|t| (i, t)))
    }

    fn live_apps(&self) -> impl Iterator<Item = (usize, &AppModel)> {
        self.apps
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.as_ref().map(|a| (i, a)))
    }

    fn role(&self, p: usize, t: usize) -> Option<Role> {
        self.team(t).and_then(|t| t.members.get(&p).copied())
    }

    fn unlimited(&self, p: usize, t: usize) -> bool {
        self.role(p, t) == Some(Role::Unlimited)
    }

    /// Billing access: directly, or as an UNLIMITED member of a connected team.
    fn bills(&self, p: usize, m: usize) -> bool {
        self.pm(m).is_some_and(|pm| {
            pm.people.contains(&p)
                || self
                    .live_teams()
                    .any(|(t, team)| team.pms.contains(&m) && self.unlimited(p, t))
        })
    }

    fn connection(&self, p: usize, a: usize) -> Option<Option<usize>> {
        self.app(a)
            .and_then(|app| app.connections.get(&p).map(|(team, _)| *team))
    }

    /// A direct connection, or one through a team where the person is UNLIMITED.
    fn full(&self, p: usize, a: usize) -> bool {
        match self.connection(p, a) {
            Some(None) => true,
            Some(Some(t)) => self.unlimited(p, t),
            None => false,
        }
    }

    fn bills_app(&self, p: usize, a: usize) -> bool {
        self.app(a)
            .and_then(|app| app.pm)
            .is_some_and(|m| self.bills(p, m))
    }

    fn teams_of_app(&self, a: usize) -> impl Iterator<Item = usize> + '_ {
        self.live_teams()
            .filter(move |(_, team)| team.apps.contains(&a))
            .map(|(t, _)| t)
    }

    fn sees_app(&self, p: usize, a: usize) -> bool {
        self.app(a).is_some()
            && (self.connection(p, a).is_some()
                || self.teams_of_app(a).any(|t| self.role(p, t).is_some())
                || self.bills_app(p, a))
    }

    fn sees_internals(&self, p: usize, a: usize) -> bool {
        self.connection(p, a).is_some() || self.teams_of_app(a).any(|t| self.unlimited(p, t))
    }

    /// Members see a team; so, by id and name, do people who see one of its apps or bill one
    /// of its payment methods.
    fn sees_team(&self, p: usize, t: usize) -> bool {
        self.team(t).is_some_and(|team| {
            team.members.contains_key(&p)
                || team.apps.iter().any(|a| self.sees_app(p, *a))
                || team.pms.iter().any(|m| self.bills(p, *m))
        })
    }

    /// Another person is visible to whoever shares a team, an app or a payment method.
    fn sees_person(&self, viewer: usize, p: usize) -> bool {
        if viewer == p {
            return true;
        }
        let shares_team = self
            .live_teams()
            .any(|(_, team)| team.members.contains_key(&viewer) && team.members.contains_key(&p));
        let shares_app = self
            .live_apps()
            .filter(|(a, _)| self.sees_app(viewer, *a))
            .any(|(a, app)| {
                app.connections.contains_key(&p)
                    || self.teams_of_app(a).any(|t| self.role(p, t).is_some())
            });
        let shared_pms: BTreeSet<usize> = (0..self.pms.len())
            .filter(|m| self.bills(viewer, *m))
            .chain(
                self.live_apps()
                    .filter(|(a, _)| self.sees_app(viewer, *a))
                    .filter_map(|(_, app)| app.pm),
            )
            .collect();
        shares_team || shares_app || shared_pms.iter().any(|m| self.bills(p, *m))
    }

    /// A payment method keeps a billing path: a person directly, or a connected team (which
    /// always has an UNLIMITED member).
    fn has_billing_path(
        &self,
        m: usize,
        without_person: Option<usize>,
        without_team: Option<usize>,
    ) -> bool {
        let Some(pm) = self.pm(m) else { return false };
        pm.people.iter().any(|p| Some(*p) != without_person)
            || self.live_teams().any(|(t, team)| {
                Some(t) != without_team
                    && team.pms.contains(&m)
                    && team.members.values().any(|r| *r == Role::Unlimited)
            })
    }

    /// NOT_FOUND unless the actor sees the team; FORBIDDEN unless it is UNLIMITED there.
    fn unlimited_team(&self, actor: usize, t: usize) -> Check {
        refuse_unless(self.sees_team(actor, t), NotFound)?;
        refuse_unless(self.unlimited(actor, t), Forbidden)
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn app_mut(&mut self, a: usize) -> &mut AppModel {
        self.apps[a].as_mut().expect("a live app")
    }

    fn team_mut(&mut self, t: usize) -> &mut TeamModel {
        self.teams[t].as_mut().expect("a live team")
    }

    fn connect(&mut self, p: usize, a: usize, team: Option<usize>) {
        let at = self.tick();
        self.app_mut(a).connections.insert(p, (team, at));
        self.ensure_contact(a);
    }

    /// An app with developers has a contact: the developer connected longest takes over.
    fn ensure_contact(&mut self, a: usize) {
        let app = self.app_mut(a);
        app.contacts.retain(|p| app.connections.contains_key(p));
        if app.contacts.is_empty()
            && let Some((p, _)) = app.connections.iter().min_by_key(|(_, (_, at))| *at)
        {
            app.contacts.insert(*p);
        }
    }

    /// Ends a connection with the grant it used.
    fn disconnect(&mut self, p: usize, a: usize) {
        let app = self.app_mut(a);
        if let Some((Some(t), _)) = app.connections.remove(&p) {
            app.grants.remove(&(t, p));
        }
        self.ensure_contact(a);
    }

    /// Leaving or being removed: the connections and grants through the team end.
    fn end_membership(&mut self, t: usize, p: usize) {
        self.team_mut(t).members.remove(&p);
        for a in 0..self.apps.len() {
            let Some(app) = self.apps[a].as_mut() else {
                continue;
            };
            app.grants.remove(&(t, p));
            if app
                .connections
                .get(&p)
                .is_some_and(|(team, _)| *team == Some(t))
            {
                app.connections.remove(&p);
                self.ensure_contact(a);
            }
        }
    }

    /// Unlinks an app from a team: connections and grants through the team end.
    fn unlink_app(&mut self, t: usize, a: usize) {
        if let Some(team) = self.teams[t].as_mut() {
            team.apps.remove(&a);
        }
        let app = self.app_mut(a);
        app.connections.retain(|_, (team, _)| *team != Some(t));
        app.grants.retain(|(team, _)| *team != t);
        self.ensure_contact(a);
    }

    fn delete_app(&mut self, a: usize) {
        for environment in &mut self.environments {
            if *environment == Some(a) {
                *environment = None;
            }
        }
        for invitation in &mut self.invitations {
            if invitation.kind == InvitationKind::App && invitation.target == a {
                invitation.gone = true;
            }
        }
        for team in self.teams.iter_mut().flatten() {
            team.apps.remove(&a);
        }
        self.apps[a] = None;
    }

    fn delete_pm(&mut self, m: usize) {
        let owned: Vec<usize> = self
            .live_apps()
            .filter(|(_, app)| app.pm == Some(m))
            .map(|(a, _)| a)
            .collect();
        for a in owned {
            self.delete_app(a);
        }
        for team in self.teams.iter_mut().flatten() {
            team.pms.remove(&m);
        }
        for invitation in &mut self.invitations {
            if invitation.kind == InvitationKind::PaymentMethod && invitation.target == m {
                invitation.gone = true;
            }
        }
        self.pms[m] = None;
    }

    /// What deleting team `t` deletes: the payment methods only it gives access to (no person
    /// directly, no other team) with their apps, and the trial apps only it holds and nobody
    /// is connected to directly.
    fn deletion_impact(&self, t: usize) -> (BTreeSet<usize>, BTreeSet<usize>) {
        let Some(team) = self.team(t) else {
            return Default::default();
        };
        let pms: BTreeSet<usize> = team
            .pms
            .iter()
            .copied()
            .filter(|m| {
                self.pm(*m).is_some_and(|pm| pm.people.is_empty())
                    && !self
                        .live_teams()
                        .any(|(other, o)| other != t && o.pms.contains(m))
            })
            .collect();
        let mut apps: BTreeSet<usize> = self
            .live_apps()
            .filter(|(_, app)| app.pm.is_some_and(|m| pms.contains(&m)))
            .map(|(a, _)| a)
            .collect();
        apps.extend(team.apps.iter().copied().filter(|a| {
            self.app(*a).is_some_and(|app| {
                app.pm.is_none()
                    && self.teams_of_app(*a).all(|other| other == t)
                    && !app.connections.values().any(|(team, _)| team.is_none())
            })
        }));
        (apps, pms)
    }

    // --- the operations: each returns the outcome of every call the test makes for it ---

    fn apply(&mut self, op: &Op) -> Vec<Outcome> {
        // A cancelled account's token is revoked with it.
        if self.cancelled[actor(op)] {
            return vec![Unauthenticated];
        }
        match *op {
            Op::CreateTeam { actor } => {
                if self.is_client(actor) {
                    return vec![Forbidden];
                }
                let mut team = TeamModel::default();
                team.members.insert(actor, Role::Unlimited);
                self.teams.push(Some(team));
                vec![Outcome::Ok]
            }
            Op::AddMember {
                actor,
                team,
                person,
                role,
            } => self.invite_and_accept(actor, InvitationKind::Team, team, person, role),
            Op::ChangeRole {
                actor,
                team,
                person,
                role,
            } => {
                let check = self.unlimited_team(actor, team).and_then(|()| {
                    let current = self.role(person, team).ok_or(NotFound)?;
                    refuse_unless(current != role, Conflict)?;
                    refuse_unless(
                        role == Role::Unlimited || self.has_other_unlimited(team, person),
                        Conflict,
                    )
                });
                if check.is_ok() {
                    self.team_mut(team).members.insert(person, role);
                    for app in self.apps.iter_mut().flatten() {
                        match role {
                            // Subscriptions through the team become grants.
                            Role::Limited => {
                                if app
                                    .connections
                                    .get(&person)
                                    .is_some_and(|(t, _)| *t == Some(team))
                                {
                                    app.grants.insert((team, person));
                                }
                            }
                            Role::Unlimited => {
                                app.grants.remove(&(team, person));
                            }
                        }
                    }
                }
                vec![outcome(check)]
            }
            Op::RemoveMember {
                actor,
                team,
                person,
            } => {
                let check = self.unlimited_team(actor, team).and_then(|()| {
                    refuse_unless(self.role(person, team).is_some(), NotFound)?;
                    refuse_unless(self.has_other_unlimited(team, person), Conflict)
                });
                if check.is_ok() {
                    self.end_membership(team, person);
                }
                vec![outcome(check)]
            }
            Op::LeaveTeam { actor, team } => {
                let check = refuse_unless(self.sees_team(actor, team), NotFound).and_then(|()| {
                    refuse_unless(self.role(actor, team).is_some(), Conflict)?;
                    refuse_unless(self.has_other_unlimited(team, actor), Conflict)
                });
                if check.is_ok() {
                    self.end_membership(team, actor);
                }
                vec![outcome(check)]
            }
            Op::CreateApp { actor, team, pm } => {
                let check = (|| {
                    refuse_unless(
                        !self.is_client(actor) || (pm.is_some() && team.is_none()),
                        Forbidden,
                    )?;
                    if let Some(m) = pm {
                        refuse_unless(self.bills(actor, m), NotFound)?;
                    }
                    if let Some(t) = team {
                        refuse_unless(self.sees_team(actor, t), NotFound)?;
                        refuse_unless(self.role(actor, t).is_some(), Forbidden)?;
                    }
                    Ok(())
                })();
                if check.is_ok() {
                    let a = self.apps.len();
                    self.environments.push(Some(a));
                    self.apps.push(Some(AppModel {
                        pm,
                        ..AppModel::default()
                    }));
                    if let Some(t) = team {
                        self.team_mut(t).apps.insert(a);
                        if self.role(actor, t) == Some(Role::Limited) {
                            self.app_mut(a).grants.insert((t, actor));
                        }
                    }
                    if !self.is_client(actor) {
                        self.connect(actor, a, team);
                    }
                }
                vec![outcome(check)]
            }
            Op::AddAppToTeam { actor, app, team } => {
                let check = (|| {
                    refuse_unless(self.sees_app(actor, app), NotFound)?;
                    self.unlimited_team(actor, team)?;
                    refuse_unless(
                        self.full(actor, app) || self.bills_app(actor, app),
                        Forbidden,
                    )?;
                    refuse_unless(
                        !self.team(team).is_some_and(|t| t.apps.contains(&app)),
                        Conflict,
                    )
                })();
                if check.is_ok() {
                    self.team_mut(team).apps.insert(app);
                }
                vec![outcome(check)]
            }
            Op::RemoveAppFromTeam { actor, app, team } => {
                let check = (|| {
                    refuse_unless(self.sees_app(actor, app), NotFound)?;
                    refuse_unless(self.sees_team(actor, team), NotFound)?;
                    refuse_unless(
                        self.unlimited(actor, team)
                            || self.full(actor, app)
                            || self.bills_app(actor, app),
                        Forbidden,
                    )?;
                    refuse_unless(
                        self.team(team).is_some_and(|t| t.apps.contains(&app)),
                        Conflict,
                    )
                })();
                if check.is_ok() {
                    self.unlink_app(team, app);
                }
                vec![outcome(check)]
            }
            Op::Subscribe { actor, app, team } => {
                let check = (|| {
                    refuse_unless(self.sees_app(actor, app), NotFound)?;
                    self.may_connect_through(actor, app, team)?;
                    refuse_unless(self.connection(actor, app).is_none(), Conflict)
                })();
                if check.is_ok() {
                    self.connect(actor, app, Some(team));
                }
                vec![outcome(check)]
            }
            Op::Unsubscribe { actor, app } => {
                let check = refuse_unless(self.sees_app(actor, app), NotFound)
                    .and_then(|()| refuse_unless(self.connection(actor, app).is_some(), Conflict));
                if check.is_ok() {
                    self.disconnect(actor, app);
                }
                vec![outcome(check)]
            }
            Op::Switch { actor, app, team } => {
                let check = (|| {
                    refuse_unless(self.sees_app(actor, app), NotFound)?;
                    let current = self.connection(actor, app).ok_or(Conflict)?;
                    refuse_unless(current != Some(team), Conflict)?;
                    self.may_connect_through(actor, app, team)
                })();
                if check.is_ok() {
                    // The connection keeps its age; a grant it used stays with the old team.
                    let app = self.app_mut(app);
                    if let Some(connection) = app.connections.get_mut(&actor) {
                        connection.0 = Some(team);
                    }
                }
                vec![outcome(check)]
            }
            Op::AddDeveloper { actor, app, person } => {
                self.invite_and_accept(actor, InvitationKind::App, app, person, Role::Limited)
            }
            Op::RemoveDeveloper { actor, app, person } => {
                let check = (|| {
                    refuse_unless(self.sees_app(actor, app), NotFound)?;
                    refuse_unless(
                        self.full(actor, app) || self.bills_app(actor, app),
                        Forbidden,
                    )?;
                    refuse_unless(self.connection(person, app).is_some(), NotFound)
                })();
                if check.is_ok() {
                    self.disconnect(person, app);
                }
                vec![outcome(check)]
            }
            Op::DeleteApp { actor, app } => {
                let check = refuse_unless(self.sees_app(actor, app), NotFound).and_then(|()| {
                    refuse_unless(
                        self.full(actor, app) || self.bills_app(actor, app),
                        Forbidden,
                    )
                });
                if check.is_ok() {
                    self.delete_app(app);
                }
                vec![outcome(check)]
            }
            Op::CreatePaymentMethod { actor } => {
                let mut pm = PmModel::default();
                pm.people.insert(actor);
                self.pms.push(Some(pm));
                vec![Outcome::Ok]
            }
            Op::AddBiller { actor, pm, person } => self.invite_and_accept(
                actor,
                InvitationKind::PaymentMethod,
                pm,
                person,
                Role::Limited,
            ),
            Op::RemoveBiller { actor, pm, person } => {
                let check = (|| {
                    refuse_unless(self.bills(actor, pm), NotFound)?;
                    refuse_unless(
                        self.pm(pm).is_some_and(|m| m.people.contains(&person)),
                        NotFound,
                    )?;
                    refuse_unless(self.has_billing_path(pm, Some(person), None), Conflict)
                })();
                if check.is_ok()
                    && let Some(Some(m)) = self.pms.get_mut(pm)
                {
                    m.people.remove(&person);
                }
                vec![outcome(check)]
            }
            Op::ConnectTeam { actor, team, pm } => {
                let check = (|| {
                    refuse_unless(self.bills(actor, pm), NotFound)?;
                    self.unlimited_team(actor, team)?;
                    refuse_unless(
                        !self.team(team).is_some_and(|t| t.pms.contains(&pm)),
                        Conflict,
                    )
                })();
                if check.is_ok() {
                    self.team_mut(team).pms.insert(pm);
                }
                vec![outcome(check)]
            }
            Op::DisconnectTeam { actor, team, pm } => {
                let check = (|| {
                    refuse_unless(self.sees_team(actor, team), NotFound)?;
                    // Billing access makes the payment method visible (a connected team's
                    // UNLIMITED members have it through the team); without it the payment
                    // method is NOT_FOUND, connected or not (docs/security.md, "Refusals").
                    refuse_unless(self.pm(pm).is_some() && self.bills(actor, pm), NotFound)?;
                    refuse_unless(
                        self.team(team).is_some_and(|t| t.pms.contains(&pm)),
                        Conflict,
                    )?;
                    refuse_unless(self.has_billing_path(pm, None, Some(team)), Conflict)
                })();
                if check.is_ok() {
                    self.team_mut(team).pms.remove(&pm);
                }
                vec![outcome(check)]
            }
            Op::MoveApp { actor, app, pm } => {
                let check = (|| {
                    refuse_unless(self.sees_app(actor, app), NotFound)?;
                    let trial = self.app(app).is_some_and(|a| a.pm.is_none());
                    refuse_unless(
                        self.bills_app(actor, app) || (trial && self.full(actor, app)),
                        Forbidden,
                    )?;
                    refuse_unless(self.bills(actor, pm), NotFound)?;
                    refuse_unless(self.app(app).is_some_and(|a| a.pm != Some(pm)), Conflict)
                })();
                if check.is_ok() {
                    self.app_mut(app).pm = Some(pm);
                }
                vec![outcome(check)]
            }
            Op::DeletePaymentMethod { actor, pm } => {
                let check = refuse_unless(self.bills(actor, pm), NotFound);
                if check.is_ok() {
                    self.delete_pm(pm);
                }
                vec![outcome(check)]
            }
            Op::DeleteTeam { actor, team } => {
                let check = self.unlimited_team(actor, team);
                if check.is_ok() {
                    let (apps, pms) = self.deletion_impact(team);
                    for m in pms {
                        self.delete_pm(m);
                    }
                    for a in apps {
                        if self.app(a).is_some() {
                            self.delete_app(a);
                        }
                    }
                    let members: Vec<usize> = self
                        .team(team)
                        .map(|t| t.members.keys().copied().collect())
                        .unwrap_or_default();
                    let apps: Vec<usize> = self
                        .team(team)
                        .map(|t| t.apps.iter().copied().collect())
                        .unwrap_or_default();
                    for a in apps {
                        self.unlink_app(team, a);
                    }
                    for p in members {
                        self.end_membership(team, p);
                    }
                    for invitation in &mut self.invitations {
                        if invitation.kind == InvitationKind::Team && invitation.target == team {
                            invitation.gone = true;
                        }
                    }
                    self.teams[team] = None;
                }
                vec![outcome(check)]
            }
            Op::Invite {
                actor,
                kind,
                target,
                person,
                role,
                ref apps,
            } => {
                let apps = apps.clone().unwrap_or_default();
                vec![outcome(
                    self.invite(actor, kind, target, person, role, apps),
                )]
            }
            Op::SetContacts { actor, app, people } => {
                let chosen: BTreeSet<usize> =
                    (0..PEOPLE).filter(|p| people & (1 << p) != 0).collect();
                let check = (|| {
                    refuse_unless(!chosen.is_empty(), BadInput)?;
                    refuse_unless(self.sees_app(actor, app), NotFound)?;
                    refuse_unless(self.full(actor, app), Forbidden)?;
                    refuse_unless(
                        chosen.iter().all(|p| self.connection(*p, app).is_some()),
                        Conflict,
                    )
                })();
                if check.is_ok() {
                    self.app_mut(app).contacts = chosen;
                }
                vec![outcome(check)]
            }
            Op::CreateEnvironment { actor, app } => {
                let check = refuse_unless(self.sees_app(actor, app), NotFound)
                    .and_then(|()| refuse_unless(self.connection(actor, app).is_some(), Forbidden));
                if check.is_ok() {
                    self.environments.push(Some(app));
                }
                vec![outcome(check)]
            }
            Op::DeleteEnvironment { actor, environment } => {
                let check = (|| {
                    let app = self.environments[environment].ok_or(NotFound)?;
                    // Environments are internals: hidden from whoever does not see them.
                    refuse_unless(
                        self.sees_app(actor, app) && self.sees_internals(actor, app),
                        NotFound,
                    )?;
                    refuse_unless(self.connection(actor, app).is_some(), Forbidden)?;
                    let others = self
                        .environments
                        .iter()
                        .enumerate()
                        .filter(|(e, a)| *e != environment && **a == Some(app))
                        .count();
                    refuse_unless(others > 0, Conflict)
                })();
                if check.is_ok() {
                    self.environments[environment] = None;
                }
                vec![outcome(check)]
            }
            Op::CancelAccount { actor } => {
                // Refused while it is a team's last UNLIMITED member or a payment method's
                // last billing path.
                let last_unlimited = self
                    .live_teams()
                    .any(|(t, _)| self.unlimited(actor, t) && !self.has_other_unlimited(t, actor));
                let last_path = (0..self.pms.len()).any(|m| {
                    self.pm(m).is_some_and(|pm| pm.people.contains(&actor))
                        && !self.has_billing_path(m, Some(actor), None)
                });
                if last_unlimited || last_path {
                    return vec![Conflict];
                }
                let teams: Vec<usize> = self
                    .live_teams()
                    .filter(|(_, t)| t.members.contains_key(&actor))
                    .map(|(t, _)| t)
                    .collect();
                for t in teams {
                    self.end_membership(t, actor);
                }
                for a in 0..self.apps.len() {
                    if self.connection(actor, a).is_some() {
                        self.disconnect(actor, a);
                    }
                }
                for pm in self.pms.iter_mut().flatten() {
                    pm.people.remove(&actor);
                }
                self.cancelled[actor] = true;
                vec![Outcome::Ok]
            }
            Op::Accept {
                actor,
                invitation,
                pm,
            } => vec![outcome(self.accept(actor, invitation, pm))],
            Op::Decline { actor, invitation } => {
                let check = self.answerable(actor, invitation);
                if check.is_ok() {
                    self.invitations[invitation].close("DECLINED");
                }
                vec![outcome(check)]
            }
            Op::Revoke { actor, invitation } => vec![outcome(self.revoke(actor, invitation))],
            Op::ChangeAccountType { actor, client } => {
                // A developer with memberships or connections cannot become a client.
                let in_the_way = client
                    && !self.is_client(actor)
                    && (self
                        .live_teams()
                        .any(|(_, t)| t.members.contains_key(&actor))
                        || self
                            .live_apps()
                            .any(|(_, a)| a.connections.contains_key(&actor)));
                if in_the_way {
                    return vec![Conflict];
                }
                self.clients[actor] = client;
                vec![Outcome::Ok]
            }
            Op::RequestAccess {
                actor,
                team,
                app,
                approver,
                deny,
            } => {
                let request = (|| {
                    refuse_unless(self.sees_team(actor, team), NotFound)?;
                    match self.role(actor, team) {
                        Some(Role::Limited) => {}
                        Some(Role::Unlimited) => return Err(Conflict),
                        None => return Err(Forbidden),
                    }
                    refuse_unless(
                        self.team(team).is_some_and(|t| t.apps.contains(&app)),
                        NotFound,
                    )?;
                    refuse_unless(
                        !self
                            .app(app)
                            .is_some_and(|a| a.grants.contains(&(team, actor))),
                        Conflict,
                    )
                })();
                if let Err(refusal) = request {
                    return vec![refusal];
                }
                let decide = if self.cancelled[approver] {
                    Err(Unauthenticated)
                } else if approver == actor {
                    Err(Forbidden)
                } else {
                    refuse_unless(self.unlimited(approver, team), NotFound)
                };
                if let Err(refusal) = decide {
                    // The requester cancels the request nobody could decide.
                    return vec![Outcome::Ok, refusal, Outcome::Ok];
                }
                if deny {
                    return vec![Outcome::Ok, Outcome::Ok];
                }
                self.app_mut(app).grants.insert((team, actor));
                if self.connection(actor, app).is_none() {
                    self.connect(actor, app, Some(team));
                }
                vec![Outcome::Ok, Outcome::Ok]
            }
        }
    }

    // --- invitations ---

    /// Whether `p` may send (and so revoke) invitation `i` now.
    fn may_send(&self, p: usize, i: usize) -> bool {
        let invitation = &self.invitations[i];
        let t = invitation.target;
        match invitation.kind {
            InvitationKind::Team => self.unlimited(p, t),
            InvitationKind::App => self.full(p, t) || self.bills_app(p, t),
            InvitationKind::PaymentMethod => self.bills(p, t),
            InvitationKind::TakeOverBilling => {
                self.bills_app(p, t)
                    || (self.full(p, t) && self.app(t).is_some_and(|a| a.pm.is_none()))
            }
        }
    }

    fn invite(
        &mut self,
        actor: usize,
        kind: InvitationKind,
        target: usize,
        person: usize,
        role: Role,
        apps: Vec<usize>,
    ) -> Check {
        match kind {
            InvitationKind::Team => {
                self.unlimited_team(actor, target)?;
                refuse_unless(self.role(person, target).is_none(), Conflict)?;
            }
            InvitationKind::App => {
                refuse_unless(self.sees_app(actor, target), NotFound)?;
                refuse_unless(
                    self.full(actor, target) || self.bills_app(actor, target),
                    Forbidden,
                )?;
                refuse_unless(self.connection(person, target).is_none(), Conflict)?;
            }
            InvitationKind::PaymentMethod => {
                refuse_unless(self.bills(actor, target), NotFound)?;
                refuse_unless(
                    !self.pm(target).is_some_and(|m| m.people.contains(&person)),
                    Conflict,
                )?;
            }
            InvitationKind::TakeOverBilling => {
                refuse_unless(self.sees_app(actor, target), NotFound)?;
                let trial = self.app(target).is_some_and(|a| a.pm.is_none());
                refuse_unless(
                    self.bills_app(actor, target) || (trial && self.full(actor, target)),
                    Forbidden,
                )?;
            }
        }
        // One pending invitation per address and object (taking over billing excepted).
        let duplicate = kind != InvitationKind::TakeOverBilling
            && self.invitations.iter().any(|i| {
                i.pending && !i.gone && i.kind == kind && i.target == target && i.invitee == person
            });
        refuse_unless(!duplicate, Conflict)?;
        self.invitations.push(InvitationModel {
            kind,
            inviter: actor,
            invitee: person,
            target,
            role,
            apps,
            pending: true,
            state: "PENDING",
            gone: false,
        });
        Ok(())
    }

    /// Only the invitee answers an invitation by id (its inviter is told so; anyone else
    /// does not see it), and only while it is pending.
    fn answerable(&self, actor: usize, i: usize) -> Check {
        let invitation = &self.invitations[i];
        refuse_unless(!invitation.gone, NotFound)?;
        if invitation.invitee != actor {
            return Err(if invitation.inviter == actor {
                Forbidden
            } else {
                NotFound
            });
        }
        refuse_unless(invitation.pending, Conflict)
    }

    fn accept(&mut self, actor: usize, i: usize, pm: Option<usize>) -> Check {
        refuse_unless(!self.cancelled[actor], Unauthenticated)?;
        self.answerable(actor, i)?;
        // The inviter's right is checked again.
        refuse_unless(self.may_send(self.invitations[i].inviter, i), Conflict)?;
        let InvitationModel {
            kind,
            target,
            role,
            apps,
            ..
        } = self.invitations[i].clone();
        match kind {
            InvitationKind::Team => {
                refuse_unless(!self.is_client(actor), Forbidden)?;
                refuse_unless(self.role(actor, target).is_none(), Conflict)?;
                self.team_mut(target).members.insert(actor, role);
                // Listed apps the team still holds become grants (LIMITED) and subscriptions,
                // unless the invitee works on one already.
                for a in apps {
                    if !self.team(target).is_some_and(|t| t.apps.contains(&a)) {
                        continue;
                    }
                    if role == Role::Limited {
                        self.app_mut(a).grants.insert((target, actor));
                    }
                    if self.connection(actor, a).is_none() {
                        self.connect(actor, a, Some(target));
                    }
                }
            }
            InvitationKind::App => {
                refuse_unless(!self.is_client(actor), Forbidden)?;
                refuse_unless(self.connection(actor, target).is_none(), Conflict)?;
                self.connect(actor, target, None);
            }
            InvitationKind::PaymentMethod => {
                refuse_unless(
                    !self.pm(target).is_some_and(|m| m.people.contains(&actor)),
                    Conflict,
                )?;
                if let Some(Some(m)) = self.pms.get_mut(target) {
                    m.people.insert(actor);
                }
            }
            InvitationKind::TakeOverBilling => {
                let to = match pm {
                    Some(m) => {
                        refuse_unless(self.bills(actor, m), NotFound)?;
                        m
                    }
                    None => {
                        let mut new = PmModel::default();
                        new.people.insert(actor);
                        self.pms.push(Some(new));
                        self.pms.len() - 1
                    }
                };
                self.app_mut(target).pm = Some(to);
            }
        }
        self.invitations[i].close("ACCEPTED");
        Ok(())
    }

    fn revoke(&mut self, actor: usize, i: usize) -> Check {
        let invitation = &self.invitations[i];
        refuse_unless(!invitation.gone, NotFound)?;
        if !self.may_send(actor, i) {
            return Err(
                if invitation.inviter == actor || invitation.invitee == actor {
                    Forbidden
                } else {
                    NotFound
                },
            );
        }
        refuse_unless(invitation.pending, Conflict)?;
        self.invitations[i].close("REVOKED");
        Ok(())
    }

    /// The three calls of an invitation answered at once: invite, accept, and revoke if the
    /// acceptance failed.
    fn invite_and_accept(
        &mut self,
        actor: usize,
        kind: InvitationKind,
        target: usize,
        person: usize,
        role: Role,
    ) -> Vec<Outcome> {
        if let Err(refusal) = self.invite(actor, kind, target, person, role, Vec::new()) {
            return vec![refusal];
        }
        let i = self.invitations.len() - 1;
        match self.accept(person, i, None) {
            Ok(()) => vec![Outcome::Ok, Outcome::Ok],
            Err(refusal) => vec![Outcome::Ok, refusal, outcome(self.revoke(actor, i))],
        }
    }

    /// `op` with its first mutation failing at commit: an operation that would have gone
    /// through answers INTERNAL and changes nothing; a refused one is refused as before.
    fn apply_failing(&mut self, op: &Op) -> Vec<Outcome> {
        let mut attempt = self.clone();
        let outcomes = attempt.apply(op);
        if outcomes.first() == Some(&Outcome::Ok) {
            return vec![Outcome::Internal];
        }
        *self = attempt;
        outcomes
    }

    fn has_other_unlimited(&self, t: usize, p: usize) -> bool {
        self.team(t).is_some_and(|team| {
            team.members
                .iter()
                .any(|(other, role)| *other != p && *role == Role::Unlimited)
        })
    }

    /// A DEVELOPER member of a team that holds the app; LIMITED members need a grant.
    fn may_connect_through(&self, actor: usize, app: usize, team: usize) -> Check {
        refuse_unless(!self.is_client(actor), Forbidden)?;
        refuse_unless(self.sees_team(actor, team), NotFound)?;
        let role = self.role(actor, team).ok_or(Forbidden)?;
        refuse_unless(
            self.team(team).is_some_and(|t| t.apps.contains(&app)),
            Conflict,
        )?;
        refuse_unless(
            role == Role::Unlimited
                || self
                    .app(app)
                    .is_some_and(|a| a.grants.contains(&(team, actor))),
            Forbidden,
        )
    }

    // --- what each person sees ---

    /// Labels of the pending invitations that still exist and match `filter`.
    fn pending_invitations(
        &self,
        filter: impl Fn(&InvitationModel) -> bool,
    ) -> impl Iterator<Item = String> {
        self.invitations
            .iter()
            .enumerate()
            .filter(move |(_, i)| i.pending && !i.gone && filter(i))
            .map(|(n, _)| format!("I{n}"))
    }

    fn view(&self, viewer: usize) -> View {
        let t = |i: usize| format!("T{i}");
        let a = |i: usize| format!("A{i}");
        let m = |i: usize| format!("M{i}");
        let mut view = View::default();
        if self.cancelled[viewer] {
            view.signed_out = true;
            return view;
        }
        for (e, app) in self.environments.iter().enumerate() {
            if let Some(app) = app
                && self.sees_app(viewer, *app)
                && self.sees_internals(viewer, *app)
            {
                view.nodes.insert(format!("E{e}"), NodeView::Environment);
            }
        }
        for (i, team) in self.live_teams() {
            if let Some(role) = team.members.get(&viewer) {
                view.teams.insert(t(i), *role);
            }
        }
        for (i, app) in self.live_apps() {
            if let Some((team, _)) = app.connections.get(&viewer) {
                view.apps.insert(a(i), team.map(t));
            }
        }
        for i in 0..self.pms.len() {
            if self.bills(viewer, i) {
                view.pms.insert(m(i));
            }
        }
        view.invitations = self.pending_invitations(|i| i.invitee == viewer).collect();
        // Inviter and invitee see an invitation; those who may send it see it while pending.
        for (i, invitation) in self.invitations.iter().enumerate() {
            let sees = !invitation.gone
                && (viewer == invitation.inviter
                    || viewer == invitation.invitee
                    || (invitation.pending && self.may_send(viewer, i)));
            if sees {
                view.nodes
                    .insert(format!("I{i}"), NodeView::Invitation(invitation.state));
            }
        }
        for p in 0..PEOPLE {
            if self.sees_person(viewer, p) {
                view.nodes.insert(format!("P{p}"), NodeView::Person);
            }
        }
        for (i, team) in self.live_teams() {
            if !self.sees_team(viewer, i) {
                continue;
            }
            let role = team.members.get(&viewer).copied();
            let member = role.is_some();
            let unlimited = role == Some(Role::Unlimited);
            let impact = unlimited.then(|| {
                let (apps, pms) = self.deletion_impact(i);
                (
                    apps.into_iter().map(a).collect(),
                    pms.into_iter().map(m).collect(),
                )
            });
            view.nodes.insert(
                t(i),
                NodeView::Team {
                    role,
                    members: if member {
                        team.members
                            .iter()
                            .map(|(p, r)| (format!("P{p}"), *r))
                            .collect()
                    } else {
                        BTreeMap::new()
                    },
                    apps: if member {
                        team.apps.iter().copied().map(a).collect()
                    } else {
                        BTreeSet::new()
                    },
                    pms: if unlimited {
                        team.pms.iter().copied().map(m).collect()
                    } else {
                        BTreeSet::new()
                    },
                    impact,
                    invitations: if unlimited {
                        self.pending_invitations(|inv| {
                            inv.kind == InvitationKind::Team && inv.target == i
                        })
                        .collect()
                    } else {
                        BTreeSet::new()
                    },
                },
            );
        }
        for (i, app) in self.live_apps() {
            if !self.sees_app(viewer, i) {
                continue;
            }
            let internals = self.sees_internals(viewer, i);
            let billing = self.bills_app(viewer, i);
            view.nodes.insert(
                a(i),
                NodeView::App {
                    access: (
                        self.connection(viewer, i).is_some(),
                        self.full(viewer, i),
                        billing,
                    ),
                    trial: app.pm.is_none(),
                    pm: if billing { app.pm.map(m) } else { None },
                    developers: if internals {
                        app.connections
                            .iter()
                            .map(|(p, (team, _))| (format!("P{p}"), team.map(t)))
                            .collect()
                    } else {
                        BTreeMap::new()
                    },
                    teams: self.teams_of_app(i).map(t).collect(),
                    contacts: app.contacts.iter().map(|p| format!("P{p}")).collect(),
                    environments: if internals {
                        self.environments
                            .iter()
                            .enumerate()
                            .filter(|(_, app)| **app == Some(i))
                            .map(|(e, _)| format!("E{e}"))
                            .collect()
                    } else {
                        BTreeSet::new()
                    },
                    invitations: if self.full(viewer, i) || billing {
                        self.pending_invitations(|inv| {
                            matches!(
                                inv.kind,
                                InvitationKind::App | InvitationKind::TakeOverBilling
                            ) && inv.target == i
                        })
                        .collect()
                    } else {
                        BTreeSet::new()
                    },
                },
            );
        }
        for i in 0..self.pms.len() {
            if !self.bills(viewer, i) {
                continue;
            }
            let people = self
                .pm(i)
                .map(|pm| pm.people.iter().map(|p| format!("P{p}")).collect());
            view.nodes.insert(
                m(i),
                NodeView::PaymentMethod {
                    apps: self
                        .live_apps()
                        .filter(|(_, app)| app.pm == Some(i))
                        .map(|(j, _)| a(j))
                        .collect(),
                    people: people.unwrap_or_default(),
                    teams: self
                        .live_teams()
                        .filter(|(_, team)| team.pms.contains(&i))
                        .map(|(j, _)| t(j))
                        .collect(),
                    invitations: self
                        .pending_invitations(|inv| {
                            inv.kind == InvitationKind::PaymentMethod && inv.target == i
                        })
                        .collect(),
                },
            );
        }
        view
    }
}

/// What one person sees, with objects named by their model labels (P0, T1, A2, M0...).
#[derive(Debug, Default, PartialEq, Eq)]
struct View {
    /// The person's credential was refused (401): its account is cancelled.
    signed_out: bool,
    /// `viewer.teams`: team -> role.
    teams: BTreeMap<String, Role>,
    /// `viewer.apps`: app -> the team the connection goes through (None = direct).
    apps: BTreeMap<String, Option<String>>,
    /// `viewer.paymentMethods`.
    pms: BTreeSet<String>,
    /// `viewer.invitations(state: PENDING)`.
    invitations: BTreeSet<String>,
    /// The non-null results of `nodes(ids:)` over every object of the sequence.
    nodes: BTreeMap<String, NodeView>,
}

impl View {
    /// The entries where `self` (the service) and `model` differ, one per line.
    fn difference(&self, model: &View) -> String {
        fn entries<K: Ord + fmt::Debug, V: PartialEq + fmt::Debug>(
            what: &str,
            seen: &BTreeMap<K, V>,
            model: &BTreeMap<K, V>,
            out: &mut String,
        ) {
            let keys: BTreeSet<&K> = seen.keys().chain(model.keys()).collect();
            for key in keys {
                let (s, m) = (seen.get(key), model.get(key));
                if s != m {
                    out.push_str(&format!(
                        "  {what} {key:?}: service {s:?}\n           model   {m:?}\n"
                    ));
                }
            }
        }
        let mut out = String::new();
        if self.signed_out != model.signed_out {
            out.push_str(&format!(
                "  signed out: service {}, model {}\n",
                self.signed_out, model.signed_out
            ));
        }
        entries("viewer.teams", &self.teams, &model.teams, &mut out);
        entries("viewer.apps", &self.apps, &model.apps, &mut out);
        if self.invitations != model.invitations {
            out.push_str(&format!(
                "  viewer.invitations: service {:?}\n           model   {:?}\n",
                self.invitations, model.invitations
            ));
        }
        if self.pms != model.pms {
            out.push_str(&format!(
                "  viewer.paymentMethods: service {:?}\n           model   {:?}\n",
                self.pms, model.pms
            ));
        }
        entries("node", &self.nodes, &model.nodes, &mut out);
        out
    }
}

#[derive(Debug, PartialEq, Eq)]
enum NodeView {
    Person,
    /// Its state.
    Invitation(&'static str),
    Team {
        role: Option<Role>,
        members: BTreeMap<String, Role>,
        apps: BTreeSet<String>,
        pms: BTreeSet<String>,
        /// `deletionImpact` (apps, payment methods); null unless UNLIMITED.
        impact: Option<(BTreeSet<String>, BTreeSet<String>)>,
        invitations: BTreeSet<String>,
    },
    App {
        /// `viewerAccess`: developer, full, billing.
        access: (bool, bool, bool),
        trial: bool,
        pm: Option<String>,
        developers: BTreeMap<String, Option<String>>,
        teams: BTreeSet<String>,
        contacts: BTreeSet<String>,
        invitations: BTreeSet<String>,
        environments: BTreeSet<String>,
    },
    Environment,
    PaymentMethod {
        apps: BTreeSet<String>,
        people: BTreeSet<String>,
        teams: BTreeSet<String>,
        invitations: BTreeSet<String>,
    },
}

// ---------------------------------------------------------------------------------------------
// The service side
// ---------------------------------------------------------------------------------------------

const VIEW_QUERY: &str = r#"
query($ids: [ID!]!) {
  viewer {
    teams(first: 100) { edges { role node { id } } }
    apps(first: 100) { edges { team { id } node { id } } }
    paymentMethods(first: 100) { nodes { id } }
    invitations(state: PENDING, first: 100) { nodes { id } }
  }
  nodes(ids: $ids) {
    __typename
    ... on Person { id }
    ... on Invitation { id state }
    ... on Environment { id }
    ... on Team {
      id viewerRole
      members(first: 100) { edges { role node { id } } }
      apps(first: 100) { nodes { id } }
      paymentMethods(first: 100) { nodes { id } }
      deletionImpact { apps { id } paymentMethods { id } }
      invitations(first: 100) { nodes { id } }
    }
    ... on App {
      id isTrial
      viewerAccess { developer full billing }
      paymentMethod { id }
      developers(first: 100) { edges { team { id } node { id } } }
      teams(first: 100) { nodes { id } }
      technicalContacts { id }
      invitations(first: 100) { nodes { id } }
      environments { id }
    }
    ... on PaymentMethod {
      id
      apps(first: 100) { nodes { id } }
      people(first: 100) { nodes { id } }
      teams(first: 100) { nodes { id } }
      invitations(first: 100) { nodes { id } }
    }
  }
}"#;

/// One sequence's people and the global ids of what it created, by model index.
struct Service<'a> {
    app: &'a TestApp,
    tokens: Vec<String>,
    emails: Vec<String>,
    /// Global id -> model label, and model label -> global id.
    labels: HashMap<String, String>,
    people: Vec<String>,
    /// The people's database ids, to arm faults for them.
    uuids: Vec<uuid::Uuid>,
    teams: Vec<String>,
    apps: Vec<String>,
    pms: Vec<String>,
    invitations: Vec<String>,
    invitation_kinds: Vec<InvitationKind>,
    environments: Vec<String>,
}

impl<'a> Service<'a> {
    async fn new(app: &'a TestApp) -> Service<'a> {
        let mut world = World::new(&app.db.conn, Clock::now());
        let run = uuid::Uuid::new_v4().simple().to_string();
        let mut service = Service {
            app,
            tokens: Vec::new(),
            emails: Vec::new(),
            labels: HashMap::new(),
            people: Vec::new(),
            uuids: Vec::new(),
            teams: Vec::new(),
            apps: Vec::new(),
            pms: Vec::new(),
            invitations: Vec::new(),
            invitation_kinds: Vec::new(),
            environments: Vec::new(),
        };
        for p in 0..PEOPLE {
            let email = format!("p{p}-{run}@model.example");
            let account = if p == CLIENT {
                AccountType::Client
            } else {
                AccountType::Developer
            };
            let id = world
                .person(&format!("P{p}"), &email, account)
                .await
                .expect("person row");
            let token = world
                .token(id, entity::enums::TokenScope::Write)
                .await
                .map_err(|e| e.message())
                .expect("token");
            let global = warren::api::relay::global_id(warren::api::relay::NodeKind::Person, id).0;
            service.labels.insert(global.clone(), format!("P{p}"));
            service.people.push(global);
            service.uuids.push(id);
            service.tokens.push(token);
            service.emails.push(email);
        }
        service
    }

    /// How many events the sequence's people have caused so far, straight from the database.
    async fn events_written(&self) -> Result<u64, String> {
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        entity::event::Entity::find()
            .filter(entity::event::Column::ActorId.is_in(self.uuids.iter().copied()))
            .count(&self.app.db.conn)
            .await
            .map_err(|e| e.to_string())
    }

    /// Makes every mutation of `person` fail just before commit (`on`), or work again.
    fn arm_fault(&self, person: usize, on: bool) {
        #[cfg(feature = "fault-injection")]
        warren::rules::change::fault::arm(self.uuids[person], on);
        #[cfg(not(feature = "fault-injection"))]
        let _ = (person, on);
    }

    /// Runs mutation `name` as `actor`; returns its outcome and the response.
    async fn call(&self, actor: usize, name: &str, input: Value, fields: &str) -> (Outcome, Value) {
        let (body, code) = self
            .app
            .mutate(&self.tokens[actor], name, input, fields)
            .await;
        (Outcome::of(code.as_deref()), body)
    }

    fn remember(&mut self, kind: char, id: &Value) -> Result<(), String> {
        let id = id
            .as_str()
            .ok_or("a created object without an id")?
            .to_owned();
        let list = match kind {
            'T' => &mut self.teams,
            'A' => &mut self.apps,
            'I' => &mut self.invitations,
            'E' => &mut self.environments,
            _ => &mut self.pms,
        };
        self.labels
            .insert(id.clone(), format!("{kind}{}", list.len()));
        list.push(id);
        Ok(())
    }

    /// Sends an invitation of `kind` for object `target` to `person`'s address.
    async fn invite(
        &mut self,
        actor: usize,
        kind: InvitationKind,
        target: usize,
        person: usize,
        role: Role,
        apps: &[usize],
    ) -> Result<Outcome, String> {
        let email = &self.emails[person];
        let app_ids: Vec<&String> = apps.iter().map(|a| &self.apps[*a]).collect();
        let (mutation, input) = match kind {
            InvitationKind::Team => (
                "inviteToTeam",
                json!({ "teamId": self.teams[target], "email": email, "role": role.graphql(), "appIds": app_ids }),
            ),
            InvitationKind::App => (
                "inviteToApp",
                json!({ "appId": self.apps[target], "email": email }),
            ),
            InvitationKind::PaymentMethod => (
                "inviteToPaymentMethod",
                json!({ "paymentMethodId": self.pms[target], "email": email }),
            ),
            InvitationKind::TakeOverBilling => (
                "inviteToTakeOverBilling",
                json!({ "appIds": [self.apps[target]], "email": email }),
            ),
        };
        let (invited, body) = self.call(actor, mutation, input, "invitation { id }").await;
        if invited == Outcome::Ok {
            self.remember('I', &body["data"][mutation]["invitation"]["id"])?;
            self.invitation_kinds.push(kind);
        }
        Ok(invited)
    }

    /// Accepts invitation `i` by id; a TAKE_OVER_BILLING one onto payment method `pm`, or a
    /// new one when `pm` is None.
    async fn accept(
        &mut self,
        actor: usize,
        i: usize,
        pm: Option<usize>,
    ) -> Result<Outcome, String> {
        let mut input = json!({ "invitationId": self.invitations[i] });
        let take_over = self.invitation_kinds[i] == InvitationKind::TakeOverBilling;
        if take_over {
            match pm {
                Some(m) => input["paymentMethodId"] = json!(self.pms[m]),
                None => {
                    input["newPaymentMethod"] = json!({
                        "label": format!("pm {}", self.pms.len()),
                        "paymentType": "INVOICE",
                        "invoiceEmail": "takeover@model.example",
                        "invoiceAddress": "2 Model Street",
                    })
                }
            }
        }
        let (accepted, body) = self
            .call(
                actor,
                "acceptInvitation",
                input,
                "invitation { apps { paymentMethod { id } } }",
            )
            .await;
        if accepted == Outcome::Ok && take_over && pm.is_none() {
            let new =
                body["data"]["acceptInvitation"]["invitation"]["apps"][0]["paymentMethod"]["id"]
                    .clone();
            self.remember('M', &new)?;
        }
        Ok(accepted)
    }

    async fn revoke(&self, actor: usize, i: usize) -> Outcome {
        self.call(
            actor,
            "revokeInvitation",
            json!({ "invitationId": self.invitations[i] }),
            "clientMutationId",
        )
        .await
        .0
    }

    /// The global id of app `app`'s only environment, straight from the database.
    async fn environments_of(&self, app: &Value) -> Result<Value, String> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let (_, id) = app
            .as_str()
            .and_then(warren::api::relay::decode_global_id)
            .ok_or_else(|| format!("not an app id: {app}"))?;
        let environments = entity::environment::Entity::find()
            .filter(entity::environment::Column::AppId.eq(id))
            .all(&self.app.db.conn)
            .await
            .map_err(|e| e.to_string())?;
        match environments.as_slice() {
            [main] => Ok(json!(
                warren::api::relay::global_id(warren::api::relay::NodeKind::Environment, main.id).0
            )),
            other => Err(format!("a new app has {} environments", other.len())),
        }
    }

    /// Invites as `actor`, accepts as `person`, revokes if acceptance fails.
    async fn invite_and_accept(
        &mut self,
        actor: usize,
        kind: InvitationKind,
        target: usize,
        person: usize,
        role: Role,
    ) -> Result<Vec<Outcome>, String> {
        let invited = self.invite(actor, kind, target, person, role, &[]).await?;
        if invited != Outcome::Ok {
            return Ok(vec![invited]);
        }
        let i = self.invitations.len() - 1;
        let accepted = self.accept(person, i, None).await?;
        if accepted == Outcome::Ok {
            return Ok(vec![invited, accepted]);
        }
        Ok(vec![invited, accepted, self.revoke(actor, i).await])
    }

    async fn apply(&mut self, op: &Op) -> Result<Vec<Outcome>, String> {
        let one = |(outcome, _): (Outcome, Value)| vec![outcome];
        Ok(match *op {
            Op::CreateTeam { actor } => {
                let (outcome, body) = self
                    .call(actor, "createTeam", json!({ "name": format!("team {}", self.teams.len()) }), "team { id }")
                    .await;
                if outcome == Outcome::Ok {
                    self.remember('T', &body["data"]["createTeam"]["team"]["id"])?;
                }
                vec![outcome]
            }
            Op::AddMember { actor, team, person, role } => {
                self.invite_and_accept(actor, InvitationKind::Team, team, person, role).await?
            }
            Op::ChangeRole { actor, team, person, role } => one(
                self.call(actor, "changeTeamMemberRole", json!({ "teamId": self.teams[team], "personId": self.people[person], "role": role.graphql() }), "clientMutationId").await,
            ),
            Op::RemoveMember { actor, team, person } => one(
                self.call(actor, "removeTeamMember", json!({ "teamId": self.teams[team], "personId": self.people[person] }), "clientMutationId").await,
            ),
            Op::LeaveTeam { actor, team } => one(
                self.call(actor, "leaveTeam", json!({ "teamId": self.teams[team] }), "clientMutationId").await,
            ),
            Op::CreateApp { actor, team, pm } => {
                let mut input = json!({ "name": format!("app {}", self.apps.len()) });
                if let Some(t) = team {
                    input["teamId"] = json!(self.teams[t]);
                }
                if let Some(m) = pm {
                    input["paymentMethodId"] = json!(self.pms[m]);
                }
                let (outcome, body) = self
                    .call(actor, "createApp", input, "app { id environments { id } }")
                    .await;
                if outcome == Outcome::Ok {
                    let created = body["data"]["createApp"]["app"]["id"].clone();
                    self.remember('A', &created)?;
                    // A client creator does not see the app's environments: read the id of
                    // `main` from the database.
                    let main = self.environments_of(&created).await?;
                    self.remember('E', &main)?;
                }
                vec![outcome]
            }
            Op::AddAppToTeam { actor, app, team } => one(
                self.call(actor, "addAppToTeam", json!({ "appId": self.apps[app], "teamId": self.teams[team] }), "clientMutationId").await,
            ),
            Op::RemoveAppFromTeam { actor, app, team } => one(
                self.call(actor, "removeAppFromTeam", json!({ "appId": self.apps[app], "teamId": self.teams[team] }), "clientMutationId").await,
            ),
            Op::Subscribe { actor, app, team } => one(
                self.call(actor, "subscribeToApp", json!({ "appId": self.apps[app], "teamId": self.teams[team] }), "clientMutationId").await,
            ),
            Op::Unsubscribe { actor, app } => one(
                self.call(actor, "unsubscribeFromApp", json!({ "appId": self.apps[app] }), "clientMutationId").await,
            ),
            Op::Switch { actor, app, team } => one(
                self.call(actor, "switchDeveloperConnection", json!({ "appId": self.apps[app], "teamId": self.teams[team] }), "clientMutationId").await,
            ),
            Op::AddDeveloper { actor, app, person } => {
                self.invite_and_accept(actor, InvitationKind::App, app, person, Role::Limited).await?
            }
            Op::RemoveDeveloper { actor, app, person } => one(
                self.call(actor, "removeAppDeveloper", json!({ "appId": self.apps[app], "personId": self.people[person] }), "clientMutationId").await,
            ),
            Op::DeleteApp { actor, app } => one(
                self.call(actor, "deleteApp", json!({ "appId": self.apps[app] }), "clientMutationId").await,
            ),
            Op::CreatePaymentMethod { actor } => {
                let input = json!({
                    "label": format!("pm {}", self.pms.len()),
                    "paymentType": "CREDIT_CARD",
                    "invoiceEmail": "billing@model.example",
                    "invoiceAddress": "1 Model Street",
                });
                let (outcome, body) = self.call(actor, "createPaymentMethod", input, "paymentMethod { id }").await;
                if outcome == Outcome::Ok {
                    self.remember('M', &body["data"]["createPaymentMethod"]["paymentMethod"]["id"])?;
                }
                vec![outcome]
            }
            Op::AddBiller { actor, pm, person } => {
                self.invite_and_accept(actor, InvitationKind::PaymentMethod, pm, person, Role::Limited).await?
            }
            Op::Invite { actor, kind, target, person, role, ref apps } => {
                let apps = apps.clone().unwrap_or_default();
                vec![self.invite(actor, kind, target, person, role, &apps).await?]
            }
            Op::SetContacts { actor, app, people } => {
                let ids: Vec<&String> = (0..PEOPLE).filter(|p| people & (1 << p) != 0).map(|p| &self.people[p]).collect();
                one(self.call(actor, "setTechnicalContacts", json!({ "appId": self.apps[app], "personIds": ids }), "clientMutationId").await)
            }
            Op::CreateEnvironment { actor, app } => {
                let input = json!({ "appId": self.apps[app], "name": format!("env {}", self.environments.len()) });
                let (outcome, body) = self.call(actor, "createEnvironment", input, "environment { id }").await;
                if outcome == Outcome::Ok {
                    self.remember('E', &body["data"]["createEnvironment"]["environment"]["id"])?;
                }
                vec![outcome]
            }
            Op::DeleteEnvironment { actor, environment } => one(
                self.call(actor, "deleteEnvironment", json!({ "environmentId": self.environments[environment] }), "clientMutationId").await,
            ),
            Op::CancelAccount { actor } => one(self.call(actor, "cancelAccount", json!({}), "clientMutationId").await),
            Op::Accept { actor, invitation, pm } => vec![self.accept(actor, invitation, pm).await?],
            Op::Decline { actor, invitation } => one(
                self.call(actor, "declineInvitation", json!({ "invitationId": self.invitations[invitation] }), "clientMutationId").await,
            ),
            Op::Revoke { actor, invitation } => vec![self.revoke(actor, invitation).await],
            Op::ChangeAccountType { actor, client } => one(
                self.call(actor, "updateViewer", json!({ "accountType": if client { "CLIENT" } else { "DEVELOPER" } }), "clientMutationId").await,
            ),
            Op::RemoveBiller { actor, pm, person } => one(
                self.call(actor, "removePaymentMethodPerson", json!({ "paymentMethodId": self.pms[pm], "personId": self.people[person] }), "clientMutationId").await,
            ),
            Op::ConnectTeam { actor, team, pm } => one(
                self.call(actor, "connectTeamToPaymentMethod", json!({ "teamId": self.teams[team], "paymentMethodId": self.pms[pm] }), "clientMutationId").await,
            ),
            Op::DisconnectTeam { actor, team, pm } => one(
                self.call(actor, "disconnectTeamFromPaymentMethod", json!({ "teamId": self.teams[team], "paymentMethodId": self.pms[pm] }), "clientMutationId").await,
            ),
            Op::MoveApp { actor, app, pm } => one(
                self.call(actor, "changeAppPaymentMethod", json!({ "appId": self.apps[app], "paymentMethodId": self.pms[pm] }), "clientMutationId").await,
            ),
            Op::DeletePaymentMethod { actor, pm } => one(
                self.call(actor, "deletePaymentMethod", json!({ "paymentMethodId": self.pms[pm] }), "clientMutationId").await,
            ),
            Op::DeleteTeam { actor, team } => one(
                self.call(actor, "deleteTeam", json!({ "teamId": self.teams[team] }), "clientMutationId").await,
            ),
            Op::RequestAccess { actor, team, app, approver, deny } => {
                let (requested, body) = self
                    .call(actor, "requestAppAccess", json!({ "teamId": self.teams[team], "appId": self.apps[app] }), "accessRequest { id }")
                    .await;
                if requested != Outcome::Ok {
                    return Ok(vec![requested]);
                }
                let request = body["data"]["requestAppAccess"]["accessRequest"]["id"].clone();
                let decision = if deny { "denyAccessRequest" } else { "approveAccessRequest" };
                let (approved, _) = self
                    .call(approver, decision, json!({ "accessRequestId": request }), "clientMutationId")
                    .await;
                if approved == Outcome::Ok {
                    return Ok(vec![requested, approved]);
                }
                let (cancelled, _) = self
                    .call(actor, "cancelAccessRequest", json!({ "accessRequestId": request }), "clientMutationId")
                    .await;
                vec![requested, approved, cancelled]
            }
        })
    }

    fn label(&self, id: &Value) -> Result<String, String> {
        let id = id.as_str().ok_or_else(|| format!("not an id: {id}"))?;
        self.labels
            .get(id)
            .cloned()
            .ok_or_else(|| format!("an id this sequence never created: {id}"))
    }

    fn labels_of(&self, nodes: &Value) -> Result<BTreeSet<String>, String> {
        nodes
            .as_array()
            .ok_or_else(|| format!("not a list: {nodes}"))?
            .iter()
            .map(|n| self.label(&n["id"]))
            .collect()
    }

    fn optional_label(&self, node: &Value) -> Result<Option<String>, String> {
        if node.is_null() {
            Ok(None)
        } else {
            self.label(&node["id"]).map(Some)
        }
    }

    /// What `viewer` sees, read through GraphQL.
    async fn view(&self, viewer: usize) -> Result<View, String> {
        let ids: Vec<&String> = self
            .people
            .iter()
            .chain(&self.teams)
            .chain(&self.apps)
            .chain(&self.pms)
            .chain(&self.invitations)
            .chain(&self.environments)
            .collect();
        let (status, body) = self
            .app
            .graphql_raw(
                Some(&self.tokens[viewer]),
                VIEW_QUERY,
                json!({ "ids": ids }),
            )
            .await;
        if status == 401 && body["errors"][0]["extensions"]["code"] == json!("UNAUTHENTICATED") {
            return Ok(View {
                signed_out: true,
                ..View::default()
            });
        }
        if status != 200 || body.get("errors").is_some() {
            return Err(format!(
                "the view query of P{viewer} failed ({status}): {body}"
            ));
        }
        let data = &body["data"];
        let mut view = View::default();
        for edge in data["viewer"]["teams"]["edges"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let role = Role::parse(&edge["role"]).ok_or("a membership without a role")?;
            view.teams.insert(self.label(&edge["node"]["id"])?, role);
        }
        for edge in data["viewer"]["apps"]["edges"]
            .as_array()
            .into_iter()
            .flatten()
        {
            view.apps.insert(
                self.label(&edge["node"]["id"])?,
                self.optional_label(&edge["team"])?,
            );
        }
        view.pms = self.labels_of(&data["viewer"]["paymentMethods"]["nodes"])?;
        view.invitations = self.labels_of(&data["viewer"]["invitations"]["nodes"])?;
        for node in data["nodes"].as_array().into_iter().flatten() {
            if node.is_null() {
                continue;
            }
            let label = self.label(&node["id"])?;
            let seen = match node["__typename"].as_str() {
                Some("Person") => NodeView::Person,
                Some("Environment") => NodeView::Environment,
                Some("Invitation") => NodeView::Invitation(match node["state"].as_str() {
                    Some("PENDING") => "PENDING",
                    Some("ACCEPTED") => "ACCEPTED",
                    Some("DECLINED") => "DECLINED",
                    Some("REVOKED") => "REVOKED",
                    other => return Err(format!("unexpected invitation state {other:?}")),
                }),
                Some("Team") => NodeView::Team {
                    role: Role::parse(&node["viewerRole"]),
                    members: node["members"]["edges"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|e| {
                            Ok((
                                self.label(&e["node"]["id"])?,
                                Role::parse(&e["role"]).ok_or("no role")?,
                            ))
                        })
                        .collect::<Result<_, String>>()?,
                    apps: self.labels_of(&node["apps"]["nodes"])?,
                    pms: self.labels_of(&node["paymentMethods"]["nodes"])?,
                    impact: match &node["deletionImpact"] {
                        Value::Null => None,
                        impact => Some((
                            self.labels_of(&impact["apps"])?,
                            self.labels_of(&impact["paymentMethods"])?,
                        )),
                    },
                    invitations: self.labels_of(&node["invitations"]["nodes"])?,
                },
                Some("App") => NodeView::App {
                    access: (
                        node["viewerAccess"]["developer"] == json!(true),
                        node["viewerAccess"]["full"] == json!(true),
                        node["viewerAccess"]["billing"] == json!(true),
                    ),
                    trial: node["isTrial"] == json!(true),
                    pm: self.optional_label(&node["paymentMethod"])?,
                    developers: node["developers"]["edges"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|e| {
                            Ok((
                                self.label(&e["node"]["id"])?,
                                self.optional_label(&e["team"])?,
                            ))
                        })
                        .collect::<Result<_, String>>()?,
                    teams: self.labels_of(&node["teams"]["nodes"])?,
                    contacts: self.labels_of(&node["technicalContacts"])?,
                    invitations: self.labels_of(&node["invitations"]["nodes"])?,
                    environments: self.labels_of(&node["environments"])?,
                },
                Some("PaymentMethod") => NodeView::PaymentMethod {
                    apps: self.labels_of(&node["apps"]["nodes"])?,
                    people: self.labels_of(&node["people"]["nodes"])?,
                    teams: self.labels_of(&node["teams"]["nodes"])?,
                    invitations: self.labels_of(&node["invitations"]["nodes"])?,
                },
                other => return Err(format!("unexpected node type {other:?}")),
            };
            view.nodes.insert(label, seen);
        }
        Ok(view)
    }
}

// ---------------------------------------------------------------------------------------------
// Running sequences
// ---------------------------------------------------------------------------------------------

/// A step as it ran: the operation with its indices resolved to model labels.
struct Trace(Vec<String>);

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            writeln!(f, "  {:>2}. {step}", i + 1)?;
        }
        Ok(())
    }
}

/// Raw indices below this are taken modulo the number of objects (or people); from it up they
/// pick among the objects related to the operation (see `resolve`).
const PLAIN: usize = 6;

/// Picks object `raw`: modulo `n` below `PLAIN`, else among `related` (if any).
fn choose(raw: usize, n: usize, related: &[usize]) -> usize {
    if raw >= PLAIN && !related.is_empty() {
        related[raw % related.len()]
    } else {
        raw % n
    }
}

/// Resolves an op against what exists, so that sequences exercise insiders and related
/// objects as well as outsiders and unrelated ones:
/// - an op naming a kind of object the sequence has not created yet becomes its creation;
/// - the main object is taken modulo the number created (deleted ones included);
/// - actors 4..8 become "the n-th person who sees the main object";
/// - the other object or person, when its raw index is `PLAIN` or more, is one related to the
///   main object (an app of the team, a member, a payment method the actor bills...).
fn resolve(op: &Op, model: &Model) -> Op {
    let (nt, na, nm) = (model.teams.len(), model.apps.len(), model.pms.len());
    let mut op = op.clone();
    let actor = *actor_of(&mut op) % PEOPLE;
    let needs = match &op {
        Op::CreateTeam { .. } | Op::CreatePaymentMethod { .. } | Op::CreateApp { .. } => {
            (false, false, false)
        }
        Op::AddMember { .. }
        | Op::ChangeRole { .. }
        | Op::RemoveMember { .. }
        | Op::LeaveTeam { .. }
        | Op::DeleteTeam { .. } => (true, false, false),
        Op::AddAppToTeam { .. }
        | Op::RemoveAppFromTeam { .. }
        | Op::Subscribe { .. }
        | Op::Switch { .. }
        | Op::RequestAccess { .. } => (true, true, false),
        Op::Unsubscribe { .. }
        | Op::AddDeveloper { .. }
        | Op::RemoveDeveloper { .. }
        | Op::DeleteApp { .. } => (false, true, false),
        Op::AddBiller { .. } | Op::RemoveBiller { .. } | Op::DeletePaymentMethod { .. } => {
            (false, false, true)
        }
        Op::ConnectTeam { .. } | Op::DisconnectTeam { .. } => (true, false, true),
        Op::MoveApp { .. } => (false, true, true),
        Op::Invite { kind, .. } => match kind {
            InvitationKind::Team => (true, false, false),
            InvitationKind::App | InvitationKind::TakeOverBilling => (false, true, false),
            InvitationKind::PaymentMethod => (false, false, true),
        },
        Op::SetContacts { .. } | Op::CreateEnvironment { .. } => (false, true, false),
        Op::Accept { .. }
        | Op::Decline { .. }
        | Op::Revoke { .. }
        | Op::ChangeAccountType { .. }
        | Op::CancelAccount { .. }
        | Op::DeleteEnvironment { .. } => (false, false, false),
    };
    if needs.0 && nt == 0 {
        return Op::CreateTeam { actor };
    }
    if needs.1 && na == 0 {
        return Op::CreateApp {
            actor,
            team: None,
            pm: None,
        };
    }
    if needs.2 && nm == 0 {
        return Op::CreatePaymentMethod { actor };
    }
    let ne = model.environments.len();
    if ne == 0 && matches!(op, Op::DeleteEnvironment { .. }) {
        return Op::CreateApp {
            actor,
            team: None,
            pm: None,
        };
    }
    let ni = model.invitations.len();
    if ni == 0
        && matches!(
            op,
            Op::Accept { .. } | Op::Decline { .. } | Op::Revoke { .. }
        )
    {
        return Op::CreatePaymentMethod { actor };
    }
    let open: Vec<usize> = (0..ni)
        .filter(|i| model.invitations[*i].pending && !model.invitations[*i].gone)
        .collect();

    // The main object, and who sees it.
    let insiders: Vec<usize> = match &mut op {
        Op::CreateTeam { .. }
        | Op::CreatePaymentMethod { .. }
        | Op::ChangeAccountType { .. }
        | Op::CancelAccount { .. } => (0..PEOPLE).collect(),
        Op::SetContacts { app, .. } | Op::CreateEnvironment { app, .. } => {
            *app %= na;
            (0..PEOPLE).filter(|p| model.sees_app(*p, *app)).collect()
        }
        Op::DeleteEnvironment { environment, .. } => {
            // Related: the environments of apps that have another one.
            let live: Vec<usize> = (0..ne)
                .filter(|e| {
                    model.environments[*e].is_some_and(|app| {
                        model
                            .environments
                            .iter()
                            .filter(|a| **a == Some(app))
                            .count()
                            > 1
                    })
                })
                .collect();
            *environment = choose(*environment, ne, &live);
            match model.environments[*environment] {
                Some(app) => (0..PEOPLE).filter(|p| model.sees_app(*p, app)).collect(),
                None => (0..PEOPLE).collect(),
            }
        }
        Op::Invite { kind, target, .. } => match kind {
            InvitationKind::Team => {
                *target %= nt;
                (0..PEOPLE)
                    .filter(|p| model.role(*p, *target).is_some())
                    .collect()
            }
            InvitationKind::App | InvitationKind::TakeOverBilling => {
                *target %= na;
                (0..PEOPLE)
                    .filter(|p| model.sees_app(*p, *target))
                    .collect()
            }
            InvitationKind::PaymentMethod => {
                *target %= nm;
                (0..PEOPLE).filter(|p| model.bills(*p, *target)).collect()
            }
        },
        Op::Accept { invitation, .. } | Op::Decline { invitation, .. } => {
            *invitation = choose(*invitation, ni, &open);
            vec![model.invitations[*invitation].invitee]
        }
        Op::Revoke { invitation, .. } => {
            *invitation = choose(*invitation, ni, &open);
            vec![model.invitations[*invitation].inviter]
        }
        Op::CreateApp { team, .. } => match team.as_mut() {
            Some(t) if nt > 0 => {
                *t %= nt;
                (0..PEOPLE)
                    .filter(|p| model.role(*p, *t).is_some())
                    .collect()
            }
            _ => (0..PEOPLE).collect(),
        },
        Op::AddMember { team, .. }
        | Op::ChangeRole { team, .. }
        | Op::RemoveMember { team, .. }
        | Op::LeaveTeam { team, .. }
        | Op::DeleteTeam { team, .. }
        | Op::Subscribe { team, .. }
        | Op::Switch { team, .. }
        | Op::RemoveAppFromTeam { team, .. }
        | Op::ConnectTeam { team, .. }
        | Op::DisconnectTeam { team, .. } => {
            *team %= nt;
            (0..PEOPLE)
                .filter(|p| model.role(*p, *team).is_some())
                .collect()
        }
        // Access requests are for LIMITED members: pick one when there is one.
        Op::RequestAccess { team, .. } => {
            *team %= nt;
            let limited: Vec<usize> = (0..PEOPLE)
                .filter(|p| model.role(*p, *team) == Some(Role::Limited))
                .collect();
            if limited.is_empty() {
                (0..PEOPLE)
                    .filter(|p| model.role(*p, *team).is_some())
                    .collect()
            } else {
                limited
            }
        }
        Op::AddAppToTeam { app, .. }
        | Op::Unsubscribe { app, .. }
        | Op::AddDeveloper { app, .. }
        | Op::RemoveDeveloper { app, .. }
        | Op::DeleteApp { app, .. }
        | Op::MoveApp { app, .. } => {
            *app %= na;
            (0..PEOPLE).filter(|p| model.sees_app(*p, *app)).collect()
        }
        Op::AddBiller { pm, .. }
        | Op::RemoveBiller { pm, .. }
        | Op::DeletePaymentMethod { pm, .. } => {
            *pm %= nm;
            (0..PEOPLE).filter(|p| model.bills(*p, *pm)).collect()
        }
    };
    let pick = |k: usize| {
        if k < PEOPLE || insiders.is_empty() {
            k % PEOPLE
        } else {
            insiders[(k - PEOPLE) % insiders.len()]
        }
    };
    let actor = pick(*actor_of(&mut op));
    *actor_of(&mut op) = actor;

    // The other object or person.
    let members = |t: usize| -> Vec<usize> {
        (0..PEOPLE)
            .filter(|p| model.role(*p, t).is_some())
            .collect()
    };
    let team_apps = |t: usize| -> Vec<usize> {
        model
            .team(t)
            .map(|t| t.apps.iter().copied().collect())
            .unwrap_or_default()
    };
    let actor_teams: Vec<usize> = (0..nt)
        .filter(|t| model.role(actor, *t).is_some())
        .collect();
    let actor_pms: Vec<usize> = (0..nm).filter(|m| model.bills(actor, *m)).collect();
    let person = |raw: usize, related: Vec<usize>| {
        if raw >= PEOPLE && !related.is_empty() {
            related[raw % related.len()]
        } else {
            raw % PEOPLE
        }
    };
    match &mut op {
        Op::ChangeRole {
            team, person: p, ..
        }
        | Op::RemoveMember {
            team, person: p, ..
        } => {
            *p = person(*p, members(*team));
        }
        Op::Subscribe { team, app, .. }
        | Op::Switch { team, app, .. }
        | Op::RequestAccess { team, app, .. }
        | Op::RemoveAppFromTeam { team, app, .. } => {
            *app = choose(*app, na, &team_apps(*team));
        }
        Op::AddAppToTeam { team, .. } => *team = choose(*team, nt, &actor_teams),
        Op::CreateApp { team, pm, .. } => {
            if nt == 0 {
                *team = None;
            }
            if let Some(m) = pm.as_mut() {
                if nm == 0 {
                    *pm = None
                } else {
                    *m = choose(*m, nm, &actor_pms)
                }
            }
        }
        Op::RemoveDeveloper { app, person: p, .. } => {
            let developers = model
                .app(*app)
                .map(|a| a.connections.keys().copied().collect())
                .unwrap_or_default();
            *p = person(*p, developers);
        }
        Op::RemoveBiller { pm, person: p, .. } => {
            let people = model
                .pm(*pm)
                .map(|m| m.people.iter().copied().collect())
                .unwrap_or_default();
            *p = person(*p, people);
        }
        Op::ConnectTeam { pm, .. } | Op::MoveApp { pm, .. } => *pm = choose(*pm, nm, &actor_pms),
        Op::DisconnectTeam { team, pm, .. } => {
            let pms: Vec<usize> = model
                .team(*team)
                .map(|t| t.pms.iter().copied().collect())
                .unwrap_or_default();
            *pm = choose(*pm, nm, &pms);
        }
        Op::Accept { pm, .. } => {
            if let Some(m) = pm.as_mut() {
                if nm == 0 {
                    *pm = None
                } else {
                    *m = choose(*m, nm, &actor_pms)
                }
            }
        }
        Op::Invite {
            person: p,
            kind,
            target,
            apps,
            ..
        } => {
            *p %= PEOPLE;
            *apps = match (kind, apps.as_ref()) {
                (InvitationKind::Team, Some(_)) => Some(team_apps(*target)),
                _ => None,
            };
        }
        // Below 16 a plain bitmask of people (0: nobody); from 16 up, a choice among the
        // app's developers (at least one, if it has any).
        Op::SetContacts { app, people, .. } if *people >= 16 => {
            let developers: Vec<usize> = model
                .app(*app)
                .map(|a| a.connections.keys().copied().collect())
                .unwrap_or_default();
            let bits = *people - 16;
            let mut mask = developers
                .iter()
                .enumerate()
                .filter(|(n, _)| bits & (1 << n) != 0)
                .fold(0, |mask, (_, p)| mask | (1 << p));
            if mask == 0
                && let Some(first) = developers.first()
            {
                mask = 1 << first;
            }
            *people = mask;
        }
        Op::AddMember { person: p, .. }
        | Op::AddDeveloper { person: p, .. }
        | Op::AddBiller { person: p, .. } => {
            *p %= PEOPLE;
        }
        _ => {}
    }
    if let Op::RequestAccess { approver, team, .. } = &mut op {
        let team_members = members(*team);
        *approver = if *approver >= PEOPLE && !team_members.is_empty() {
            team_members[*approver % team_members.len()]
        } else {
            *approver % PEOPLE
        };
    }
    op
}

fn actor_of(op: &mut Op) -> &mut usize {
    match op {
        Op::CreateTeam { actor }
        | Op::AddMember { actor, .. }
        | Op::ChangeRole { actor, .. }
        | Op::RemoveMember { actor, .. }
        | Op::LeaveTeam { actor, .. }
        | Op::CreateApp { actor, .. }
        | Op::AddAppToTeam { actor, .. }
        | Op::RemoveAppFromTeam { actor, .. }
        | Op::Subscribe { actor, .. }
        | Op::Unsubscribe { actor, .. }
        | Op::Switch { actor, .. }
        | Op::AddDeveloper { actor, .. }
        | Op::RemoveDeveloper { actor, .. }
        | Op::DeleteApp { actor, .. }
        | Op::CreatePaymentMethod { actor }
        | Op::AddBiller { actor, .. }
        | Op::RemoveBiller { actor, .. }
        | Op::ConnectTeam { actor, .. }
        | Op::DisconnectTeam { actor, .. }
        | Op::MoveApp { actor, .. }
        | Op::DeletePaymentMethod { actor, .. }
        | Op::DeleteTeam { actor, .. }
        | Op::RequestAccess { actor, .. }
        | Op::Invite { actor, .. }
        | Op::Accept { actor, .. }
        | Op::Decline { actor, .. }
        | Op::Revoke { actor, .. }
        | Op::ChangeAccountType { actor, .. }
        | Op::SetContacts { actor, .. }
        | Op::CreateEnvironment { actor, .. }
        | Op::DeleteEnvironment { actor, .. }
        | Op::CancelAccount { actor } => actor,
    }
}

/// Who performs `op`.
fn actor(op: &Op) -> usize {
    let mut op = op.clone();
    *actor_of(&mut op)
}

/// Proptest shrinks the values of a fixed-length sequence; this drops the steps the failure
/// does not need, one at a time, and returns the shortest failing sequence with its report.
async fn minimize(app: &TestApp, mut ops: Vec<Step>) -> (Vec<Step>, String) {
    let mut tally = Tally::default();
    let mut reason = match run_sequence(app, &ops, &mut tally).await {
        Err(reason) => reason,
        Ok(()) => return (ops, "the failure did not happen again (a race?)".to_owned()),
    };
    let mut i = 0;
    while i < ops.len() {
        let mut fewer = ops.clone();
        fewer.remove(i);
        match run_sequence(app, &fewer, &mut tally).await {
            Err(shorter) => {
                ops = fewer;
                reason = shorter;
            }
            Ok(()) => i += 1,
        }
    }
    (ops, reason)
}

/// How much of a run did something: steps taken, and mutation calls by outcome.
#[derive(Debug, Default)]
struct Tally {
    steps: usize,
    calls: BTreeMap<String, usize>,
}

/// One step: an operation, and whether its first mutation is made to fail just before commit
/// (the `fault-injection` feature; `cargo test --all-features` has it). A failing mutation must
/// change nothing, so the model stays as it was and every view must agree with that.
type Step = (Op, bool);

fn step_strategy() -> impl Strategy<Value = Step> {
    (op_strategy(), proptest::bool::weighted(0.08))
}

async fn run_sequence(app: &TestApp, steps: &[Step], tally: &mut Tally) -> Result<(), String> {
    let mut service = Service::new(app).await;
    let mut model = Model::default();
    let mut trace = Trace(Vec::new());
    let mut events = 0;
    for (op, fault) in steps {
        let op = resolve(op, &model);
        let fault = *fault && cfg!(feature = "fault-injection");
        // An account type "change" to the type it has is a success that changes nothing.
        let no_op =
            matches!(op, Op::ChangeAccountType { actor, client } if model.clients[actor] == client);
        let expected = if fault {
            model.apply_failing(&op)
        } else {
            model.apply(&op)
        };
        if fault {
            service.arm_fault(actor(&op), true);
        }
        let actual = service.apply(&op).await;
        if fault {
            service.arm_fault(actor(&op), false);
        }
        let actual = actual.map_err(|e| format!("step {op:?}: {e}\nsteps before:\n{trace}"))?;
        let faulty = if fault {
            " (failing before commit)"
        } else {
            ""
        };
        trace.0.push(format!("{op:?}{faulty} -> {actual:?}"));
        tally.steps += 1;
        for outcome in &actual {
            *tally.calls.entry(format!("{outcome:?}")).or_default() += 1;
            if std::env::var_os("MODEL_TALLY").is_some() {
                let name = format!("{op:?}");
                let name = name
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                *tally
                    .calls
                    .entry(format!("{name}:{outcome:?}"))
                    .or_default() += 1;
            }
        }
        if actual != expected {
            return Err(format!(
                "step {} answered {actual:?}, the model expects {expected:?}\nsteps:\n{trace}",
                trace.0.len()
            ));
        }
        // Every successful mutation writes at least one event; a refused or failed one none.
        let written = service.events_written().await?;
        let successes = actual
            .iter()
            .filter(|o| **o == Outcome::Ok)
            .count()
            .saturating_sub(usize::from(no_op));
        let new_events = usize::try_from(written - events).unwrap_or_default();
        if (successes == 0 && new_events != 0) || new_events < successes {
            return Err(format!(
                "step {} had {successes} successful mutation(s) but wrote {new_events} event(s)\nsteps:\n{trace}",
                trace.0.len()
            ));
        }
        events = written;
        for viewer in 0..PEOPLE {
            let seen = service.view(viewer).await?;
            let expected = model.view(viewer);
            if seen != expected {
                return Err(format!(
                    "after step {}, P{viewer} sees what the model does not:\n{}steps:\n{trace}",
                    trace.0.len(),
                    seen.difference(&expected)
                ));
            }
        }
    }
    if std::env::var_os("MODEL_TRACE").is_some() {
        eprintln!("sequence:\n{trace}");
    }
    Ok(())
}

fn run(backend: Backend, cases: u32) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let Some(app) = runtime.block_on(TestApp::spawn(backend)) else {
        eprintln!("skipped: WARREN_TEST_POSTGRES_URL is not set");
        return;
    };
    let seed: u64 = std::env::var("MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand_seed);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 400,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let strategy = proptest::collection::vec(step_strategy(), STEPS);
    let tally = std::sync::Mutex::new(Tally::default());
    let result = runner.run(&strategy, |ops| {
        let mut tally = tally
            .lock()
            .map_err(|_| TestCaseError::fail("tally poisoned"))?;
        runtime
            .block_on(run_sequence(&app, &ops, &mut tally))
            .map_err(TestCaseError::fail)
    });
    let tally = tally.into_inner().unwrap_or_default();
    match result {
        Ok(()) => {
            runtime.block_on(app.assert_subjects_repeat_their_events());
            eprintln!(
                "{cases} sequences agreed with the model ({backend:?}, MODEL_SEED={seed}): {} steps, calls {:?}",
                tally.steps, tally.calls
            )
        }
        Err(TestError::Fail(_, ops)) => {
            let (ops, reason) = runtime.block_on(minimize(&app, ops));
            panic!(
                "the service disagrees with the model ({backend:?}, MODEL_SEED={seed}).\n{reason}\nshrunk sequence ({} steps, before resolution):\n{ops:?}",
                ops.len()
            )
        }
        Err(error) => panic!("{error} (MODEL_SEED={seed})"),
    }
}

/// A seed from the clock, printed with any failure so the run can be replayed.
fn rand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
}
