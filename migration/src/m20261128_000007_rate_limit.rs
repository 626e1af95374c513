//! `rate_limit`: the points each person spent in their current hour, shared by every instance
//! (each adds what it charged about once a second; see `src/rate_limit.rs`).

use sea_orm_migration::{prelude::*, schema::*};

use crate::drop_tables;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RateLimit::Table)
                    .col(pk_uuid(RateLimit::PersonId))
                    .col(timestamp_with_time_zone(RateLimit::WindowStart))
                    .col(big_integer(RateLimit::Used))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_rate_limit_person")
                            .from(RateLimit::Table, RateLimit::PersonId)
                            .to(Person::Table, Person::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, [RateLimit::Table.into_iden()]).await
    }
}

#[derive(DeriveIden)]
enum RateLimit {
    Table,
    PersonId,
    /// When the person's current hour began.
    WindowStart,
    /// Points spent in it, by every instance.
    Used,
}

#[derive(DeriveIden)]
enum Person {
    Table,
    Id,
}
