//! People and their credentials: `person`, `personal_access_token`, `ssh_key`.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{drop_tables, index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Person::Table)
                    .col(pk_uuid(Person::Id))
                    .col(text(Person::Email))
                    .col(text(Person::Name))
                    .col(text(Person::AccountType))
                    .col(timestamp_with_time_zone(Person::CreatedAt))
                    .col(timestamp_with_time_zone_null(Person::CancelledAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "uq_person_email",
                Person::Table,
                [Person::Email],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PersonalAccessToken::Table)
                    .col(pk_uuid(PersonalAccessToken::Id))
                    .col(uuid(PersonalAccessToken::PersonId))
                    .col(text(PersonalAccessToken::Name))
                    .col(text(PersonalAccessToken::Prefix))
                    .col(text(PersonalAccessToken::SecretHash))
                    .col(text(PersonalAccessToken::Scope))
                    .col(timestamp_with_time_zone(PersonalAccessToken::CreatedAt))
                    .col(timestamp_with_time_zone_null(
                        PersonalAccessToken::LastUsedAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        PersonalAccessToken::ExpiresAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        PersonalAccessToken::RevokedAt,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_personal_access_token_person")
                            .from(PersonalAccessToken::Table, PersonalAccessToken::PersonId)
                            .to(Person::Table, Person::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "uq_personal_access_token_secret_hash",
                PersonalAccessToken::Table,
                [PersonalAccessToken::SecretHash],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_personal_access_token_person",
                PersonalAccessToken::Table,
                [PersonalAccessToken::PersonId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SshKey::Table)
                    .col(pk_uuid(SshKey::Id))
                    .col(uuid(SshKey::PersonId))
                    .col(text(SshKey::Title))
                    .col(text(SshKey::PublicKey))
                    .col(text(SshKey::Fingerprint))
                    .col(timestamp_with_time_zone(SshKey::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ssh_key_person")
                            .from(SshKey::Table, SshKey::PersonId)
                            .to(Person::Table, Person::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "uq_ssh_key_fingerprint",
                SshKey::Table,
                [SshKey::Fingerprint],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_ssh_key_person",
                SshKey::Table,
                [SshKey::PersonId],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            [
                SshKey::Table.into_iden(),
                PersonalAccessToken::Table.into_iden(),
                Person::Table.into_iden(),
            ],
        )
        .await
    }
}

#[derive(DeriveIden)]
pub(crate) enum Person {
    Table,
    Id,
    Email,
    Name,
    AccountType,
    CreatedAt,
    CancelledAt,
}

#[derive(DeriveIden)]
enum PersonalAccessToken {
    Table,
    Id,
    PersonId,
    Name,
    Prefix,
    SecretHash,
    Scope,
    CreatedAt,
    LastUsedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum SshKey {
    Table,
    Id,
    PersonId,
    Title,
    PublicKey,
    Fingerprint,
    CreatedAt,
}
