//! Empties the bodies of invitation mails already sent. A mail's body holds its invitation's
//! accept link, whose secret the invitation keeps only as a hash; since this version the worker
//! empties a mail's bodies as soon as it is sent, and this does the same for mails sent before.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .exec_stmt(
                Query::update()
                    .table(MailOutbox::Table)
                    .value(MailOutbox::TextBody, "")
                    .value(MailOutbox::HtmlBody, "")
                    .and_where(Expr::col(MailOutbox::SentAt).is_not_null())
                    .take(),
            )
            .await
    }

    /// Nothing to undo: the secrets are gone, as intended.
    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    TextBody,
    HtmlBody,
    SentAt,
}
