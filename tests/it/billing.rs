//! Payment methods and billing connections: who may bill, and that nobody strands a payment
//! method without a billing path.

use crate::common::TestApp;
use crate::common::demo::{Demo, app_id, payment_method_id, person_id, team_id};
use serde_json::json;

async fn labels(app: &TestApp, token: &str) -> Vec<String> {
    let data = app
        .query(
            token,
            "{ viewer { paymentMethods { nodes { label } } } }",
            json!({}),
        )
        .await;
    data["viewer"]["paymentMethods"]["nodes"]
        .as_array()
        .map(|n| {
            n.iter()
                .filter_map(|x| x["label"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn anyone_creates_a_payment_method_and_bills_it(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let input = json!({ "label": "Eli Inc", "paymentType": "INVOICE", "invoiceEmail": "Books@Eli.example", "invoiceAddress": "1 Road\nTown", "vatId": "de123456789" });
    assert_eq!(
        app.mutation_code(&demo.eli, "createPaymentMethod", input)
            .await,
        None
    );
    let data = app.query(&demo.eli, "{ viewer { paymentMethods { nodes { label invoiceEmail vatId people { nodes { name } } } } } }", json!({})).await;
    assert_eq!(
        data["viewer"]["paymentMethods"]["nodes"][0],
        json!({ "label": "Eli Inc", "invoiceEmail": "books@eli.example", "vatId": "DE123456789", "people": { "nodes": [{ "name": "Eli Egan" }] } })
    );
    let bad = json!({ "label": "x", "paymentType": "INVOICE", "invoiceEmail": "nope", "invoiceAddress": "a" });
    assert_eq!(
        app.mutation_code(&demo.eli, "createPaymentMethod", bad)
            .await
            .as_deref(),
        Some("BAD_USER_INPUT")
    );
}

async fn billing_details_change_with_billing_access_only(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let acme = payment_method_id(&app, "Acme Corp").await;
    assert_eq!(
        app.mutation_code(
            &demo.bo,
            "updatePaymentMethod",
            json!({ "paymentMethodId": acme, "label": "x" })
        )
        .await
        .as_deref(),
        Some("NOT_FOUND")
    );
    assert_eq!(
        app.mutation_code(
            &demo.ana,
            "updatePaymentMethod",
            json!({ "paymentMethodId": acme, "vatId": "" })
        )
        .await,
        None,
        "through Rocket"
    );
    assert_eq!(
        app.mutation_code(
            &demo.dana,
            "updatePaymentMethod",
            json!({ "paymentMethodId": acme, "label": "Acme GmbH" })
        )
        .await,
        None
    );
    assert!(
        labels(&app, &demo.dana)
            .await
            .contains(&"Acme GmbH".to_owned())
    );
}

async fn connecting_a_team_needs_billing_and_unlimited_membership(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (card, rocket, nebula) = (
        payment_method_id(&app, "Ana's card").await,
        team_id(&app, "Rocket").await,
        team_id(&app, "Nebula").await,
    );
    assert_eq!(
        app.mutation_code(
            &demo.ana,
            "connectTeamToPaymentMethod",
            json!({ "paymentMethodId": card, "teamId": nebula })
        )
        .await
        .as_deref(),
        Some("FORBIDDEN"),
        "LIMITED in Nebula"
    );
    assert_eq!(
        app.mutation_code(
            &demo.chen,
            "connectTeamToPaymentMethod",
            json!({ "paymentMethodId": card, "teamId": rocket })
        )
        .await
        .as_deref(),
        Some("NOT_FOUND"),
        "Chen does not bill the card"
    );
    assert_eq!(
        app.mutation_code(
            &demo.ana,
            "connectTeamToPaymentMethod",
            json!({ "paymentMethodId": card, "teamId": rocket })
        )
        .await,
        None
    );
    assert!(
        labels(&app, &demo.chen)
            .await
            .contains(&"Ana's card".to_owned()),
        "Rocket's UNLIMITED members bill it now"
    );
    assert!(
        !labels(&app, &demo.bo)
            .await
            .contains(&"Ana's card".to_owned()),
        "LIMITED members do not"
    );
}

async fn a_payment_method_keeps_a_billing_path(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (card, acme, rocket) = (
        payment_method_id(&app, "Ana's card").await,
        payment_method_id(&app, "Acme Corp").await,
        team_id(&app, "Rocket").await,
    );
    let (ana, dana) = (
        person_id(&app, "ana@demo.example").await,
        person_id(&app, "dana@demo.example").await,
    );
    assert_eq!(
        app.mutation_code(
            &demo.ana,
            "removePaymentMethodPerson",
            json!({ "paymentMethodId": card, "personId": ana })
        )
        .await
        .as_deref(),
        Some("CONFLICT")
    );
    assert_eq!(
        app.mutation_code(
            &demo.dana,
            "disconnectTeamFromPaymentMethod",
            json!({ "paymentMethodId": acme, "teamId": rocket })
        )
        .await,
        None,
        "Dana still bills Acme"
    );
    assert_eq!(
        app.mutation_code(
            &demo.dana,
            "removePaymentMethodPerson",
            json!({ "paymentMethodId": acme, "personId": dana })
        )
        .await
        .as_deref(),
        Some("CONFLICT")
    );
    assert_eq!(
        app.mutation_code(
            &demo.ana,
            "connectTeamToPaymentMethod",
            json!({ "paymentMethodId": card, "teamId": rocket })
        )
        .await,
        None
    );
    assert_eq!(
        app.mutation_code(
            &demo.ana,
            "removePaymentMethodPerson",
            json!({ "paymentMethodId": card, "personId": ana })
        )
        .await,
        None,
        "Rocket bills it now"
    );
    assert_eq!(
        app.mutation_code(
            &demo.chen,
            "disconnectTeamFromPaymentMethod",
            json!({ "paymentMethodId": card, "teamId": rocket })
        )
        .await
        .as_deref(),
        Some("CONFLICT"),
        "the last path"
    );
}

async fn deleting_a_payment_method_deletes_its_apps(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let acme = payment_method_id(&app, "Acme Corp").await;
    let shop = app_id(&app, "acme-shop").await;
    assert_eq!(
        app.mutation_code(
            &demo.bo,
            "deletePaymentMethod",
            json!({ "paymentMethodId": acme })
        )
        .await
        .as_deref(),
        Some("NOT_FOUND")
    );
    assert_eq!(
        app.mutation_code(
            &demo.dana,
            "deletePaymentMethod",
            json!({ "paymentMethodId": acme })
        )
        .await,
        None
    );
    assert!(
        app.query(
            &demo.ana,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": shop })
        )
        .await["node"]
            .is_null()
    );
    // Ana billed Acme through Rocket: she sees the deletion. Bo, LIMITED, never billed it.
    let q = "{ events(last: 1) { nodes { type } } }";
    let ana = app.query(&demo.ana, q, json!({})).await;
    assert_eq!(ana["events"]["nodes"][0]["type"], "PAYMENT_METHOD_DELETED");
    let bo = app.query(&demo.bo, q, json!({})).await;
    assert_ne!(bo["events"]["nodes"][0]["type"], "PAYMENT_METHOD_DELETED");
}

async fn apps_move_to_payment_methods_their_mover_bills(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (card, acme) = (
        payment_method_id(&app, "Ana's card").await,
        payment_method_id(&app, "Acme Corp").await,
    );
    let (side, shop) = (
        app_id(&app, "side-project").await,
        app_id(&app, "acme-shop").await,
    );
    assert_eq!(
        app.mutation_code(
            &demo.bo,
            "changeAppPaymentMethod",
            json!({ "appId": side, "paymentMethodId": acme })
        )
        .await
        .as_deref(),
        Some("NOT_FOUND")
    );
    assert_eq!(
        app.mutation_code(
            &demo.ana,
            "changeAppPaymentMethod",
            json!({ "appId": side, "paymentMethodId": card })
        )
        .await,
        None,
        "a trial app, full developer"
    );
    assert_eq!(
        app.mutation_code(
            &demo.bo,
            "changeAppPaymentMethod",
            json!({ "appId": side, "paymentMethodId": card })
        )
        .await
        .as_deref(),
        Some("FORBIDDEN"),
        "no longer a trial app, no billing"
    );
    assert_eq!(
        app.mutation_code(
            &demo.ana,
            "changeAppPaymentMethod",
            json!({ "appId": shop, "paymentMethodId": card })
        )
        .await,
        None
    );
    let data = app
        .query(
            &demo.dana,
            "{ viewer { paymentMethods { nodes { label apps { nodes { name } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["viewer"]["paymentMethods"]["nodes"][0]["apps"]["nodes"],
        json!([{ "name": "acme-blog" }])
    );
}

on_both_databases!(
    anyone_creates_a_payment_method_and_bills_it,
    billing_details_change_with_billing_access_only,
    connecting_a_team_needs_billing_and_unlimited_membership,
    a_payment_method_keeps_a_billing_path,
    deleting_a_payment_method_deletes_its_apps,
    apps_move_to_payment_methods_their_mover_bills,
);
