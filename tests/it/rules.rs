//! The domain rules called as plain functions on a change, with no GraphQL and no HTTP
//! (docs/architecture.md, "Where things go"): what each allows and refuses, and the events it
//! records in the change it is given.

use entity::enums::{PaymentType, TeamRole, TokenScope};
use entity::{event, ssh_key as keys};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use uuid::Uuid;
use warren::api::relay::{NodeKind, global_id};
use warren::error::ApiResult;
use warren::rules::access::Reach;
use warren::rules::access::events::{self, About, EventCriteria};
use warren::rules::access_request;
use warren::rules::app as apps;
use warren::rules::change::Change;
use warren::rules::developer;
use warren::rules::invitation::{self, Sending};
use warren::rules::membership;
use warren::rules::payment_method::{self, NewPaymentMethod, PaymentMethodChanges};
use warren::rules::quotas::Quotas;
use warren::rules::ssh_key::{self, NewSshKey};
use warren::rules::team;
use warren::rules::token::{self, TokenRequest};
use warren::store::event_log::subjects_of;
use warren::store::page::PageArgs;

use crate::common::demo::{Demo, app_uuid, person_uuid};
use crate::common::keys::ed25519_key;
use crate::common::{Backend, TestApp};

/// A server on `backend` with the demo world seeded; `None`, and the test skipped, when no
/// PostgreSQL is configured.
async fn demo_world(backend: Backend) -> Option<TestApp> {
    let Some(app) = TestApp::spawn(backend).await else {
        eprintln!("skipped: WARREN_TEST_POSTGRES_URL is not set");
        return None;
    };
    Demo::seed(&app).await;
    Some(app)
}

/// A change made by `person`; dropped without a commit, it rolls back.
async fn change_by(app: &TestApp, person: Uuid) -> Change {
    Change::begin(&app.db, person)
        .await
        .map_err(|err| err.message())
        .expect("a change begins")
}

/// The code of a rule's refusal.
fn refusal<T>(result: ApiResult<T>) -> &'static str {
    match result {
        Ok(_) => "accepted",
        Err(err) => err.code(),
    }
}

/// The type of the newest event of the log.
async fn newest_event(app: &TestApp) -> String {
    event::Entity::find()
        .order_by_desc(event::Column::Sequence)
        .one(&app.db.conn)
        .await
        .expect("the event log")
        .expect("an event")
        .event_type
}

async fn keys_of(app: &TestApp, person: Uuid) -> u64 {
    keys::Entity::find()
        .filter(keys::Column::PersonId.eq(person))
        .count(&app.db.conn)
        .await
        .expect("count")
}

/// SSH keys: checked before any transaction, held by developers only, within the quota, one
/// owner per key, removed by their owner alone; adding and removing each record their event.
async fn ssh_keys(backend: Backend) {
    let Some(app) = demo_world(backend).await else {
        return;
    };
    let bo = person_uuid(&app, "bo@demo.example").await;
    let chen = person_uuid(&app, "chen@demo.example").await;
    let dana = person_uuid(&app, "dana@demo.example").await;

    assert_eq!(
        refusal(NewSshKey::parse("laptop", "ssh-ed25519 AAAA")),
        "BAD_USER_INPUT"
    );
    assert_eq!(
        refusal(NewSshKey::parse(" ", &ed25519_key(7_001))),
        "BAD_USER_INPUT"
    );
    let key = NewSshKey::parse("  laptop ", &ed25519_key(7_001)).expect("a valid key");
    assert_eq!(key.title, "laptop");
    assert!(key.fingerprint.starts_with("SHA256:"));

    // A client holds no keys; the refused change is dropped, which rolls it back.
    let mut change = change_by(&app, dana).await;
    assert_eq!(
        refusal(ssh_key::add(&mut change, key.clone(), 50).await),
        "FORBIDDEN"
    );
    drop(change);

    let held = keys_of(&app, bo).await;
    // At the quota, one more is refused.
    let mut change = change_by(&app, bo).await;
    assert_eq!(
        refusal(ssh_key::add(&mut change, key.clone(), held).await),
        "BAD_USER_INPUT"
    );
    drop(change);
    assert_eq!(keys_of(&app, bo).await, held);

    let mut change = change_by(&app, bo).await;
    let added = ssh_key::add(&mut change, key.clone(), held + 1)
        .await
        .expect("added");
    change.commit().await.expect("commit");
    assert_eq!(
        (added.person_id, added.fingerprint.as_str()),
        (bo, key.fingerprint.as_str())
    );
    assert_eq!(newest_event(&app).await, "SSH_KEY_ADDED");

    // The same key again, by its owner or by anyone else, is a conflict.
    for person in [bo, chen] {
        let mut change = change_by(&app, person).await;
        assert_eq!(
            refusal(ssh_key::add(&mut change, key.clone(), 50).await),
            "CONFLICT"
        );
    }

    // Only its owner removes it; to anyone else it does not exist.
    let mut change = change_by(&app, chen).await;
    assert_eq!(
        refusal(ssh_key::remove(&mut change, added.id).await),
        "NOT_FOUND"
    );
    drop(change);
    let mut change = change_by(&app, bo).await;
    ssh_key::remove(&mut change, added.id)
        .await
        .expect("removed");
    change.commit().await.expect("commit");
    assert_eq!(keys_of(&app, bo).await, held);
    assert_eq!(newest_event(&app).await, "SSH_KEY_REMOVED");
}

/// Personal access tokens: a lifetime of 1 to 365 days or none, within the quota of working
/// ones, revoked by their owner alone and once; creating and revoking each record their event.
async fn tokens(backend: Backend) {
    let Some(app) = demo_world(backend).await else {
        return;
    };
    let bo = person_uuid(&app, "bo@demo.example").await;
    let chen = person_uuid(&app, "chen@demo.example").await;

    for days in [0, 366, -1] {
        assert_eq!(
            refusal(TokenRequest::parse("ci", TokenScope::Read, Some(days))),
            "BAD_USER_INPUT"
        );
    }
    let request = TokenRequest::parse(" ci ", TokenScope::Read, Some(30)).expect("valid");
    assert_eq!(request.name, "ci");

    let working = tokens_of(&app, bo).await;
    let mut change = change_by(&app, bo).await;
    assert_eq!(
        refusal(token::create(&mut change, request.clone(), working).await),
        "BAD_USER_INPUT"
    );
    drop(change);

    let mut change = change_by(&app, bo).await;
    let created = token::create(&mut change, request, working + 1)
        .await
        .expect("created");
    change.commit().await.expect("commit");
    assert!(created.secret.starts_with("wrn_"));
    assert_eq!(created.model.person_id, bo);
    assert!(created.model.expires_at.is_some());
    assert_eq!(newest_event(&app).await, "PERSONAL_ACCESS_TOKEN_CREATED");

    let mut change = change_by(&app, chen).await;
    assert_eq!(
        refusal(token::revoke(&mut change, created.model.id).await),
        "NOT_FOUND"
    );
    drop(change);
    let mut change = change_by(&app, bo).await;
    token::revoke(&mut change, created.model.id)
        .await
        .expect("revoked");
    change.commit().await.expect("commit");
    assert_eq!(newest_event(&app).await, "PERSONAL_ACCESS_TOKEN_REVOKED");
    // Revoked once: a second time, it is gone.
    let mut change = change_by(&app, bo).await;
    assert_eq!(
        refusal(token::revoke(&mut change, created.model.id).await),
        "NOT_FOUND"
    );
}

async fn team_uuid(app: &TestApp, name: &str) -> Uuid {
    entity::team::Entity::find()
        .filter(entity::team::Column::Name.eq(name))
        .one(&app.db.conn)
        .await
        .expect("teams")
        .expect("the team")
        .id
}

/// The person's working tokens: neither revoked nor expired.
async fn tokens_of(app: &TestApp, person: Uuid) -> u64 {
    use entity::personal_access_token::{Column, Entity};
    Entity::find()
        .filter(Column::PersonId.eq(person))
        .filter(Column::RevokedAt.is_null())
        .filter(
            sea_orm::Condition::any()
                .add(Column::ExpiresAt.is_null())
                .add(Column::ExpiresAt.gt(chrono::Utc::now())),
        )
        .count(&app.db.conn)
        .await
        .expect("count")
}

/// Team membership: only UNLIMITED members change roles or remove members, a team keeps an
/// UNLIMITED member, and each change records its event.
async fn memberships(backend: Backend) {
    let Some(app) = demo_world(backend).await else {
        return;
    };
    let ana = person_uuid(&app, "ana@demo.example").await;
    let bo = person_uuid(&app, "bo@demo.example").await;
    let chen = person_uuid(&app, "chen@demo.example").await;
    let eli = person_uuid(&app, "eli@demo.example").await;
    // Rocket: Ana and Chen UNLIMITED, Bo LIMITED. Nebula: Chen UNLIMITED, Ana and Eli LIMITED.
    let (rocket, nebula) = (
        team_uuid(&app, "Rocket").await,
        team_uuid(&app, "Nebula").await,
    );

    let mut change = change_by(&app, bo).await;
    assert_eq!(
        refusal(membership::change_role(&mut change, rocket, bo, TeamRole::Unlimited).await),
        "FORBIDDEN"
    );
    drop(change);
    let mut change = change_by(&app, chen).await;
    assert_eq!(
        refusal(membership::leave(&mut change, nebula).await),
        "CONFLICT"
    );
    drop(change);
    // Eli is no member of Rocket and sees nothing of it.
    let mut change = change_by(&app, eli).await;
    assert_eq!(
        refusal(membership::leave(&mut change, rocket).await),
        "NOT_FOUND"
    );
    drop(change);

    let mut change = change_by(&app, ana).await;
    let (_, person) = membership::change_role(&mut change, rocket, bo, TeamRole::Unlimited)
        .await
        .expect("promoted");
    change.commit().await.expect("commit");
    assert_eq!(person.id, bo);
    assert_eq!(newest_event(&app).await, "MEMBER_ROLE_CHANGED");

    let mut change = change_by(&app, bo).await;
    membership::remove_member(&mut change, rocket, ana)
        .await
        .expect("removed");
    change.commit().await.expect("commit");
    assert_eq!(newest_event(&app).await, "MEMBER_REMOVED");

    let mut change = change_by(&app, chen).await;
    membership::leave(&mut change, rocket).await.expect("left");
    change.commit().await.expect("commit");
    assert_eq!(newest_event(&app).await, "MEMBER_LEFT");
    // Bo is Rocket's last UNLIMITED member now.
    let mut change = change_by(&app, bo).await;
    assert_eq!(
        refusal(membership::leave(&mut change, rocket).await),
        "CONFLICT"
    );
}

/// Access requests: asked by LIMITED members for their team's apps, decided by UNLIMITED
/// members, withdrawn by their requester; an approval grants and connects.
async fn access_requests(backend: Backend) {
    let Some(app) = demo_world(backend).await else {
        return;
    };
    let ana = person_uuid(&app, "ana@demo.example").await;
    let bo = person_uuid(&app, "bo@demo.example").await;
    let rocket = team_uuid(&app, "Rocket").await;
    let (blog, portfolio) = (
        app_uuid(&app, "acme-blog").await,
        app_uuid(&app, "ana-portfolio").await,
    );

    // Ana is UNLIMITED in Rocket: she needs no request. Portfolio is not Rocket's.
    let mut change = change_by(&app, ana).await;
    assert_eq!(
        refusal(access_request::request(&mut change, rocket, blog).await),
        "CONFLICT"
    );
    drop(change);
    let mut change = change_by(&app, bo).await;
    assert_eq!(
        refusal(access_request::request(&mut change, rocket, portfolio).await),
        "NOT_FOUND"
    );
    drop(change);

    let mut change = change_by(&app, bo).await;
    let request = access_request::request(&mut change, rocket, blog)
        .await
        .expect("requested");
    change.commit().await.expect("commit");
    assert_eq!(newest_event(&app).await, "ACCESS_REQUESTED");
    let mut change = change_by(&app, bo).await;
    assert_eq!(
        refusal(access_request::request(&mut change, rocket, blog).await),
        "CONFLICT"
    );
    drop(change);

    // Bo may not decide his own request; Ana approves it, and Bo is connected.
    let mut change = change_by(&app, bo).await;
    assert_eq!(
        refusal(access_request::approve(&mut change, request.id).await),
        "FORBIDDEN"
    );
    drop(change);
    let mut change = change_by(&app, ana).await;
    let approved = access_request::approve(&mut change, request.id)
        .await
        .expect("approved");
    change.commit().await.expect("commit");
    assert_eq!(approved.decided_by_id, Some(ana));
    assert_eq!(newest_event(&app).await, "ACCESS_REQUEST_APPROVED");
    let connected = entity::developer_connection::Entity::find()
        .filter(entity::developer_connection::Column::PersonId.eq(bo))
        .filter(entity::developer_connection::Column::AppId.eq(blog))
        .count(&app.db.conn)
        .await
        .expect("count");
    assert_eq!(connected, 1);
    // Decided once: it is no longer pending.
    let mut change = change_by(&app, bo).await;
    assert_eq!(
        refusal(access_request::cancel(&mut change, request.id).await),
        "CONFLICT"
    );
}

/// Developer connections: through a team the person may subscribe through, one per app;
/// technical contacts chosen among the app's developers; each change records its event.
async fn developer_connections(backend: Backend) {
    let Some(app) = demo_world(backend).await else {
        return;
    };
    let ana = person_uuid(&app, "ana@demo.example").await;
    let bo = person_uuid(&app, "bo@demo.example").await;
    let eli = person_uuid(&app, "eli@demo.example").await;
    let rocket = team_uuid(&app, "Rocket").await;
    let blog = app_uuid(&app, "acme-blog").await;

    // Eli sees neither; Bo is LIMITED in Rocket without a grant for the blog.
    let mut change = change_by(&app, eli).await;
    assert_eq!(
        refusal(developer::subscribe(&mut change, rocket, blog).await),
        "NOT_FOUND"
    );
    drop(change);
    let mut change = change_by(&app, bo).await;
    assert_eq!(
        refusal(developer::subscribe(&mut change, rocket, blog).await),
        "FORBIDDEN"
    );
    drop(change);

    let mut change = change_by(&app, ana).await;
    developer::subscribe(&mut change, rocket, blog)
        .await
        .expect("subscribed");
    change.commit().await.expect("commit");
    assert_eq!(newest_event(&app).await, "DEVELOPER_SUBSCRIBED");
    let mut change = change_by(&app, ana).await;
    assert_eq!(
        refusal(developer::subscribe(&mut change, rocket, blog).await),
        "CONFLICT"
    );
    drop(change);

    let mut change = change_by(&app, ana).await;
    assert_eq!(
        refusal(developer::set_technical_contacts(&mut change, blog, Vec::new()).await),
        "BAD_USER_INPUT"
    );
    assert_eq!(
        refusal(developer::set_technical_contacts(&mut change, blog, vec![eli]).await),
        "CONFLICT"
    );
    drop(change);
    let mut change = change_by(&app, ana).await;
    developer::set_technical_contacts(&mut change, blog, vec![ana])
        .await
        .expect("set");
    change.commit().await.expect("commit");
    assert_eq!(newest_event(&app).await, "TECHNICAL_CONTACTS_CHANGED");

    let mut change = change_by(&app, ana).await;
    developer::unsubscribe(&mut change, blog)
        .await
        .expect("unsubscribed");
    change.commit().await.expect("commit");
    let newest = event::Entity::find()
        .order_by_desc(event::Column::Sequence)
        .one(&app.db.conn)
        .await
        .expect("the event log")
        .expect("an event");
    assert_eq!(newest.event_type, "DEVELOPER_UNSUBSCRIBED");
    // The team it went through, by the global id clients know it by.
    assert_eq!(
        newest.payload["team"].as_str(),
        Some(global_id(NodeKind::Team, rocket).0.as_str())
    );
}

/// Teams: created by developers, renamed and deleted by UNLIMITED members; a deletion takes
/// exactly what `deletion_impacts` said it would.
async fn teams(backend: Backend) {
    let Some(app) = demo_world(backend).await else {
        return;
    };
    let ana = person_uuid(&app, "ana@demo.example").await;
    let bo = person_uuid(&app, "bo@demo.example").await;
    let dana = person_uuid(&app, "dana@demo.example").await;
    let rocket = team_uuid(&app, "Rocket").await;

    let mut change = change_by(&app, dana).await;
    assert_eq!(
        refusal(team::create(&mut change, "Clients".into()).await),
        "FORBIDDEN"
    );
    drop(change);
    let mut change = change_by(&app, bo).await;
    let created = team::create(&mut change, "Bo's".into())
        .await
        .expect("created");
    change.commit().await.expect("commit");
    assert_eq!(newest_event(&app).await, "TEAM_CREATED");

    let mut change = change_by(&app, bo).await;
    assert_eq!(
        refusal(team::rename(&mut change, rocket, "Mine".into()).await),
        "FORBIDDEN"
    );
    drop(change);
    let mut change = change_by(&app, bo).await;
    let renamed = team::rename(&mut change, created.id, "Bo's team".into())
        .await
        .expect("renamed");
    change.commit().await.expect("commit");
    assert_eq!(renamed.name, "Bo's team");
    assert_eq!(newest_event(&app).await, "TEAM_RENAMED");

    let foreseen = team::deletion_impacts(&app.db.conn, &[rocket])
        .await
        .expect("impacts")
        .remove(&rocket)
        .expect("Rocket's");
    let mut change = change_by(&app, ana).await;
    let deleted = team::delete(&mut change, rocket).await.expect("deleted");
    change.commit().await.expect("commit");
    assert_eq!(deleted, foreseen);
    assert_eq!(newest_event(&app).await, "TEAM_DELETED");
    let mut change = change_by(&app, ana).await;
    assert_eq!(
        refusal(team::delete(&mut change, rocket).await),
        "NOT_FOUND"
    );
}

/// Apps and environments: a client creates apps only on a payment method it bills; an app
/// keeps at least one environment, with names unique within it and at most the quota.
async fn apps_and_environments(backend: Backend) {
    let Some(app) = demo_world(backend).await else {
        return;
    };
    let bo = person_uuid(&app, "bo@demo.example").await;
    let dana = person_uuid(&app, "dana@demo.example").await;

    let mut change = change_by(&app, dana).await;
    assert_eq!(
        refusal(apps::create(&mut change, "Mine".into(), None, None, None).await),
        "FORBIDDEN"
    );
    drop(change);
    let mut change = change_by(&app, bo).await;
    let created = apps::create(&mut change, "Trial".into(), None, None, None)
        .await
        .expect("a trial app");
    change.commit().await.expect("commit");
    assert_eq!(newest_event(&app).await, "APP_CREATED");
    let main = entity::environment::Entity::find()
        .filter(entity::environment::Column::AppId.eq(created.id))
        .one(&app.db.conn)
        .await
        .expect("environments")
        .expect("main");
    assert_eq!(main.name, "main");

    let mut change = change_by(&app, bo).await;
    assert_eq!(
        refusal(apps::create_environment(&mut change, created.id, "main".into(), 10).await),
        "CONFLICT"
    );
    assert_eq!(
        refusal(apps::create_environment(&mut change, created.id, "staging".into(), 1).await),
        "BAD_USER_INPUT"
    );
    drop(change);
    let mut change = change_by(&app, bo).await;
    assert_eq!(
        refusal(apps::delete_environment(&mut change, main.id).await),
        "CONFLICT"
    );
    drop(change);
    let mut change = change_by(&app, bo).await;
    apps::create_environment(&mut change, created.id, "staging".into(), 10)
        .await
        .expect("created");
    apps::delete_environment(&mut change, main.id)
        .await
        .expect("deleted");
    change.commit().await.expect("commit");
    assert_eq!(newest_event(&app).await, "ENVIRONMENT_DELETED");
}

/// Payment methods: created with their creator billing, changed and deleted by people who
/// bill to them; every payment method keeps a billing path.
async fn payment_methods(backend: Backend) {
    let Some(app) = demo_world(backend).await else {
        return;
    };
    let ana = person_uuid(&app, "ana@demo.example").await;
    let bo = person_uuid(&app, "bo@demo.example").await;
    let card = entity::payment_method::Entity::find()
        .filter(entity::payment_method::Column::Label.eq("Ana's card"))
        .one(&app.db.conn)
        .await
        .expect("payment methods")
        .expect("Ana's card")
        .id;

    // Ana is the only one billing her card; Bo does not see it.
    let mut change = change_by(&app, ana).await;
    assert_eq!(
        refusal(payment_method::remove_person(&mut change, card, ana).await),
        "CONFLICT"
    );
    drop(change);
    let mut change = change_by(&app, bo).await;
    let changes = PaymentMethodChanges {
        label: Some("Mine".into()),
        ..Default::default()
    };
    assert_eq!(
        refusal(payment_method::update(&mut change, card, changes).await),
        "NOT_FOUND"
    );
    drop(change);

    let mut change = change_by(&app, bo).await;
    let new = NewPaymentMethod {
        label: " Bo's card ",
        payment_type: PaymentType::CreditCard,
        invoice_email: "Bo@Demo.Example",
        invoice_address: "1 Main Street",
        vat_id: Some("de123"),
    };
    let created = payment_method::create(&mut change, new)
        .await
        .expect("created");
    change.commit().await.expect("commit");
    assert_eq!(
        (created.label.as_str(), created.invoice_email.as_str()),
        ("Bo's card", "bo@demo.example")
    );
    assert_eq!(created.vat_id.as_deref(), Some("DE123"));
    assert_eq!(newest_event(&app).await, "PAYMENT_METHOD_CREATED");

    let mut change = change_by(&app, bo).await;
    let changes = PaymentMethodChanges {
        vat_id: Some(None),
        ..Default::default()
    };
    let updated = payment_method::update(&mut change, created.id, changes)
        .await
        .expect("updated");
    change.commit().await.expect("commit");
    assert_eq!(
        (updated.label.as_str(), updated.vat_id),
        ("Bo's card", None)
    );

    let mut change = change_by(&app, bo).await;
    let deleted_apps = payment_method::delete(&mut change, created.id)
        .await
        .expect("deleted");
    change.commit().await.expect("commit");
    assert!(deleted_apps.is_empty());
    assert_eq!(newest_event(&app).await, "PAYMENT_METHOD_DELETED");
}

/// Invitations: sent by those who may offer them, answered by their invitee, once; the link
/// points at the public URL given.
async fn invitations(backend: Backend) {
    let Some(app) = demo_world(backend).await else {
        return;
    };
    let ana = person_uuid(&app, "ana@demo.example").await;
    let bo = person_uuid(&app, "bo@demo.example").await;
    let eli = person_uuid(&app, "eli@demo.example").await;
    let rocket = team_uuid(&app, "Rocket").await;
    let sending = Sending {
        public_url: "https://warren.test".into(),
        quotas: Quotas::default(),
    };
    let expires_in = invitation::expiry(None).expect("the default lifetime");
    let no_take_over = || invitation::TakeOver {
        payment_method_id: None,
        new_payment_method: None,
    };

    assert_eq!(refusal(invitation::expiry(Some(91))), "BAD_USER_INPUT");
    let mut change = change_by(&app, bo).await;
    assert_eq!(
        refusal(
            invitation::invite_to_team(
                &mut change,
                rocket,
                "eli@demo.example".into(),
                TeamRole::Limited,
                Vec::new(),
                expires_in,
                &sending,
            )
            .await
        ),
        "FORBIDDEN"
    );
    drop(change);

    let mut change = change_by(&app, ana).await;
    let (sent, link) = invitation::invite_to_team(
        &mut change,
        rocket,
        "eli@demo.example".into(),
        TeamRole::Limited,
        Vec::new(),
        expires_in,
        &sending,
    )
    .await
    .expect("sent");
    change.commit().await.expect("commit");
    assert!(link.starts_with("https://warren.test/invitations/accept?token="));
    assert_eq!(newest_event(&app).await, "MEMBER_INVITED");
    let id = global_id(NodeKind::Invitation, sent.id).0;

    // Addressed to Eli: Bo cannot answer it by id, and learns nothing of it.
    let mut change = change_by(&app, bo).await;
    assert_eq!(
        refusal(invitation::accept(&mut change, Some(&id), None, no_take_over()).await),
        "NOT_FOUND"
    );
    drop(change);
    let mut change = change_by(&app, eli).await;
    let accepted = invitation::accept(&mut change, Some(&id), None, no_take_over())
        .await
        .expect("accepted");
    change.commit().await.expect("commit");
    assert_eq!(accepted.decided_by_id, Some(eli));
    assert_eq!(newest_event(&app).await, "MEMBER_JOINED");
    let mut change = change_by(&app, eli).await;
    assert_eq!(
        refusal(invitation::decline(&mut change, Some(&id), None).await),
        "CONFLICT"
    );
}

/// Which events a viewer sees, decided twice: as SQL for reads (`rules::access::events`) and in
/// memory for the live feed (`Reach::sees_event`, `EventCriteria::matches`). For everyone in the
/// demo world, after a technical change and an access request besides the demo's own (Dana sees
/// the app through billing, but not the request), and for filters on each kind of object and on
/// each category, the two agree event by event, and the count agrees with the page.
async fn event_visibility(backend: Backend) {
    let Some(app) = demo_world(backend).await else {
        return;
    };
    let ana = person_uuid(&app, "ana@demo.example").await;
    let rocket = team_uuid(&app, "Rocket").await;
    // A technical event besides the demo's collaboration and billing ones.
    let mut change = change_by(&app, ana).await;
    let shop = app_uuid(&app, "acme-shop").await;
    apps::create_environment(&mut change, shop, "preview".into(), 100)
        .await
        .expect("an environment");
    change.commit().await.expect("commit");
    // An access request: its events show to the requester and UNLIMITED members only, though
    // they concern a team and an app that others see.
    let bo = person_uuid(&app, "bo@demo.example").await;
    let blog = app_uuid(&app, "acme-blog").await;
    let mut change = change_by(&app, bo).await;
    access_request::request(&mut change, rocket, blog)
        .await
        .expect("requested");
    change.commit().await.expect("commit");

    let log = event::Entity::find()
        .order_by_asc(event::Column::Sequence)
        .all(&app.db.conn)
        .await
        .expect("the event log");
    let subjects = subjects_of(&app.db.conn, log.iter().map(|e| e.id))
        .await
        .expect("subjects");
    let payment_method = subjects
        .values()
        .flatten()
        .find(|s| s.kind == "PAYMENT_METHOD")
        .map(|s| s.object_id);
    let whole = PageArgs {
        limit: 100_000,
        backward: false,
        after: None,
        before: None,
        list: None,
    };
    let mut filters = vec![
        EventCriteria::default(),
        EventCriteria::default().about(About::Team(rocket)),
        EventCriteria::default().about(About::App(shop)),
        EventCriteria::default().about(About::Person(ana)),
    ];
    if let Some(id) = payment_method {
        filters.push(EventCriteria::default().about(About::PaymentMethod(id)));
    }
    for category in ["TECHNICAL", "BILLING", "COLLABORATION"] {
        filters.push(EventCriteria {
            categories: vec![category.into()],
            ..EventCriteria::default()
        });
    }
    let mut partial_views = 0;
    for person in entity::person::Entity::find()
        .all(&app.db.conn)
        .await
        .expect("people")
    {
        let reach = Reach::load(&app.db.conn, person.id).await.expect("reach");
        for criteria in &filters {
            let in_memory: Vec<Uuid> = log
                .iter()
                .filter(|e| {
                    let subjects = subjects.get(&e.id).map_or(&[][..], Vec::as_slice);
                    reach.sees_event(e, subjects) && criteria.matches(e, subjects, &reach)
                })
                .map(|e| e.id)
                .collect();
            let page = events::page(&app.db, &reach, criteria, whole)
                .await
                .expect("a page");
            let in_sql: Vec<Uuid> = page.events.iter().map(|e| e.id).collect();
            assert_eq!(in_sql, in_memory, "{} with {criteria:?}", person.email);
            let count = events::count(&app.db, &reach, criteria)
                .await
                .expect("a count");
            assert_eq!(count, i64::try_from(in_sql.len()).expect("a count"));
            if criteria == &EventCriteria::default()
                && !in_sql.is_empty()
                && in_sql.len() < log.len()
            {
                partial_views += 1;
            }
        }
    }
    assert!(
        partial_views >= 3,
        "the demo world gives several people a part of the log"
    );
}

on_both_backends!(
    event_visibility,
    invitations,
    payment_methods,
    apps_and_environments,
    teams,
    ssh_keys,
    tokens,
    memberships,
    access_requests,
    developer_connections
);
