//! Browser sign-in: `person_identity` (who a person is at an OpenID Connect provider),
//! `sign_in_attempt` (one login in flight) and `browser_session`.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_people::Person;
use crate::{drop_tables, index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PersonIdentity::Table)
                    .col(pk_uuid(PersonIdentity::Id))
                    .col(uuid(PersonIdentity::PersonId))
                    .col(text(PersonIdentity::Issuer))
                    .col(text(PersonIdentity::Subject))
                    .col(text(PersonIdentity::Email))
                    .col(timestamp_with_time_zone(PersonIdentity::CreatedAt))
                    .col(timestamp_with_time_zone(PersonIdentity::LastSignInAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_person_identity_person")
                            .from(PersonIdentity::Table, PersonIdentity::PersonId)
                            .to(Person::Table, Person::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "uq_person_identity_issuer_subject",
                PersonIdentity::Table,
                [PersonIdentity::Issuer, PersonIdentity::Subject],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_person_identity_person",
                PersonIdentity::Table,
                [PersonIdentity::PersonId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SignInAttempt::Table)
                    .col(pk_uuid(SignInAttempt::Id))
                    .col(text(SignInAttempt::StateHash))
                    .col(text(SignInAttempt::BrowserHash))
                    .col(text(SignInAttempt::Provider))
                    .col(text(SignInAttempt::PkceVerifier))
                    .col(text(SignInAttempt::Nonce))
                    .col(text(SignInAttempt::ReturnTo))
                    .col(text(SignInAttempt::AccountType))
                    .col(timestamp_with_time_zone(SignInAttempt::CreatedAt))
                    .col(timestamp_with_time_zone(SignInAttempt::ExpiresAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "uq_sign_in_attempt_state_hash",
                SignInAttempt::Table,
                [SignInAttempt::StateHash],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_sign_in_attempt_expires_at",
                SignInAttempt::Table,
                [SignInAttempt::ExpiresAt],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BrowserSession::Table)
                    .col(pk_uuid(BrowserSession::Id))
                    .col(uuid(BrowserSession::PersonId))
                    .col(text(BrowserSession::SecretHash))
                    .col(timestamp_with_time_zone(BrowserSession::CreatedAt))
                    .col(timestamp_with_time_zone(BrowserSession::LastSeenAt))
                    .col(timestamp_with_time_zone(BrowserSession::ExpiresAt))
                    .col(timestamp_with_time_zone_null(BrowserSession::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_browser_session_person")
                            .from(BrowserSession::Table, BrowserSession::PersonId)
                            .to(Person::Table, Person::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "uq_browser_session_secret_hash",
                BrowserSession::Table,
                [BrowserSession::SecretHash],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_browser_session_person",
                BrowserSession::Table,
                [BrowserSession::PersonId],
            ))
            .await?;
        // Every instance's feed looks for recently ended sessions every second.
        manager
            .create_index(index(
                "idx_browser_session_revoked_at",
                BrowserSession::Table,
                [BrowserSession::RevokedAt],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            [
                BrowserSession::Table.into_iden(),
                SignInAttempt::Table.into_iden(),
                PersonIdentity::Table.into_iden(),
            ],
        )
        .await
    }
}

#[derive(DeriveIden)]
enum PersonIdentity {
    Table,
    Id,
    PersonId,
    /// The provider's issuer URL, exactly as in its ID tokens.
    Issuer,
    /// The provider's stable id of the person (`sub`).
    Subject,
    /// The verified e-mail at the last sign-in.
    Email,
    CreatedAt,
    LastSignInAt,
}

#[derive(DeriveIden)]
enum SignInAttempt {
    Table,
    Id,
    /// Hash of the `state` sent to the provider; the attempt is found, and consumed, by it.
    StateHash,
    /// Hash of the secret in the browser's sign-in cookie: the callback must come from the
    /// browser that started the login.
    BrowserHash,
    Provider,
    PkceVerifier,
    Nonce,
    ReturnTo,
    /// The account type a person created by this sign-in gets.
    AccountType,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum BrowserSession {
    Table,
    Id,
    PersonId,
    SecretHash,
    CreatedAt,
    LastSeenAt,
    /// The absolute end, whatever the activity.
    ExpiresAt,
    RevokedAt,
}
