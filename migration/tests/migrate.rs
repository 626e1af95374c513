//! Runs the migrations up, down and up again on an in-memory SQLite database and, when
//! `WARREN_TEST_POSTGRES_URL` points at a PostgreSQL server (an admin connection, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`), on a freshly created database there; then
//! checks that the constraints the application relies on are really in the schema. With
//! `WARREN_TEST_REQUIRE_POSTGRES` set, a missing `WARREN_TEST_POSTGRES_URL` is a failure.

use std::hash::{BuildHasher, Hasher, RandomState};

use migration::sea_orm::prelude::Uuid;
use migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbErr};
use migration::{Expr, ExprTrait, Migrator, MigratorTrait, Query, SchemaManager};

#[tokio::test]
async fn migrations_run_on_sqlite() {
    let db = Database::connect("sqlite::memory:")
        .await
        .expect("open in-memory SQLite");
    exercise(&db).await;
}

#[cfg_attr(
    no_test_postgres,
    ignore = "needs PostgreSQL: set WARREN_TEST_POSTGRES_URL"
)]
#[tokio::test]
async fn migrations_run_on_postgres() {
    let Ok(admin_url) = std::env::var("WARREN_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("WARREN_TEST_REQUIRE_POSTGRES").is_none(),
            "WARREN_TEST_REQUIRE_POSTGRES is set but WARREN_TEST_POSTGRES_URL is not"
        );
        eprintln!("WARREN_TEST_POSTGRES_URL is not set; skipping the PostgreSQL run");
        return;
    };
    let admin = Database::connect(&admin_url)
        .await
        .expect("connect to WARREN_TEST_POSTGRES_URL");
    let name = format!("warren_mig_{:016x}", random_u64());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create the test database");

    let db = Database::connect(with_database(&admin_url, &name))
        .await
        .expect("connect to the test database");
    // Run on a task so that a failed assertion still lets us drop the database below.
    let outcome = tokio::spawn(async move {
        exercise(&db).await;
        db.close().await.expect("close the test database");
    })
    .await;

    admin
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .expect("drop the test database");
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

async fn exercise(db: &DatabaseConnection) {
    Migrator::up(db, None).await.expect("first up");
    Migrator::down(db, None).await.expect("down");
    let manager = SchemaManager::new(db);
    for table in [
        "person",
        "team_app",
        "developer_connection",
        "invitation",
        "event",
    ] {
        assert!(
            !manager.has_table(table).await.expect("has_table"),
            "`{table}` survived down"
        );
    }
    Migrator::up(db, None).await.expect("second up");
    check_constraints(db).await;
}

async fn check_constraints(db: &DatabaseConnection) {
    let (ana, bo, app, team) = (id(1), id(2), id(3), id(4));
    for (person, email) in [(ana, "ana@example.com"), (bo, "bo@example.com")] {
        insert(
            db,
            "person",
            [
                ("id", Expr::val(person)),
                ("email", Expr::val(email)),
                ("name", Expr::val(email)),
                ("account_type", Expr::val("DEVELOPER")),
                ("created_at", Expr::current_timestamp()),
            ],
        )
        .await
        .expect("insert person");
    }
    insert(
        db,
        "app",
        [
            ("id", Expr::val(app)),
            ("name", Expr::val("shop")),
            ("created_at", Expr::current_timestamp()),
        ],
    )
    .await
    .expect("insert app");
    insert(
        db,
        "team",
        [
            ("id", Expr::val(team)),
            ("name", Expr::val("rocket")),
            ("created_at", Expr::current_timestamp()),
        ],
    )
    .await
    .expect("insert team");

    connect(db, id(10), ana, app, None)
        .await
        .expect("first connection");
    assert!(
        connect(db, id(11), ana, app, None).await.is_err(),
        "a second developer_connection for the same (person_id, app_id) was accepted"
    );
    assert!(
        connect(db, id(12), bo, app, Some(team)).await.is_err(),
        "a team connection without team_app and team_member rows was accepted"
    );

    // SQLite only validates a foreign key's parent key when rows are written, so this also
    // proves that (person_id, app_id) is a usable parent key of developer_connection.
    contact(db, app, ana)
        .await
        .expect("technical contact of a connected developer");
    assert!(
        contact(db, app, bo).await.is_err(),
        "a technical contact without a developer connection was accepted"
    );

    db.execute_unprepared("DELETE FROM developer_connection")
        .await
        .expect("delete connections");
    let remaining = db
        .query_one(
            Query::select()
                .expr_as(Expr::col("app_id").count(), "n")
                .from("technical_contact"),
        )
        .await
        .expect("count technical contacts")
        .expect("a count row")
        .try_get::<i64>("", "n")
        .expect("read the count");
    assert_eq!(
        remaining, 0,
        "technical_contact did not cascade from developer_connection"
    );
}

async fn connect(
    db: &DatabaseConnection,
    connection: Uuid,
    person: Uuid,
    app: Uuid,
    team: Option<Uuid>,
) -> Result<(), DbErr> {
    insert(
        db,
        "developer_connection",
        [
            ("id", Expr::val(connection)),
            ("person_id", Expr::val(person)),
            ("app_id", Expr::val(app)),
            ("team_id", Expr::val(team)),
            ("connected_at", Expr::current_timestamp()),
        ],
    )
    .await
}

async fn contact(db: &DatabaseConnection, app: Uuid, person: Uuid) -> Result<(), DbErr> {
    insert(
        db,
        "technical_contact",
        [
            ("app_id", Expr::val(app)),
            ("person_id", Expr::val(person)),
            ("since", Expr::current_timestamp()),
        ],
    )
    .await
}

async fn insert<const N: usize>(
    db: &DatabaseConnection,
    table: &'static str,
    row: [(&'static str, Expr); N],
) -> Result<(), DbErr> {
    let (columns, values): (Vec<_>, Vec<_>) = row.into_iter().unzip();
    db.execute(
        Query::insert()
            .into_table(table)
            .columns(columns)
            .values_panic(values),
    )
    .await
    .map(drop)
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn random_u64() -> u64 {
    // RandomState is seeded randomly per process, which is all a throwaway name needs.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// `url` with its database (the path) replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[host_start..].find('/') {
        Some(slash) => &base[..host_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}
