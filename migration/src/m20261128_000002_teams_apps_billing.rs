//! Teams, apps and billing: `team`, `team_member`, `payment_method`, `app`, `environment`,
//! `team_app`, `developer_connection`, `app_grant`, `technical_contact`,
//! `payment_method_person`, `payment_method_team`.

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
                    .table(Team::Table)
                    .col(pk_uuid(Team::Id))
                    .col(text(Team::Name))
                    .col(timestamp_with_time_zone(Team::CreatedAt))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TeamMember::Table)
                    .col(uuid(TeamMember::TeamId))
                    .col(uuid(TeamMember::PersonId))
                    .col(text(TeamMember::Role))
                    .col(timestamp_with_time_zone(TeamMember::JoinedAt))
                    .primary_key(
                        Index::create()
                            .col(TeamMember::TeamId)
                            .col(TeamMember::PersonId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_team_member_team")
                            .from(TeamMember::Table, TeamMember::TeamId)
                            .to(Team::Table, Team::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_team_member_person")
                            .from(TeamMember::Table, TeamMember::PersonId)
                            .to(Person::Table, Person::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_team_member_person_team",
                TeamMember::Table,
                [TeamMember::PersonId, TeamMember::TeamId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PaymentMethod::Table)
                    .col(pk_uuid(PaymentMethod::Id))
                    .col(text(PaymentMethod::Label))
                    .col(text(PaymentMethod::PaymentType))
                    .col(text(PaymentMethod::InvoiceEmail))
                    .col(text(PaymentMethod::InvoiceAddress))
                    .col(text_null(PaymentMethod::VatId))
                    .col(timestamp_with_time_zone(PaymentMethod::CreatedAt))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(App::Table)
                    .col(pk_uuid(App::Id))
                    .col(text(App::Name))
                    .col(text_null(App::Description))
                    .col(uuid_null(App::PaymentMethodId))
                    .col(timestamp_with_time_zone(App::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_app_payment_method")
                            .from(App::Table, App::PaymentMethodId)
                            .to(PaymentMethod::Table, PaymentMethod::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_app_payment_method",
                App::Table,
                [App::PaymentMethodId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Environment::Table)
                    .col(pk_uuid(Environment::Id))
                    .col(uuid(Environment::AppId))
                    .col(text(Environment::Name))
                    .col(timestamp_with_time_zone(Environment::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_environment_app")
                            .from(Environment::Table, Environment::AppId)
                            .to(App::Table, App::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "uq_environment_app_name",
                Environment::Table,
                [Environment::AppId, Environment::Name],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TeamApp::Table)
                    .col(uuid(TeamApp::TeamId))
                    .col(uuid(TeamApp::AppId))
                    .col(timestamp_with_time_zone(TeamApp::AddedAt))
                    .primary_key(Index::create().col(TeamApp::TeamId).col(TeamApp::AppId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_team_app_team")
                            .from(TeamApp::Table, TeamApp::TeamId)
                            .to(Team::Table, Team::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_team_app_app")
                            .from(TeamApp::Table, TeamApp::AppId)
                            .to(App::Table, App::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_team_app_app_team",
                TeamApp::Table,
                [TeamApp::AppId, TeamApp::TeamId],
            ))
            .await?;

        // The composite foreign keys only apply when team_id is set (MATCH SIMPLE): a
        // connection made through a team dies with the membership or with the team's app link.
        manager
            .create_table(
                Table::create()
                    .table(DeveloperConnection::Table)
                    .col(pk_uuid(DeveloperConnection::Id))
                    .col(uuid(DeveloperConnection::PersonId))
                    .col(uuid(DeveloperConnection::AppId))
                    .col(uuid_null(DeveloperConnection::TeamId))
                    .col(timestamp_with_time_zone(DeveloperConnection::ConnectedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_developer_connection_person")
                            .from(DeveloperConnection::Table, DeveloperConnection::PersonId)
                            .to(Person::Table, Person::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_developer_connection_app")
                            .from(DeveloperConnection::Table, DeveloperConnection::AppId)
                            .to(App::Table, App::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_developer_connection_team")
                            .from(DeveloperConnection::Table, DeveloperConnection::TeamId)
                            .to(Team::Table, Team::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_developer_connection_team_app")
                            .from(
                                DeveloperConnection::Table,
                                (DeveloperConnection::TeamId, DeveloperConnection::AppId),
                            )
                            .to(TeamApp::Table, (TeamApp::TeamId, TeamApp::AppId))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_developer_connection_team_member")
                            .from(
                                DeveloperConnection::Table,
                                (DeveloperConnection::TeamId, DeveloperConnection::PersonId),
                            )
                            .to(
                                TeamMember::Table,
                                (TeamMember::TeamId, TeamMember::PersonId),
                            )
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        // Also the parent key of technical_contact's foreign key, so it must exist before that
        // table is used.
        manager
            .create_index(unique_index(
                "uq_developer_connection_person_app",
                DeveloperConnection::Table,
                [DeveloperConnection::PersonId, DeveloperConnection::AppId],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_developer_connection_app_person",
                DeveloperConnection::Table,
                [DeveloperConnection::AppId, DeveloperConnection::PersonId],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_developer_connection_team_app",
                DeveloperConnection::Table,
                [DeveloperConnection::TeamId, DeveloperConnection::AppId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AppGrant::Table)
                    .col(uuid(AppGrant::TeamId))
                    .col(uuid(AppGrant::AppId))
                    .col(uuid(AppGrant::PersonId))
                    .col(timestamp_with_time_zone(AppGrant::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(AppGrant::TeamId)
                            .col(AppGrant::AppId)
                            .col(AppGrant::PersonId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_app_grant_team_app")
                            .from(AppGrant::Table, (AppGrant::TeamId, AppGrant::AppId))
                            .to(TeamApp::Table, (TeamApp::TeamId, TeamApp::AppId))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_app_grant_team_member")
                            .from(AppGrant::Table, (AppGrant::TeamId, AppGrant::PersonId))
                            .to(
                                TeamMember::Table,
                                (TeamMember::TeamId, TeamMember::PersonId),
                            )
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_app_grant_person",
                AppGrant::Table,
                [AppGrant::PersonId],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_app_grant_app",
                AppGrant::Table,
                [AppGrant::AppId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TechnicalContact::Table)
                    .col(uuid(TechnicalContact::AppId))
                    .col(uuid(TechnicalContact::PersonId))
                    .col(timestamp_with_time_zone(TechnicalContact::Since))
                    .primary_key(
                        Index::create()
                            .col(TechnicalContact::AppId)
                            .col(TechnicalContact::PersonId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_technical_contact_developer_connection")
                            .from(
                                TechnicalContact::Table,
                                (TechnicalContact::PersonId, TechnicalContact::AppId),
                            )
                            .to(
                                DeveloperConnection::Table,
                                (DeveloperConnection::PersonId, DeveloperConnection::AppId),
                            )
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_technical_contact_person_app",
                TechnicalContact::Table,
                [TechnicalContact::PersonId, TechnicalContact::AppId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PaymentMethodPerson::Table)
                    .col(uuid(PaymentMethodPerson::PaymentMethodId))
                    .col(uuid(PaymentMethodPerson::PersonId))
                    .col(timestamp_with_time_zone(PaymentMethodPerson::ConnectedAt))
                    .primary_key(
                        Index::create()
                            .col(PaymentMethodPerson::PaymentMethodId)
                            .col(PaymentMethodPerson::PersonId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payment_method_person_payment_method")
                            .from(
                                PaymentMethodPerson::Table,
                                PaymentMethodPerson::PaymentMethodId,
                            )
                            .to(PaymentMethod::Table, PaymentMethod::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payment_method_person_person")
                            .from(PaymentMethodPerson::Table, PaymentMethodPerson::PersonId)
                            .to(Person::Table, Person::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_payment_method_person_person",
                PaymentMethodPerson::Table,
                [
                    PaymentMethodPerson::PersonId,
                    PaymentMethodPerson::PaymentMethodId,
                ],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PaymentMethodTeam::Table)
                    .col(uuid(PaymentMethodTeam::PaymentMethodId))
                    .col(uuid(PaymentMethodTeam::TeamId))
                    .col(timestamp_with_time_zone(PaymentMethodTeam::ConnectedAt))
                    .primary_key(
                        Index::create()
                            .col(PaymentMethodTeam::PaymentMethodId)
                            .col(PaymentMethodTeam::TeamId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payment_method_team_payment_method")
                            .from(PaymentMethodTeam::Table, PaymentMethodTeam::PaymentMethodId)
                            .to(PaymentMethod::Table, PaymentMethod::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payment_method_team_team")
                            .from(PaymentMethodTeam::Table, PaymentMethodTeam::TeamId)
                            .to(Team::Table, Team::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_payment_method_team_team",
                PaymentMethodTeam::Table,
                [
                    PaymentMethodTeam::TeamId,
                    PaymentMethodTeam::PaymentMethodId,
                ],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            [
                PaymentMethodTeam::Table.into_iden(),
                PaymentMethodPerson::Table.into_iden(),
                TechnicalContact::Table.into_iden(),
                AppGrant::Table.into_iden(),
                DeveloperConnection::Table.into_iden(),
                TeamApp::Table.into_iden(),
                Environment::Table.into_iden(),
                App::Table.into_iden(),
                PaymentMethod::Table.into_iden(),
                TeamMember::Table.into_iden(),
                Team::Table.into_iden(),
            ],
        )
        .await
    }
}

#[derive(DeriveIden)]
pub(crate) enum Team {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TeamMember {
    Table,
    TeamId,
    PersonId,
    Role,
    JoinedAt,
}

#[derive(DeriveIden)]
pub(crate) enum PaymentMethod {
    Table,
    Id,
    Label,
    PaymentType,
    InvoiceEmail,
    InvoiceAddress,
    VatId,
    CreatedAt,
}

#[derive(DeriveIden)]
pub(crate) enum App {
    Table,
    Id,
    Name,
    Description,
    PaymentMethodId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Environment {
    Table,
    Id,
    AppId,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
pub(crate) enum TeamApp {
    Table,
    TeamId,
    AppId,
    AddedAt,
}

#[derive(DeriveIden)]
enum DeveloperConnection {
    Table,
    Id,
    PersonId,
    AppId,
    TeamId,
    ConnectedAt,
}

#[derive(DeriveIden)]
enum AppGrant {
    Table,
    TeamId,
    AppId,
    PersonId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TechnicalContact {
    Table,
    AppId,
    PersonId,
    Since,
}

#[derive(DeriveIden)]
enum PaymentMethodPerson {
    Table,
    PaymentMethodId,
    PersonId,
    ConnectedAt,
}

#[derive(DeriveIden)]
enum PaymentMethodTeam {
    Table,
    PaymentMethodId,
    TeamId,
    ConnectedAt,
}
