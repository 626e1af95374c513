pub use sea_orm_migration::prelude::*;

mod m20261128_000001_people;
mod m20261128_000002_teams_apps_billing;
mod m20261128_000003_invitations_requests;
mod m20261128_000004_events;
mod m20261128_000005_sign_in;
mod m20261128_000006_mail_outbox;
mod m20261128_000007_rate_limit;
mod m20261207_000008_sent_mail_bodies;
mod m20261207_000009_mail_recipient_index;
mod m20261207_000010_event_kind_in_indexes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_people::Migration),
            Box::new(m20261128_000002_teams_apps_billing::Migration),
            Box::new(m20261128_000003_invitations_requests::Migration),
            Box::new(m20261128_000004_events::Migration),
            Box::new(m20261128_000005_sign_in::Migration),
            Box::new(m20261128_000006_mail_outbox::Migration),
            Box::new(m20261128_000007_rate_limit::Migration),
            Box::new(m20261207_000008_sent_mail_bodies::Migration),
            Box::new(m20261207_000009_mail_recipient_index::Migration),
            Box::new(m20261207_000010_event_kind_in_indexes::Migration),
        ]
    }
}

/// `CREATE INDEX name ON table (columns...)`.
///
/// Indexes are separate statements because neither SQLite nor PostgreSQL accepts them inside
/// `CREATE TABLE`.
fn index<T: Iden + 'static>(
    name: &str,
    table: T,
    columns: impl IntoIterator<Item = T>,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column);
    }
    index
}

/// `CREATE UNIQUE INDEX name ON table (columns...)`.
fn unique_index<T: Iden + 'static>(
    name: &str,
    table: T,
    columns: impl IntoIterator<Item = T>,
) -> IndexCreateStatement {
    index(name, table, columns).unique().take()
}

/// Drops `tables` in the given order.
async fn drop_tables(
    manager: &SchemaManager<'_>,
    tables: impl IntoIterator<Item = DynIden>,
) -> Result<(), DbErr> {
    for table in tables {
        manager
            .drop_table(Table::drop().table(table).take())
            .await?;
    }
    Ok(())
}
