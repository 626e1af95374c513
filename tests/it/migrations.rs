//! Migrations that rewrite data: run on a database holding what the migration before them left.

use entity::enums::EventCategory;
use entity::event;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ActiveModelTrait, ConnectionTrait, FromQueryResult, Set};
use uuid::Uuid;
use warren::store::sql::Sql;

use crate::common::{Backend, TestApp};

#[tokio::test]
async fn sqlite_event_subjects_get_their_events_category_and_type() {
    event_subjects_get_their_events_category_and_type(Backend::Sqlite).await;
}

#[cfg_attr(
    no_test_postgres,
    ignore = "needs PostgreSQL: set WARREN_TEST_POSTGRES_URL"
)]
#[tokio::test]
async fn postgres_event_subjects_get_their_events_category_and_type() {
    event_subjects_get_their_events_category_and_type(Backend::Postgres).await;
}

/// `m20261207_000010_event_kind_in_indexes` copies each event's category and type into its
/// subjects (docs/data-model.md); its `down` gives back the earlier shape, and `up` runs again.
async fn event_subjects_get_their_events_category_and_type(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        eprintln!("skipped: WARREN_TEST_POSTGRES_URL is not set");
        return;
    };
    // On one connection: SQLite checks `CREATE INDEX` against the schema the connection last
    // read, so on a pool whose other connection dropped the index it "already exists".
    let migrating = sea_orm::Database::connect(
        sea_orm::ConnectOptions::new(app.database_url.clone())
            .max_connections(1)
            .to_owned(),
    )
    .await
    .expect("connect for migrations");
    let conn = &migrating;
    Migrator::down(conn, Some(1))
        .await
        .expect("revert the last migration");

    // Two events as the earlier shape held them: subjects without category and type.
    let events = [
        (
            Uuid::now_v7(),
            1_i64,
            "APP_UPDATED",
            EventCategory::Technical,
        ),
        (
            Uuid::now_v7(),
            2,
            "PAYMENT_METHOD_UPDATED",
            EventCategory::Billing,
        ),
    ];
    for (id, sequence, event_type, category) in events {
        event::ActiveModel {
            id: Set(id),
            sequence: Set(sequence),
            event_type: Set(event_type.to_owned()),
            category: Set(category),
            occurred_at: Set(chrono::Utc::now()),
            actor_id: Set(None),
            actor_name: Set(None),
            summary: Set(format!("event {sequence}")),
            payload: Set(serde_json::json!({})),
        }
        .insert(conn)
        .await
        .expect("insert an event");
        for kind in ["APP", "TEAM"] {
            let mut sql = Sql::new(app.db.backend());
            sql.push(
                "INSERT INTO event_subject (event_id, sequence, kind, object_id, name) VALUES (",
            )
            .bind(id)
            .push(", ")
            .bind(sequence)
            .push(", ")
            .bind(kind)
            .push(", ")
            .bind(Uuid::now_v7())
            .push(", ")
            .bind("a name")
            .push(")");
            conn.execute_raw(sql.statement())
                .await
                .expect("insert a subject of the earlier shape");
        }
    }

    Migrator::up(conn, None).await.expect("migrate again");

    #[derive(FromQueryResult, Debug, PartialEq)]
    struct Copied {
        sequence: i64,
        category: String,
        event_type: String,
    }
    let mut sql = Sql::new(app.db.backend());
    sql.push("SELECT sequence, category, event_type FROM event_subject ORDER BY sequence, kind");
    let copied = Copied::find_by_statement(sql.statement())
        .all(conn)
        .await
        .expect("read the subjects");
    let expected: Vec<Copied> = [
        (1, "TECHNICAL", "APP_UPDATED"),
        (2, "BILLING", "PAYMENT_METHOD_UPDATED"),
    ]
    .into_iter()
    .flat_map(|(sequence, category, event_type)| {
        [0, 1].map(|_| Copied {
            sequence,
            category: category.to_owned(),
            event_type: event_type.to_owned(),
        })
    })
    .collect();
    assert_eq!(copied, expected);
}
