//! Who may do what, actor by actor (docs/rules.md, "Connections", "Team roles", "Account types",
//! "What each person may see" and "What an error looks like").
//!
//! Each rule is a row of a table: one operation on one object, and the outcome docs/rules.md expects
//! for each of six actors — the owner, another UNLIMITED member, a LIMITED member, a direct
//! developer, a billing-only client and an outsider. An object outside the actor's reach must be
//! NOT_FOUND, one it sees but may not touch FORBIDDEN, one whose state forbids it CONFLICT, and
//! an allowed operation must succeed. Reads are a table too: what `node(id:)` and the gated
//! fields show each actor, never an error. Where docs/rules.md is silent the rows follow the README
//! ("Decisions where the domain text is silent") and the code.
//!
//! The world every case starts from (written straight into the tables, see `build`):
//! - team "Crew": the owner and UNLIMITED (UNLIMITED), LIMITED and a rookie (LIMITED); a pending
//!   TEAM invitation; the rookie's pending access request for "tool";
//! - payment method "Acme": billed directly by the owner, the client and a treasurer (a client);
//!   "Other": billed by the owner and the client; "Crew card": billed through Crew only;
//! - app "shop" on Acme, in Crew, with environments main and staging: the owner and the direct
//!   developer connected directly, UNLIMITED and LIMITED (with a grant) through Crew, and a
//!   helper developer connected directly;
//! - trial app "trial" in Crew with the same developers but the helper;
//! - trial apps "tool" (no developers) and "granted" (LIMITED holds a grant, the helper works on
//!   it directly) in Crew; app "site" on Acme with no developers and no team.
//!
//! Every mutation that is expected to succeed runs in a world of its own; refusals share one,
//! since a failed mutation changes nothing (and the shared world is rebuilt if one does not fail).

use std::fmt;

use crate::common::TestApp;
use entity::enums::{AccountType, InvitationKind, PaymentType, TeamRole, TokenScope};
use sea_orm::{ConnectionTrait, DbErr};
use serde_json::{Value, json};
use uuid::Uuid;
use warren::api::relay::{NodeKind, global_id};
use warren::seed::world::{Clock, World};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Actor {
    Owner,
    Unlimited,
    Limited,
    Direct,
    Client,
    Outsider,
}

/// The columns of every table, in this order.
const ACTORS: [Actor; 6] = [
    Actor::Owner,
    Actor::Unlimited,
    Actor::Limited,
    Actor::Direct,
    Actor::Client,
    Actor::Outsider,
];

impl Actor {
    fn index(self) -> usize {
        self as usize
    }

    /// The local part of the actor's e-mail address.
    fn mailbox(self) -> &'static str {
        match self {
            Actor::Owner => "owner",
            Actor::Unlimited => "unlimited",
            Actor::Limited => "limited",
            Actor::Direct => "direct",
            Actor::Client => "client",
            Actor::Outsider => "outsider",
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Actor::Owner => "owner",
            Actor::Unlimited => "UNLIMITED member",
            Actor::Limited => "LIMITED member",
            Actor::Direct => "direct developer",
            Actor::Client => "billing-only client",
            Actor::Outsider => "outsider",
        })
    }
}

/// The error code a case must end with; `None` is success.
type Outcome = Option<&'static str>;

const OK: Outcome = None;
const NOT_FOUND: Outcome = Some("NOT_FOUND");
const FORBIDDEN: Outcome = Some("FORBIDDEN");
const CONFLICT: Outcome = Some("CONFLICT");

/// What a case adds to the base world before it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setup {
    Base,
    /// A team "Annex" with the helper as UNLIMITED member, which the actor joins with this role
    /// (a client cannot be a member, so it stays outside).
    Annex(TeamRole),
    /// The same annex, holding the shop too.
    AnnexWithShop(TeamRole),
    /// Crew connected to the payment method Other as well.
    CrewBillsOther,
    /// A pending access request of the LIMITED member for "tool".
    OwnRequest,
    /// A pending invitation from the owner to the actor's address: to Crew as LIMITED, to the
    /// shop, or to the Crew card.
    Invited(InvitationKind),
}

/// The ids of one world.
struct Fixture {
    n: u64,
    tokens: Vec<String>,
    rookie: Uuid,
    helper: Uuid,
    treasurer: Uuid,
    crew: Uuid,
    annex: Option<Uuid>,
    acme: Uuid,
    other: Uuid,
    card: Uuid,
    shop: Uuid,
    staging: Uuid,
    trial: Uuid,
    tool: Uuid,
    granted: Uuid,
    site: Uuid,
    rookie_request: Uuid,
    team_invitation: Uuid,
    app_invitation: Uuid,
    own_request: Option<Uuid>,
    invitation: Option<Uuid>,
}

fn gid(kind: NodeKind, id: Uuid) -> String {
    global_id(kind, id).0
}

impl Fixture {
    fn token(&self, actor: Actor) -> &str {
        &self.tokens[actor.index()]
    }

    /// An address of this world, so that invitations of different worlds never meet.
    fn email(&self, mailbox: &str) -> String {
        world_email(mailbox, self.n)
    }

    fn app(&self, id: Uuid) -> String {
        gid(NodeKind::App, id)
    }

    fn team(&self, id: Uuid) -> String {
        gid(NodeKind::Team, id)
    }

    fn pm(&self, id: Uuid) -> String {
        gid(NodeKind::PaymentMethod, id)
    }

    fn person(&self, id: Uuid) -> String {
        gid(NodeKind::Person, id)
    }

    fn annex(&self) -> String {
        self.team(self.annex.expect("the row sets up an annex"))
    }
}

fn world_email(mailbox: &str, n: u64) -> String {
    format!("{mailbox}-{n}@actors.example")
}

fn token_error(err: warren::error::ApiError) -> DbErr {
    DbErr::Custom(err.message())
}

async fn build<C: ConnectionTrait>(
    w: &mut World<'_, C>,
    n: u64,
    setup: Setup,
    actor: Actor,
) -> Result<Fixture, DbErr> {
    let email = |mailbox: &str| world_email(mailbox, n);
    let dev = AccountType::Developer;
    let owner = w.person("Olga Owner", &email("owner"), dev).await?;
    let unlimited = w.person("Ulla Unlimited", &email("unlimited"), dev).await?;
    let limited = w.person("Lars Limited", &email("limited"), dev).await?;
    let direct = w.person("Dora Direct", &email("direct"), dev).await?;
    let client = w
        .person("Carl Client", &email("client"), AccountType::Client)
        .await?;
    let outsider = w.person("Otto Outsider", &email("outsider"), dev).await?;
    let rookie = w.person("Rita Rookie", &email("rookie"), dev).await?;
    let helper = w.person("Hugo Helper", &email("helper"), dev).await?;
    let treasurer = w
        .person("Tess Treasurer", &email("treasurer"), AccountType::Client)
        .await?;
    let actors = [owner, unlimited, limited, direct, client, outsider];
    let mut tokens = Vec::new();
    for person in actors {
        tokens.push(
            w.token(person, TokenScope::Write)
                .await
                .map_err(token_error)?,
        );
    }

    let crew = w.team("Crew").await?;
    w.member(crew, owner, TeamRole::Unlimited).await?;
    w.member(crew, unlimited, TeamRole::Unlimited).await?;
    w.member(crew, limited, TeamRole::Limited).await?;
    w.member(crew, rookie, TeamRole::Limited).await?;

    let acme = w
        .payment_method("Acme", PaymentType::Invoice, "books@acme.example")
        .await?;
    for person in [owner, client, treasurer] {
        w.bill(acme, person).await?;
    }
    let other = w
        .payment_method("Other", PaymentType::CreditCard, "books@other.example")
        .await?;
    for person in [owner, client] {
        w.bill(other, person).await?;
    }
    let card = w
        .payment_method("Crew card", PaymentType::CreditCard, "crew@card.example")
        .await?;
    w.bill_team(card, crew).await?;

    let shop = w.app("shop", Some(acme)).await?;
    let staging = w.environment(shop, "staging").await?;
    let trial = w.app("trial", None).await?;
    for app in [shop, trial] {
        w.team_app(crew, app).await?;
        w.connect(owner, app, None).await?;
        w.contact(app, owner).await?;
        w.connect(unlimited, app, Some(crew)).await?;
        w.grant(crew, app, limited).await?;
        w.connect(limited, app, Some(crew)).await?;
        w.connect(direct, app, None).await?;
    }
    w.connect(helper, shop, None).await?;

    let tool = w.app("tool", None).await?;
    w.team_app(crew, tool).await?;
    let rookie_request = w.access_request(crew, tool, rookie).await?;
    let granted = w.app("granted", None).await?;
    w.team_app(crew, granted).await?;
    w.grant(crew, granted, limited).await?;
    w.connect(helper, granted, None).await?;
    w.contact(granted, helper).await?;
    let site = w.app("site", Some(acme)).await?;
    let team_invitation = w
        .invitation(
            InvitationKind::Team,
            &email("newcomer"),
            owner,
            Some(crew),
            Some(TeamRole::Limited),
            &[],
        )
        .await?;
    let app_invitation = w
        .invitation(
            InvitationKind::App,
            &email("candidate"),
            owner,
            Some(shop),
            None,
            &[],
        )
        .await?;

    let person = actors[actor.index()];
    let mut fixture = Fixture {
        n,
        tokens,
        rookie,
        helper,
        treasurer,
        crew,
        annex: None,
        acme,
        other,
        card,
        shop,
        staging,
        trial,
        tool,
        granted,
        site,
        rookie_request,
        team_invitation,
        app_invitation,
        own_request: None,
        invitation: None,
    };
    match setup {
        Setup::Base => {}
        Setup::Annex(role) | Setup::AnnexWithShop(role) => {
            let annex = w.team("Annex").await?;
            w.member(annex, helper, TeamRole::Unlimited).await?;
            if actor != Actor::Client {
                w.member(annex, person, role).await?;
            }
            if matches!(setup, Setup::AnnexWithShop(_)) {
                w.team_app(annex, shop).await?;
            }
            fixture.annex = Some(annex);
        }
        Setup::CrewBillsOther => w.bill_team(other, crew).await?,
        Setup::OwnRequest => {
            fixture.own_request = Some(w.access_request(crew, tool, limited).await?);
        }
        Setup::Invited(kind) => {
            let (target, role) = match kind {
                InvitationKind::Team => (crew, Some(TeamRole::Limited)),
                InvitationKind::App => (shop, None),
                InvitationKind::PaymentMethod => (card, None),
                InvitationKind::TakeOverBilling => {
                    return Err(DbErr::Custom("no take-over setup".to_owned()));
                }
            };
            fixture.invitation = Some(
                w.invitation(
                    kind,
                    &email(actor.mailbox()),
                    owner,
                    Some(target),
                    role,
                    &[],
                )
                .await?,
            );
        }
    }
    Ok(fixture)
}

/// Builds worlds in one database, one transaction each, with one clock so ids never repeat.
struct Harness<'a> {
    app: &'a TestApp,
    clock: Clock,
    worlds: u64,
}

impl<'a> Harness<'a> {
    fn new(app: &'a TestApp) -> Self {
        Harness {
            app,
            clock: Clock::now(),
            worlds: 0,
        }
    }

    async fn world(&mut self, setup: Setup, actor: Actor) -> Fixture {
        self.worlds += 1;
        let txn = warren::rules::change::begin_write(&self.app.db)
            .await
            .map_err(|e| e.message())
            .expect("begin a transaction for the world");
        let mut world = World::new(&txn, std::mem::replace(&mut self.clock, Clock::now()));
        let fixture = build(&mut world, self.worlds, setup, actor)
            .await
            .expect("write the world");
        self.clock = world.clock;
        txn.commit().await.expect("commit the world");
        fixture
    }
}

/// One operation on one object, with the outcome expected for each actor (in `ACTORS` order).
struct Row {
    mutation: &'static str,
    target: &'static str,
    setup: Setup,
    input: fn(&Fixture) -> Value,
    expect: [Outcome; 6],
}

fn row(
    mutation: &'static str,
    target: &'static str,
    input: fn(&Fixture) -> Value,
    expect: [Outcome; 6],
) -> Row {
    Row {
        mutation,
        target,
        setup: Setup::Base,
        input,
        expect,
    }
}

impl Row {
    fn after(self, setup: Setup) -> Row {
        Row { setup, ..self }
    }
}

/// The first error code, or `NO_CODE` for an error without one (a malformed document must never
/// pass for a success); `None` when the mutation succeeded.
fn outcome_of(body: &Value) -> Option<String> {
    let error = body.get("errors")?.get(0)?;
    Some(
        error["extensions"]["code"]
            .as_str()
            .unwrap_or("NO_CODE")
            .to_owned(),
    )
}

fn describe(outcome: Option<&str>) -> &str {
    outcome.unwrap_or("success")
}

/// Runs every case of `rows` and reports all disagreements at once.
async fn check(app: &TestApp, rows: &[Row]) {
    let mut harness = Harness::new(app);
    let mut shared: Option<Fixture> = None;
    let mut failures = Vec::new();
    let mut cases = 0;
    for row in rows {
        for (actor, expected) in ACTORS.into_iter().zip(row.expect) {
            cases += 1;
            let reuse = row.setup == Setup::Base && expected.is_some();
            let own;
            let fixture = if reuse {
                if shared.is_none() {
                    shared = Some(harness.world(Setup::Base, actor).await);
                }
                shared.as_ref().expect("the shared world")
            } else {
                own = harness.world(row.setup, actor).await;
                &own
            };
            let input = (row.input)(fixture);
            let (body, _) = app
                .mutate(
                    fixture.token(actor),
                    row.mutation,
                    input,
                    "clientMutationId",
                )
                .await;
            let actual = outcome_of(&body);
            if actual.as_deref() != expected {
                failures.push(format!(
                    "{actor} × {} on {}: expected {}, got {} ({})",
                    row.mutation,
                    row.target,
                    describe(expected),
                    describe(actual.as_deref()),
                    body["errors"][0]["message"]
                        .as_str()
                        .unwrap_or("no message"),
                ));
            }
            if reuse && actual.is_none() {
                // A refusal that went through changed the shared world: start the next from scratch.
                shared = None;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases disagree with docs/rules.md:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Technical rights (any developer connection), full rights (a direct connection or one
/// through a team where the actor is UNLIMITED) and the billing side of app rights.
fn app_rights() -> Vec<Row> {
    let tech_on_shop = [OK, OK, OK, OK, FORBIDDEN, NOT_FOUND];
    // Environments are internals: a billing-only client does not see them at all.
    let env_on_shop = [OK, OK, OK, OK, NOT_FOUND, NOT_FOUND];
    let full_or_billing = [OK, OK, FORBIDDEN, OK, OK, NOT_FOUND];
    let full_on_trial = [OK, OK, FORBIDDEN, OK, NOT_FOUND, NOT_FOUND];
    vec![
        row(
            "updateApp",
            "the shop",
            |f| json!({ "appId": f.app(f.shop), "name": "shop-2" }),
            tech_on_shop,
        ),
        row(
            "updateApp",
            "the trial app",
            |f| json!({ "appId": f.app(f.trial), "description": "beta" }),
            [OK, OK, OK, OK, NOT_FOUND, NOT_FOUND],
        ),
        row(
            "createEnvironment",
            "the shop",
            |f| json!({ "appId": f.app(f.shop), "name": "preview" }),
            tech_on_shop,
        ),
        row(
            "renameEnvironment",
            "the shop's staging",
            |f| json!({ "environmentId": gid(NodeKind::Environment, f.staging), "name": "qa" }),
            env_on_shop,
        ),
        row(
            "deleteEnvironment",
            "the shop's staging",
            |f| json!({ "environmentId": gid(NodeKind::Environment, f.staging) }),
            env_on_shop,
        ),
        // Membership is not a connection: UNLIMITED members see inside a team app but change
        // it only once subscribed, LIMITED ones see its basics.
        row(
            "updateApp",
            "the tool (a Crew app nobody works on)",
            |f| json!({ "appId": f.app(f.tool), "name": "tool-2" }),
            [
                FORBIDDEN, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND,
            ],
        ),
        row(
            "createEnvironment",
            "the tool (a Crew app nobody works on)",
            |f| json!({ "appId": f.app(f.tool), "name": "preview" }),
            [
                FORBIDDEN, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND,
            ],
        ),
        row(
            "deleteApp",
            "the tool (a Crew app nobody works on)",
            |f| json!({ "appId": f.app(f.tool) }),
            [
                FORBIDDEN, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND,
            ],
        ),
        // Without a connection there is nothing to end: the state, not a right, is in the way.
        row(
            "unsubscribeFromApp",
            "the shop",
            |f| json!({ "appId": f.app(f.shop) }),
            [OK, OK, OK, OK, CONFLICT, NOT_FOUND],
        ),
        row(
            "deleteApp",
            "the shop",
            |f| json!({ "appId": f.app(f.shop) }),
            full_or_billing,
        ),
        row(
            "deleteApp",
            "the trial app",
            |f| json!({ "appId": f.app(f.trial) }),
            full_on_trial,
        ),
        row(
            "inviteToApp",
            "the shop",
            |f| json!({ "appId": f.app(f.shop), "email": f.email("invitee") }),
            full_or_billing,
        ),
        row(
            "removeAppDeveloper",
            "the shop (the helper)",
            |f| json!({ "appId": f.app(f.shop), "personId": f.person(f.helper) }),
            full_or_billing,
        ),
        row(
            "setTechnicalContacts",
            "the shop (the helper)",
            |f| json!({ "appId": f.app(f.shop), "personIds": [f.person(f.helper)] }),
            [OK, OK, FORBIDDEN, OK, FORBIDDEN, NOT_FOUND],
        ),
        row(
            "removeAppFromTeam",
            "the shop from Crew",
            |f| json!({ "appId": f.app(f.shop), "teamId": f.team(f.crew) }),
            full_or_billing,
        ),
        // Revoking is for those who may send: LIMITED does not even see the invitation.
        row(
            "revokeInvitation",
            "the pending APP invitation to the shop",
            |f| json!({ "invitationId": gid(NodeKind::Invitation, f.app_invitation) }),
            [OK, OK, NOT_FOUND, OK, OK, NOT_FOUND],
        ),
        // Joining Annex makes even the outsider see the shop; without a connection there is
        // nothing to move, and switching never creates one.
        row(
            "switchDeveloperConnection",
            "the shop to Annex (the actor UNLIMITED there)",
            |f| json!({ "appId": f.app(f.shop), "teamId": f.annex() }),
            [OK, OK, OK, OK, CONFLICT, CONFLICT],
        )
        .after(Setup::AnnexWithShop(TeamRole::Unlimited)),
        row(
            "switchDeveloperConnection",
            "the shop to Annex (the actor LIMITED there, no grant)",
            |f| json!({ "appId": f.app(f.shop), "teamId": f.annex() }),
            [
                FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, CONFLICT, CONFLICT,
            ],
        )
        .after(Setup::AnnexWithShop(TeamRole::Limited)),
        row(
            "inviteToTakeOverBilling",
            "the trial app",
            |f| json!({ "appIds": [f.app(f.trial)], "email": f.email("taker") }),
            full_on_trial,
        ),
        row(
            "inviteToTakeOverBilling",
            "the shop (billed)",
            |f| json!({ "appIds": [f.app(f.shop)], "email": f.email("taker") }),
            [OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, NOT_FOUND],
        ),
    ]
}

/// Billing access: directly, or through a team for its UNLIMITED members only. A payment
/// method is visible only with billing access, so everyone else gets NOT_FOUND.
fn billing_rights() -> Vec<Row> {
    let billers_of_acme = [OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK, NOT_FOUND];
    let billers_of_card = [OK, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND];
    vec![
        row(
            "updatePaymentMethod",
            "Acme",
            |f| json!({ "paymentMethodId": f.pm(f.acme), "label": "Acme GmbH" }),
            billers_of_acme,
        ),
        row(
            "inviteToPaymentMethod",
            "Acme",
            |f| json!({ "paymentMethodId": f.pm(f.acme), "email": f.email("payer") }),
            billers_of_acme,
        ),
        row(
            "removePaymentMethodPerson",
            "Acme (the treasurer)",
            |f| json!({ "paymentMethodId": f.pm(f.acme), "personId": f.person(f.treasurer) }),
            billers_of_acme,
        ),
        row(
            "createApp",
            "Acme",
            |f| json!({ "name": "billed", "paymentMethodId": f.pm(f.acme) }),
            billers_of_acme,
        ),
        row(
            "deleteApp",
            "the site (billed, no developers)",
            |f| json!({ "appId": f.app(f.site) }),
            billers_of_acme,
        ),
        row(
            "changeAppPaymentMethod",
            "the shop to Other",
            |f| json!({ "appId": f.app(f.shop), "paymentMethodId": f.pm(f.other) }),
            [OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, NOT_FOUND],
        ),
        // A full connection moves a trial app, but only to a payment method the actor bills to.
        row(
            "changeAppPaymentMethod",
            "the trial app to Other",
            |f| json!({ "appId": f.app(f.trial), "paymentMethodId": f.pm(f.other) }),
            [OK, NOT_FOUND, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND],
        ),
        row(
            "deletePaymentMethod",
            "Acme",
            |f| json!({ "paymentMethodId": f.pm(f.acme) }),
            billers_of_acme,
        ),
        row(
            "updatePaymentMethod",
            "the Crew card (billed through Crew)",
            |f| json!({ "paymentMethodId": f.pm(f.card), "vatId": "DE123456789" }),
            billers_of_card,
        ),
        row(
            "createApp",
            "the Crew card (billed through Crew)",
            |f| json!({ "name": "crew-billed", "paymentMethodId": f.pm(f.card) }),
            billers_of_card,
        ),
        // Either side may undo a link: here a client with billing access, or Crew's UNLIMITED
        // members (who bill Other through Crew anyway).
        row(
            "disconnectTeamFromPaymentMethod",
            "Crew from Other",
            |f| json!({ "paymentMethodId": f.pm(f.other), "teamId": f.team(f.crew) }),
            [OK, OK, NOT_FOUND, NOT_FOUND, OK, NOT_FOUND],
        )
        .after(Setup::CrewBillsOther),
        // Crew is the card's only billing path.
        row(
            "disconnectTeamFromPaymentMethod",
            "Crew from the Crew card",
            |f| json!({ "paymentMethodId": f.pm(f.card), "teamId": f.team(f.crew) }),
            [
                CONFLICT, CONFLICT, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND,
            ],
        ),
    ]
}

/// Team roles: UNLIMITED does everything on the team, LIMITED sees it, subscribes with a grant
/// and asks for the rest; linking an app or a payment method needs both sides.
fn team_roles() -> Vec<Row> {
    // People who share an app with Crew see it by name, so they are refused, not kept in the dark.
    let unlimited_only = [OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, NOT_FOUND];
    let decide_rookie = [OK, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND];
    vec![
        row(
            "renameTeam",
            "Crew",
            |f| json!({ "teamId": f.team(f.crew), "name": "Crew 2" }),
            unlimited_only,
        ),
        row(
            "inviteToTeam",
            "Crew (as LIMITED)",
            |f| json!({ "teamId": f.team(f.crew), "email": f.email("joiner"), "role": "LIMITED" }),
            unlimited_only,
        ),
        row(
            "inviteToTeam",
            "Crew (as UNLIMITED)",
            |f| json!({ "teamId": f.team(f.crew), "email": f.email("joiner"), "role": "UNLIMITED" }),
            unlimited_only,
        ),
        row(
            "changeTeamMemberRole",
            "Crew (the rookie to UNLIMITED)",
            |f| json!({ "teamId": f.team(f.crew), "personId": f.person(f.rookie), "role": "UNLIMITED" }),
            unlimited_only,
        ),
        row(
            "removeTeamMember",
            "Crew (the rookie)",
            |f| json!({ "teamId": f.team(f.crew), "personId": f.person(f.rookie) }),
            unlimited_only,
        ),
        row(
            "revokeInvitation",
            "the pending TEAM invitation to Crew",
            |f| json!({ "invitationId": gid(NodeKind::Invitation, f.team_invitation) }),
            [OK, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND],
        ),
        row(
            "deleteTeam",
            "Crew",
            |f| json!({ "teamId": f.team(f.crew) }),
            unlimited_only,
        ),
        // Leaving is for members; the owner may go since UNLIMITED stays.
        row(
            "leaveTeam",
            "Crew",
            |f| json!({ "teamId": f.team(f.crew) }),
            [OK, OK, OK, CONFLICT, CONFLICT, NOT_FOUND],
        ),
        row(
            "addAppToTeam",
            "the site (billing access only) to Crew",
            |f| json!({ "appId": f.app(f.site), "teamId": f.team(f.crew) }),
            [OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, FORBIDDEN, NOT_FOUND],
        ),
        row(
            "addAppToTeam",
            "the shop to Annex (the actor UNLIMITED there)",
            |f| json!({ "appId": f.app(f.shop), "teamId": f.annex() }),
            [OK, OK, FORBIDDEN, OK, NOT_FOUND, NOT_FOUND],
        )
        .after(Setup::Annex(TeamRole::Unlimited)),
        row(
            "addAppToTeam",
            "the shop to Annex (the actor LIMITED there)",
            |f| json!({ "appId": f.app(f.shop), "teamId": f.annex() }),
            [FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND],
        )
        .after(Setup::Annex(TeamRole::Limited)),
        row(
            "removeAppFromTeam",
            "the tool from Crew (team side)",
            |f| json!({ "appId": f.app(f.tool), "teamId": f.team(f.crew) }),
            [OK, OK, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND],
        ),
        row(
            "connectTeamToPaymentMethod",
            "Crew to Acme",
            |f| json!({ "paymentMethodId": f.pm(f.acme), "teamId": f.team(f.crew) }),
            [OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, FORBIDDEN, NOT_FOUND],
        ),
        row(
            "connectTeamToPaymentMethod",
            "Annex (the actor UNLIMITED there) to Acme",
            |f| json!({ "paymentMethodId": f.pm(f.acme), "teamId": f.annex() }),
            [OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND],
        )
        .after(Setup::Annex(TeamRole::Unlimited)),
        row(
            "connectTeamToPaymentMethod",
            "Annex (the actor LIMITED there) to Acme",
            |f| json!({ "paymentMethodId": f.pm(f.acme), "teamId": f.annex() }),
            [FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND],
        )
        .after(Setup::Annex(TeamRole::Limited)),
        row(
            "subscribeToApp",
            "the tool through Crew (no grant)",
            |f| json!({ "appId": f.app(f.tool), "teamId": f.team(f.crew) }),
            [OK, OK, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND],
        ),
        row(
            "subscribeToApp",
            "the granted app through Crew",
            |f| json!({ "appId": f.app(f.granted), "teamId": f.team(f.crew) }),
            [OK, OK, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND],
        ),
        // UNLIMITED members need not ask: they may subscribe, so asking is refused as moot.
        row(
            "requestAppAccess",
            "the tool in Crew",
            |f| json!({ "teamId": f.team(f.crew), "appId": f.app(f.tool) }),
            [CONFLICT, CONFLICT, OK, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        ),
        // LIMITED members do not see other members' requests.
        row(
            "approveAccessRequest",
            "the rookie's request",
            |f| json!({ "accessRequestId": gid(NodeKind::AccessRequest, f.rookie_request) }),
            decide_rookie,
        ),
        row(
            "denyAccessRequest",
            "the rookie's request",
            |f| json!({ "accessRequestId": gid(NodeKind::AccessRequest, f.rookie_request) }),
            decide_rookie,
        ),
        row(
            "approveAccessRequest",
            "the LIMITED member's own request",
            |f| json!({ "accessRequestId": gid(NodeKind::AccessRequest, f.own_request.expect("own request")) }),
            [OK, OK, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND],
        )
        .after(Setup::OwnRequest),
        row(
            "cancelAccessRequest",
            "the LIMITED member's own request",
            |f| json!({ "accessRequestId": gid(NodeKind::AccessRequest, f.own_request.expect("own request")) }),
            [FORBIDDEN, FORBIDDEN, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND],
        )
        .after(Setup::OwnRequest),
    ]
}

/// A valid ed25519 public key never used before: a key has one owner across all people.
fn fresh_ssh_key() -> String {
    use base64::Engine;
    let mut blob = Vec::new();
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(Uuid::new_v4().as_bytes());
    blob.extend_from_slice(Uuid::new_v4().as_bytes());
    format!(
        "ssh-ed25519 {} actor",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

fn invitation_input(f: &Fixture) -> Value {
    json!({ "invitationId": gid(NodeKind::Invitation, f.invitation.expect("invitation")) })
}

/// Account types: a CLIENT bills and nothing else; a DEVELOPER with anything a client may not
/// hold cannot become one.
fn account_types() -> Vec<Row> {
    vec![
        row(
            "createTeam",
            "a new team",
            |_| json!({ "name": "New team" }),
            [OK, OK, OK, OK, FORBIDDEN, OK],
        ),
        row(
            "addSshKey",
            "the actor's account",
            |_| json!({ "title": "laptop", "publicKey": fresh_ssh_key() }),
            [OK, OK, OK, OK, FORBIDDEN, OK],
        ),
        // One developer connection per app; a client holds none, a stranger to Crew may not
        // come through it.
        row(
            "subscribeToApp",
            "the shop through Crew",
            |f| json!({ "appId": f.app(f.shop), "teamId": f.team(f.crew) }),
            [
                CONFLICT, CONFLICT, CONFLICT, FORBIDDEN, FORBIDDEN, NOT_FOUND,
            ],
        ),
        row(
            "acceptInvitation",
            "a TEAM invitation to Crew",
            invitation_input,
            [CONFLICT, CONFLICT, CONFLICT, OK, FORBIDDEN, OK],
        )
        .after(Setup::Invited(InvitationKind::Team)),
        row(
            "acceptInvitation",
            "an APP invitation to the shop",
            invitation_input,
            [CONFLICT, CONFLICT, CONFLICT, CONFLICT, FORBIDDEN, OK],
        )
        .after(Setup::Invited(InvitationKind::App)),
        row(
            "acceptInvitation",
            "a PAYMENT_METHOD invitation to the Crew card",
            invitation_input,
            [OK, OK, OK, OK, OK, OK],
        )
        .after(Setup::Invited(InvitationKind::PaymentMethod)),
        row(
            "createApp",
            "a personal trial app",
            |_| json!({ "name": "mine" }),
            [OK, OK, OK, OK, FORBIDDEN, OK],
        ),
        row(
            "createApp",
            "a trial app in Crew",
            |f| json!({ "name": "crew-app", "teamId": f.team(f.crew) }),
            [OK, OK, OK, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        ),
        row(
            "createApp",
            "an app in Crew on Acme",
            |f| json!({ "name": "crew-acme", "teamId": f.team(f.crew), "paymentMethodId": f.pm(f.acme) }),
            [OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, FORBIDDEN, NOT_FOUND],
        ),
        row(
            "updateViewer",
            "the actor's account (to CLIENT)",
            |_| json!({ "accountType": "CLIENT" }),
            [CONFLICT, CONFLICT, CONFLICT, CONFLICT, OK, OK],
        ),
    ]
}

async fn app_rights_by_actor(app: TestApp) {
    check(&app, &app_rights()).await;
}

async fn billing_rights_by_actor(app: TestApp) {
    check(&app, &billing_rights()).await;
}

async fn team_roles_by_actor(app: TestApp) {
    check(&app, &team_roles()).await;
}

async fn account_types_by_actor(app: TestApp) {
    check(&app, &account_types()).await;
}

const READ: &str = "query($team: ID!, $shop: ID!, $granted: ID!, $acme: ID!, $card: ID!, $staging: ID!) {
  team: node(id: $team) { ... on Team { id name viewerRole members { totalCount } apps { totalCount }
    paymentMethods { totalCount } invitations { totalCount } accessRequests { totalCount } } }
  shop: node(id: $shop) { ... on App { id isTrial environments { name } developers { totalCount }
    paymentMethod { id } viewerAccess { developer full billing } technicalContacts { name } teams { totalCount }
    invitations { totalCount } } }
  granted: node(id: $granted) { ... on App { id environments { name } developers { totalCount }
    viewerAccess { developer full billing } } }
  acme: node(id: $acme) { ... on PaymentMethod { id label invoiceEmail } }
  card: node(id: $card) { ... on PaymentMethod { id invoiceEmail } }
  staging: node(id: $staging) { id }
}";

/// What `READ` must show one actor in the base world.
fn expected_reads(f: &Fixture, actor: Actor) -> Value {
    use Actor::*;
    let access = |developer: bool, full: bool, billing: bool| json!({ "developer": developer, "full": full, "billing": billing });
    let count = |n: u32| json!({ "totalCount": n });
    let team = match actor {
        Owner | Unlimited | Limited => {
            let unlimited = actor != Limited;
            let gated = count(u32::from(unlimited));
            json!({ "id": f.team(f.crew), "name": "Crew",
                "viewerRole": if unlimited { "UNLIMITED" } else { "LIMITED" },
                "members": count(4), "apps": count(4),
                "paymentMethods": gated, "invitations": gated, "accessRequests": gated })
        }
        // Sharing the shop with Crew shows its id and name, nothing inside.
        Direct | Client => json!({ "id": f.team(f.crew), "name": "Crew", "viewerRole": null,
            "members": count(0), "apps": count(0), "paymentMethods": count(0),
            "invitations": count(0), "accessRequests": count(0) }),
        Outsider => Value::Null,
    };
    let shop = match actor {
        Outsider => Value::Null,
        _ => {
            let internals = actor != Client;
            json!({
                "id": f.app(f.shop),
                "isTrial": false,
                "environments": if internals { json!([{ "name": "main" }, { "name": "staging" }]) } else { json!([]) },
                "developers": count(if internals { 5 } else { 0 }),
                "paymentMethod": if matches!(actor, Owner | Client) { json!({ "id": f.pm(f.acme) }) } else { Value::Null },
                "viewerAccess": match actor {
                    Owner => access(true, true, true),
                    Unlimited | Direct => access(true, true, false),
                    Limited => access(true, false, false),
                    _ => access(false, false, true),
                },
                "technicalContacts": [{ "name": "Olga Owner" }],
                "teams": count(1),
                // Pending APP invitations: for those who may send them.
                "invitations": count(u32::from(actor != Limited)),
            })
        }
    };
    // A team app nobody of Crew works on: UNLIMITED members see inside, LIMITED ones only its basics.
    let granted = match actor {
        Owner | Unlimited => json!({ "id": f.app(f.granted), "environments": [{ "name": "main" }],
            "developers": count(1), "viewerAccess": access(false, false, false) }),
        Limited => json!({ "id": f.app(f.granted), "environments": [],
            "developers": count(0), "viewerAccess": access(false, false, false) }),
        _ => Value::Null,
    };
    let acme = match actor {
        Owner | Client => {
            json!({ "id": f.pm(f.acme), "label": "Acme", "invoiceEmail": "books@acme.example" })
        }
        _ => Value::Null,
    };
    let card = match actor {
        Owner | Unlimited => json!({ "id": f.pm(f.card), "invoiceEmail": "crew@card.example" }),
        _ => Value::Null,
    };
    let staging = match actor {
        Client | Outsider => Value::Null,
        _ => json!({ "id": gid(NodeKind::Environment, f.staging) }),
    };
    json!({ "team": team, "shop": shop, "granted": granted, "acme": acme, "card": card, "staging": staging })
}

/// Reads never fail for lack of access: each actor gets its view of the same objects, with null
/// nodes and empty gated fields where it may not look.
async fn reads_by_actor(app: TestApp) {
    let mut harness = Harness::new(&app);
    let f = harness.world(Setup::Base, Actor::Owner).await;
    let variables = json!({
        "team": f.team(f.crew),
        "shop": f.app(f.shop),
        "granted": f.app(f.granted),
        "acme": f.pm(f.acme),
        "card": f.pm(f.card),
        "staging": gid(NodeKind::Environment, f.staging),
    });
    let mut failures = Vec::new();
    for actor in ACTORS {
        let (status, body) = app
            .graphql_raw(Some(f.token(actor)), READ, variables.clone())
            .await;
        if status != 200 || body.get("errors").is_some() {
            failures.push(format!(
                "{actor} × read: expected no error, got HTTP {status} {}",
                body["errors"]
            ));
            continue;
        }
        let expected = expected_reads(&f, actor);
        for field in ["team", "shop", "granted", "acme", "card", "staging"] {
            if body["data"][field] != expected[field] {
                failures.push(format!(
                    "{actor} × read {field}: expected {}, got {}",
                    expected[field], body["data"][field]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} reads disagree with docs/rules.md:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

on_both_databases!(
    app_rights_by_actor,
    billing_rights_by_actor,
    team_roles_by_actor,
    account_types_by_actor,
    reads_by_actor,
);
