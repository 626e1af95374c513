//! `mail_outbox`: e-mails written in the same transaction as what they announce, sent later by
//! a background worker, so that a mail server being down loses nothing.

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
                    .table(MailOutbox::Table)
                    .col(pk_uuid(MailOutbox::Id))
                    .col(text(MailOutbox::MessageId))
                    .col(text(MailOutbox::Recipient))
                    .col(text(MailOutbox::Subject))
                    .col(text(MailOutbox::TextBody))
                    .col(text(MailOutbox::HtmlBody))
                    .col(timestamp_with_time_zone(MailOutbox::CreatedAt))
                    .col(integer(MailOutbox::Attempts))
                    .col(timestamp_with_time_zone(MailOutbox::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(MailOutbox::LockedUntil))
                    .col(timestamp_with_time_zone_null(MailOutbox::SentAt))
                    .col(text_null(MailOutbox::LastError))
                    .take(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "uq_mail_outbox_message_id",
                MailOutbox::Table,
                [MailOutbox::MessageId],
            ))
            .await?;
        // The worker's question: unsent mails that are due.
        manager
            .create_index(index(
                "idx_mail_outbox_due",
                MailOutbox::Table,
                [MailOutbox::SentAt, MailOutbox::NextAttemptAt],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, [MailOutbox::Table.into_iden()]).await
    }
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Id,
    /// The `Message-ID` header: the same on every attempt, so that a receiver can tell a mail
    /// sent again after a crash from a new one.
    MessageId,
    Recipient,
    Subject,
    TextBody,
    HtmlBody,
    CreatedAt,
    Attempts,
    NextAttemptAt,
    /// A worker sending it holds it until then; after a crash another takes over.
    LockedUntil,
    SentAt,
    LastError,
}
