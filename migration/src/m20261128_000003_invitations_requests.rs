//! Invitations and access requests: `invitation`, `invitation_app`, `access_request`.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_people::Person;
use crate::m20261128_000002_teams_apps_billing::{App, PaymentMethod, Team, TeamApp};
use crate::{drop_tables, index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Invitation::Table)
                    .col(pk_uuid(Invitation::Id))
                    .col(text(Invitation::Kind))
                    .col(text(Invitation::State))
                    .col(text(Invitation::Email))
                    .col(text_null(Invitation::Role))
                    .col(uuid_null(Invitation::InviterId))
                    .col(uuid_null(Invitation::TeamId))
                    .col(uuid_null(Invitation::AppId))
                    .col(uuid_null(Invitation::PaymentMethodId))
                    .col(text(Invitation::SecretHash))
                    .col(timestamp_with_time_zone(Invitation::CreatedAt))
                    .col(timestamp_with_time_zone(Invitation::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Invitation::DecidedAt))
                    .col(uuid_null(Invitation::DecidedById))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitation_inviter")
                            .from(Invitation::Table, Invitation::InviterId)
                            .to(Person::Table, Person::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitation_decided_by")
                            .from(Invitation::Table, Invitation::DecidedById)
                            .to(Person::Table, Person::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitation_team")
                            .from(Invitation::Table, Invitation::TeamId)
                            .to(Team::Table, Team::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitation_app")
                            .from(Invitation::Table, Invitation::AppId)
                            .to(App::Table, App::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitation_payment_method")
                            .from(Invitation::Table, Invitation::PaymentMethodId)
                            .to(PaymentMethod::Table, PaymentMethod::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "uq_invitation_secret_hash",
                Invitation::Table,
                [Invitation::SecretHash],
            ))
            .await?;
        for (name, columns) in [
            (
                "idx_invitation_email_state",
                vec![Invitation::Email, Invitation::State],
            ),
            ("idx_invitation_team", vec![Invitation::TeamId]),
            ("idx_invitation_app", vec![Invitation::AppId]),
            (
                "idx_invitation_payment_method",
                vec![Invitation::PaymentMethodId],
            ),
            ("idx_invitation_inviter", vec![Invitation::InviterId]),
        ] {
            manager
                .create_index(index(name, Invitation::Table, columns))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(InvitationApp::Table)
                    .col(uuid(InvitationApp::InvitationId))
                    .col(uuid(InvitationApp::AppId))
                    .primary_key(
                        Index::create()
                            .col(InvitationApp::InvitationId)
                            .col(InvitationApp::AppId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitation_app_invitation")
                            .from(InvitationApp::Table, InvitationApp::InvitationId)
                            .to(Invitation::Table, Invitation::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitation_app_app")
                            .from(InvitationApp::Table, InvitationApp::AppId)
                            .to(App::Table, App::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_invitation_app_app",
                InvitationApp::Table,
                [InvitationApp::AppId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AccessRequest::Table)
                    .col(pk_uuid(AccessRequest::Id))
                    .col(uuid(AccessRequest::TeamId))
                    .col(uuid(AccessRequest::AppId))
                    .col(uuid(AccessRequest::RequesterId))
                    .col(text(AccessRequest::State))
                    .col(timestamp_with_time_zone(AccessRequest::CreatedAt))
                    .col(timestamp_with_time_zone_null(AccessRequest::DecidedAt))
                    .col(uuid_null(AccessRequest::DecidedById))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_access_request_team_app")
                            .from(
                                AccessRequest::Table,
                                (AccessRequest::TeamId, AccessRequest::AppId),
                            )
                            .to(TeamApp::Table, (TeamApp::TeamId, TeamApp::AppId))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_access_request_requester")
                            .from(AccessRequest::Table, AccessRequest::RequesterId)
                            .to(Person::Table, Person::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_access_request_decided_by")
                            .from(AccessRequest::Table, AccessRequest::DecidedById)
                            .to(Person::Table, Person::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .take(),
            )
            .await?;
        for (name, columns) in [
            (
                "idx_access_request_team_state",
                vec![AccessRequest::TeamId, AccessRequest::State],
            ),
            ("idx_access_request_app", vec![AccessRequest::AppId]),
            (
                "idx_access_request_requester",
                vec![AccessRequest::RequesterId],
            ),
        ] {
            manager
                .create_index(index(name, AccessRequest::Table, columns))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            [
                AccessRequest::Table.into_iden(),
                InvitationApp::Table.into_iden(),
                Invitation::Table.into_iden(),
            ],
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Invitation {
    Table,
    Id,
    Kind,
    State,
    Email,
    Role,
    InviterId,
    TeamId,
    AppId,
    PaymentMethodId,
    SecretHash,
    CreatedAt,
    ExpiresAt,
    DecidedAt,
    DecidedById,
}

#[derive(DeriveIden)]
enum InvitationApp {
    Table,
    InvitationId,
    AppId,
}

#[derive(DeriveIden)]
enum AccessRequest {
    Table,
    Id,
    TeamId,
    AppId,
    RequesterId,
    State,
    CreatedAt,
    DecidedAt,
    DecidedById,
}
