//! The demo world: a handful of people, two teams, shared payment methods, trial apps, a
//! client, pending invitations and an access request — every relation of docs/rules.md once.

use entity::enums::{
    AccountType, EventCategory, InvitationKind, PaymentType, TeamRole, TokenScope,
};

use crate::error::ApiResult;
use crate::seed::SeedReport;
use crate::seed::world::{Clock, Subject, World};
use crate::store::db::Db;

pub async fn demo(db: &Db) -> ApiResult<SeedReport> {
    // A write transaction from the start (IMMEDIATE on SQLite): one that reads first and
    // then writes fails at once when another connection committed in between.
    let txn = crate::rules::change::begin_write(db).await?;
    let next_sequence = crate::rules::change::next_sequence(&txn).await?;
    let mut w = World::new(&txn, Clock::now()).with_sequence_from(next_sequence);
    use AccountType::{Client, Developer};
    use TeamRole::{Limited, Unlimited};

    let ana = w
        .person("Ana Alvarez", "ana@demo.example", Developer)
        .await?;
    let bo = w.person("Bo Berg", "bo@demo.example", Developer).await?;
    let chen = w.person("Chen Cho", "chen@demo.example", Developer).await?;
    let dana = w.person("Dana Diaz", "dana@demo.example", Client).await?;
    let eli = w.person("Eli Egan", "eli@demo.example", Developer).await?;
    let fay = w.person("Fay Fox", "fay@demo.example", Developer).await?;

    // Public halves of throwaway keys; fingerprints as `ssh-keygen -l` prints them.
    w.ssh_key(
        ana,
        "laptop",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHduIfgV+f/CpNMnzn1jp+noIaDO1Cf70gGz0tfL8nU/ ana@laptop",
        "SHA256:3ksrEc+Wf/QeocT4U/7skSGxOPnz6cJMlbr1PEOo93g",
    )
    .await?;
    w.ssh_key(
        bo,
        "desktop",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFoGgAhSyV3StSTOVjS5rRpckIQ0hp2L6QMFqLDyfJlo bo@desktop",
        "SHA256:rJgxi7oUjsMxGafF6mBqr+RI/2wkdAjOEYih1iLMFxo",
    )
    .await?;

    let rocket = w.team("Rocket").await?;
    w.member(rocket, ana, Unlimited).await?;
    w.member(rocket, bo, Limited).await?;
    w.member(rocket, chen, Unlimited).await?;
    let nebula = w.team("Nebula").await?;
    w.member(nebula, chen, Unlimited).await?;
    w.member(nebula, ana, Limited).await?;
    w.member(nebula, eli, Limited).await?;

    // Acme is Dana's company, billed by Dana and by Rocket's UNLIMITED members.
    let acme = w
        .payment_method("Acme Corp", PaymentType::Invoice, "billing@acme.example")
        .await?;
    w.bill(acme, dana).await?;
    w.bill_team(acme, rocket).await?;
    let ana_card = w
        .payment_method("Ana's card", PaymentType::CreditCard, "ana@demo.example")
        .await?;
    w.bill(ana_card, ana).await?;
    let nebula_ltd = w
        .payment_method(
            "Nebula Ltd",
            PaymentType::SepaDebit,
            "accounts@nebula.example",
        )
        .await?;
    w.bill(nebula_ltd, chen).await?;
    w.bill_team(nebula_ltd, nebula).await?;
    let fay_card = w
        .payment_method("Fay's card", PaymentType::CreditCard, "fay@demo.example")
        .await?;
    w.bill(fay_card, fay).await?;

    let shop = w.app("acme-shop", Some(acme)).await?;
    w.environment(shop, "staging").await?;
    w.team_app(rocket, shop).await?;
    w.connect(ana, shop, Some(rocket)).await?;
    w.grant(rocket, shop, bo).await?;
    w.connect(bo, shop, Some(rocket)).await?;
    w.contact(shop, ana).await?;

    let blog = w.app("acme-blog", Some(acme)).await?;
    w.team_app(rocket, blog).await?;
    w.connect(chen, blog, Some(rocket)).await?;
    w.contact(blog, chen).await?;

    let portfolio = w.app("ana-portfolio", Some(ana_card)).await?;
    w.connect(ana, portfolio, None).await?;
    w.contact(portfolio, ana).await?;

    let api = w.app("nebula-api", Some(nebula_ltd)).await?;
    w.environment(api, "staging").await?;
    w.team_app(nebula, api).await?;
    w.connect(chen, api, Some(nebula)).await?;
    w.grant(nebula, api, ana).await?;
    w.connect(ana, api, Some(nebula)).await?;
    w.contact(api, chen).await?;

    let docs = w.app("nebula-docs", None).await?;
    w.team_app(nebula, docs).await?;
    w.grant(nebula, docs, eli).await?;
    w.connect(eli, docs, Some(nebula)).await?;
    w.contact(docs, eli).await?;

    let side = w.app("side-project", None).await?;
    w.connect(ana, side, None).await?;
    w.connect(bo, side, None).await?;
    w.contact(side, ana).await?;

    let secret = w.app("fay-secret", Some(fay_card)).await?;
    w.connect(fay, secret, None).await?;
    w.contact(secret, fay).await?;

    w.invitation(
        InvitationKind::Team,
        "gus@demo.example",
        ana,
        Some(rocket),
        Some(Limited),
        &[shop],
    )
    .await?;
    w.invitation(
        InvitationKind::App,
        "hana@demo.example",
        ana,
        Some(side),
        None,
        &[],
    )
    .await?;
    w.invitation(
        InvitationKind::PaymentMethod,
        "ivy@demo.example",
        dana,
        Some(acme),
        None,
        &[],
    )
    .await?;
    w.invitation(
        InvitationKind::TakeOverBilling,
        "dana@demo.example",
        ana,
        None,
        None,
        &[side],
    )
    .await?;
    w.access_request(nebula, api, eli).await?;

    use EventCategory::{Billing, Collaboration};
    let t = |id, name| Subject {
        kind: "TEAM",
        id,
        name,
    };
    let a = |id, name| Subject {
        kind: "APP",
        id,
        name,
    };
    let p = |id, name| Subject {
        kind: "PERSON",
        id,
        name,
    };
    let m = |id, name| Subject {
        kind: "PAYMENT_METHOD",
        id,
        name,
    };
    w.event(
        "TEAM_CREATED",
        Collaboration,
        Some((ana, "Ana Alvarez")),
        "Ana Alvarez created team Rocket",
        &[t(rocket, "Rocket")],
    )
    .await?;
    w.event(
        "MEMBER_JOINED",
        Collaboration,
        Some((bo, "Bo Berg")),
        "Bo Berg joined team Rocket as LIMITED",
        &[t(rocket, "Rocket"), p(bo, "Bo Berg")],
    )
    .await?;
    w.event(
        "PAYMENT_METHOD_CREATED",
        Billing,
        Some((dana, "Dana Diaz")),
        "Dana Diaz created payment method Acme Corp",
        &[m(acme, "Acme Corp")],
    )
    .await?;
    w.event(
        "TEAM_CONNECTED_TO_PAYMENT_METHOD",
        Billing,
        Some((ana, "Ana Alvarez")),
        "Ana Alvarez connected team Rocket to payment method Acme Corp",
        &[m(acme, "Acme Corp"), t(rocket, "Rocket")],
    )
    .await?;
    w.event(
        "APP_CREATED",
        Collaboration,
        Some((ana, "Ana Alvarez")),
        "Ana Alvarez created app acme-shop in team Rocket",
        &[
            a(shop, "acme-shop"),
            t(rocket, "Rocket"),
            m(acme, "Acme Corp"),
        ],
    )
    .await?;
    w.event(
        "DEVELOPER_SUBSCRIBED",
        Collaboration,
        Some((bo, "Bo Berg")),
        "Bo Berg subscribed to acme-shop through team Rocket",
        &[a(shop, "acme-shop"), t(rocket, "Rocket"), p(bo, "Bo Berg")],
    )
    .await?;
    w.event(
        "APP_CREATED",
        Collaboration,
        Some((chen, "Chen Cho")),
        "Chen Cho created app nebula-api in team Nebula",
        &[
            a(api, "nebula-api"),
            t(nebula, "Nebula"),
            m(nebula_ltd, "Nebula Ltd"),
        ],
    )
    .await?;
    w.event(
        "ACCESS_REQUESTED",
        Collaboration,
        Some((eli, "Eli Egan")),
        "Eli Egan asked for access to nebula-api in team Nebula",
        &[
            a(api, "nebula-api"),
            t(nebula, "Nebula"),
            p(eli, "Eli Egan"),
        ],
    )
    .await?;
    w.event(
        "MEMBER_INVITED",
        Collaboration,
        Some((ana, "Ana Alvarez")),
        "Ana Alvarez invited gus@demo.example to team Rocket as LIMITED",
        &[t(rocket, "Rocket")],
    )
    .await?;
    w.event(
        "BILLING_TAKEOVER_INVITED",
        Billing,
        Some((ana, "Ana Alvarez")),
        "Ana Alvarez invited dana@demo.example to take over billing of side-project",
        &[a(side, "side-project")],
    )
    .await?;

    let token = w.token(ana, TokenScope::Write).await?;
    txn.commit().await?;
    Ok(SeedReport {
        summary: vec![
            "demo world: 6 people (Ana, Bo, Chen, Eli, Fay are developers; Dana is a client), \
             teams Rocket and Nebula, 4 payment methods, 7 apps, 2 SSH keys, 4 pending invitations, 1 access request"
                .to_owned(),
            "people sign in as <name>@demo.example; the token below is Ana's (ana@demo.example)".to_owned(),
        ],
        token,
    })
}
