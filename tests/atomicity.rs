//! A mutation that fails after it wrote leaves the database and the event log as they were: the
//! fault is injected after the change and its events are written, just before commit.

mod common;

use common::TestApp;
use common::demo::{Demo, app_id, payment_method_id, person_uuid, team_id};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use warren::rules::change::fault;

const TABLES: [&str; 20] = [
    "person",
    "personal_access_token",
    "ssh_key",
    "team",
    "team_member",
    "payment_method",
    "app",
    "environment",
    "team_app",
    "developer_connection",
    "app_grant",
    "technical_contact",
    "payment_method_person",
    "payment_method_team",
    "invitation",
    "invitation_app",
    "access_request",
    "event",
    "event_subject",
    "event_filter",
];

/// Every table's rows, in a stable order, as text: equal snapshots mean nothing changed.
async fn snapshot(app: &TestApp) -> Vec<String> {
    let backend = app.db.conn.get_database_backend();
    let mut rows = Vec::new();
    for table in TABLES {
        let sql = format!("SELECT * FROM {table} ORDER BY 1, 2");
        for row in app
            .db
            .conn
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .expect("read")
        {
            rows.push(format!("{table}: {row:?}"));
        }
    }
    rows
}

async fn mutations_that_fail_after_writing_change_nothing(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (rocket, nebula) = (team_id(&app, "Rocket").await, team_id(&app, "Nebula").await);
    let (shop, acme) = (
        app_id(&app, "acme-shop").await,
        payment_method_id(&app, "Acme Corp").await,
    );
    // In an order where each case still applies after the ones before went through.
    let cases: Vec<(&str, &str, &str, Value)> = vec![
        (
            "ana@demo.example",
            &demo.ana,
            "leaveTeam",
            json!({ "teamId": nebula }),
        ),
        (
            "ana@demo.example",
            &demo.ana,
            "createApp",
            json!({ "name": "new", "teamId": rocket }),
        ),
        (
            "ana@demo.example",
            &demo.ana,
            "inviteToTeam",
            json!({ "teamId": rocket, "email": "n@demo.example", "role": "LIMITED" }),
        ),
        (
            "chen@demo.example",
            &demo.chen,
            "subscribeToApp",
            json!({ "appId": shop, "teamId": rocket }),
        ),
        ("bo@demo.example", &demo.bo, "cancelAccount", json!({})),
        (
            "chen@demo.example",
            &demo.chen,
            "deleteTeam",
            json!({ "teamId": nebula }),
        ),
        (
            "dana@demo.example",
            &demo.dana,
            "deletePaymentMethod",
            json!({ "paymentMethodId": acme }),
        ),
    ];
    for (email, token, mutation, input) in cases {
        let person = person_uuid(&app, email).await;
        let before = snapshot(&app).await;
        fault::arm(person, true);
        let code = app.mutation_code(token, mutation, input.clone()).await;
        fault::arm(person, false);
        assert_eq!(code.as_deref(), Some("INTERNAL"), "{mutation}");
        assert_eq!(
            snapshot(&app).await,
            before,
            "{mutation} left something behind"
        );
        // Without the fault the same mutation goes through: the test did test something.
        assert_eq!(
            app.mutation_code(token, mutation, input).await,
            None,
            "{mutation}"
        );
        assert_ne!(snapshot(&app).await, before, "{mutation} changed nothing");
    }
}

on_both_databases!(mutations_that_fail_after_writing_change_nothing);
