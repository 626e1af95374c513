//! Invitation e-mails, through a transactional outbox: the mail is written in the same
//! transaction as the invitation (so neither exists without the other), and a worker on every
//! instance sends what is due over SMTP, retrying with backoff while the mail server is down.
//!
//! A mail is taken for sending under a lease (`locked_until`) committed before the SMTP
//! conversation, so two workers never send it at once, and marked sent right after. Only a
//! crash between the server's acceptance and that mark sends it again (after the lease); its
//! `Message-ID` stays the same, so the receiving side can tell.
//!
//! A mail carries its invitation's secret (the accept link), which the invitation itself keeps
//! only as a hash: once the mail is sent, its bodies are emptied, so the secret lives in the
//! table only while it waits to be delivered. Without an SMTP URL mails stay queued, unless an
//! operator asked for them in the log (`log_links`, for local development only: the log then
//! holds the secrets).

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::mail_outbox;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::html::escape_html;
use crate::store::db::Db;

/// How mail leaves this instance.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `smtp://host:port`, `smtps://user:password@host` ...; none logs the mails instead.
    pub smtp_url: Option<String>,
    /// The sender of every mail.
    pub from: String,
    /// The wait after the first failure; it doubles with each one, up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// How often the worker looks for due mail.
    pub poll: Duration,
    /// Without an SMTP URL, write each mail, accept link included, to the log and count it as
    /// sent (local development). Off: such mails stay queued until an SMTP URL is set.
    pub log_links: bool,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            smtp_url: None,
            from: "warren <no-reply@localhost>".to_owned(),
            retry_base: Duration::from_secs(10),
            retry_cap: Duration::from_secs(3600),
            poll: Duration::from_secs(1),
            log_links: false,
        }
    }
}

/// How long a worker may hold a mail it is sending before another may try.
const LEASE: chrono::Duration = chrono::Duration::minutes(2);
/// Mails taken per look.
const BATCH: u64 = 20;

/// What an invitation mail says.
pub struct InvitationMail<'a> {
    pub to: &'a str,
    pub inviter: &'a str,
    /// The object: "team Rocket", "app shop".
    pub what: &'a str,
    /// "UNLIMITED" / "LIMITED", for team invitations.
    pub role: Option<&'a str>,
    pub accept_url: &'a str,
    pub expires_at: DateTime<Utc>,
}

/// How many mails were queued for `recipient` in the past hour.
pub async fn sent_to_recently(conn: &impl ConnectionTrait, recipient: &str) -> ApiResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Recipient.eq(recipient))
        .filter(mail_outbox::Column::CreatedAt.gt(Utc::now() - chrono::Duration::hours(1)))
        .count(conn)
        .await?)
}

/// Queues the mail of an invitation, in the invitation's transaction.
pub async fn queue_invitation(
    conn: &impl ConnectionTrait,
    mail: InvitationMail<'_>,
) -> ApiResult<()> {
    let role = mail
        .role
        .map(|role| format!(" as a {role} member"))
        .unwrap_or_default();
    let expires = mail.expires_at.format("%Y-%m-%d %H:%M UTC");
    let subject = format!("{} invited you to {}", mail.inviter, mail.what);
    let text_body = format!(
        "{inviter} invited you to {what}{role}.\n\n\
         Accept the invitation: {link}\n\n\
         The invitation expires on {expires}. If you did not expect it, ignore this mail.\n",
        inviter = mail.inviter,
        what = mail.what,
        link = mail.accept_url,
    );
    let html_body = format!(
        "<!DOCTYPE html><html><body>\
         <p><strong>{inviter}</strong> invited you to <strong>{what}</strong>{role}.</p>\
         <p><a href=\"{link}\">Accept the invitation</a></p>\
         <p>The invitation expires on {expires}. If you did not expect it, ignore this mail.</p>\
         </body></html>",
        inviter = escape_html(mail.inviter),
        what = escape_html(mail.what),
        role = escape_html(&role),
        link = escape_html(mail.accept_url),
    );
    let id = Uuid::now_v7();
    let now = Utc::now();
    mail_outbox::ActiveModel {
        id: Set(id),
        message_id: Set(format!("{}@warren", id.simple())),
        recipient: Set(mail.to.to_owned()),
        subject: Set(subject),
        text_body: Set(text_body),
        html_body: Set(html_body),
        created_at: Set(now),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        sent_at: Set(None),
        last_error: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Where mails go.
enum Transport {
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
    Log,
}

/// Sends due mail until the process ends.
pub async fn deliver_periodically(db: Db, settings: MailSettings) {
    let transport = match settings.smtp_url.as_deref() {
        Some(url) => match AsyncSmtpTransport::<Tokio1Executor>::from_url(url) {
            Ok(builder) => Transport::Smtp(Box::new(builder.build())),
            Err(err) => {
                tracing::error!(error = %err, "the SMTP URL is not usable; mails stay queued");
                return;
            }
        },
        None if settings.log_links => {
            tracing::warn!(
                "no SMTP server configured: invitation mails, with their accept links (secrets), \
                 are written to the log instead; never do this where the log is kept or shared"
            );
            Transport::Log
        }
        None => {
            tracing::warn!(
                "no SMTP server configured: invitation mails stay queued until one is \
                 (--smtp-url; --log-invitation-links logs them instead, for local development)"
            );
            return;
        }
    };
    let from: Mailbox = match settings.from.parse() {
        Ok(from) => from,
        Err(err) => {
            tracing::error!(error = %err, from = %settings.from, "the sender address is not usable; mails stay queued");
            return;
        }
    };
    loop {
        match deliver_due(&db, &transport, &from, &settings).await {
            // A full batch: there may be more right away.
            Ok(taken) if taken as u64 == BATCH => continue,
            Ok(_) => {}
            Err(err) => tracing::warn!(error = ?err, "looking for mail to send failed"),
        }
        tokio::time::sleep(settings.poll).await;
    }
}

/// Takes the due mails under a lease, sends them, and records each outcome; returns how many
/// were taken.
async fn deliver_due(
    db: &Db,
    transport: &Transport,
    from: &Mailbox,
    settings: &MailSettings,
) -> ApiResult<usize> {
    let now = Utc::now();
    // A write transaction from the start (IMMEDIATE on SQLite): one that reads first and then
    // takes its lease fails with "database is locked" whenever a request committed between.
    let txn = crate::rules::change::begin_write(db).await?;
    let mut due = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::SentAt.is_null())
        .filter(mail_outbox::Column::NextAttemptAt.lte(now))
        .filter(
            sea_orm::Condition::any()
                .add(mail_outbox::Column::LockedUntil.is_null())
                .add(mail_outbox::Column::LockedUntil.lt(now)),
        )
        .order_by_asc(mail_outbox::Column::CreatedAt)
        .limit(BATCH);
    if db.backend() == DbBackend::Postgres {
        // Another instance's worker skips what this one is taking.
        due = due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let due = due.all(&txn).await?;
    for mail in &due {
        mail_outbox::ActiveModel {
            id: Set(mail.id),
            locked_until: Set(Some(now + LEASE)),
            ..Default::default()
        }
        .update(&txn)
        .await?;
    }
    txn.commit().await?;
    for mail in &due {
        let outcome = send(transport, from, mail).await;
        let mut update = mail_outbox::ActiveModel {
            id: Set(mail.id),
            attempts: Set(mail.attempts + 1),
            locked_until: Set(None),
            ..Default::default()
        };
        match outcome {
            Ok(()) => {
                update.sent_at = Set(Some(Utc::now()));
                // The accept link's secret must not outlive its delivery.
                update.text_body = Set(String::new());
                update.html_body = Set(String::new());
            }
            Err(error) => {
                let wait = backoff(settings, mail.attempts + 1);
                tracing::warn!(recipient = %mail.recipient, attempts = mail.attempts + 1, retry_in = ?wait, %error, "sending a mail failed");
                update.last_error = Set(Some(error));
                update.next_attempt_at = Set(Utc::now()
                    + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1)));
            }
        }
        update.update(&db.conn).await?;
    }
    Ok(due.len())
}

/// The wait after `failures` failed attempts: doubling from the base, up to the cap.
fn backoff(settings: &MailSettings, failures: i32) -> Duration {
    let doublings = u32::try_from(failures.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    settings
        .retry_base
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(settings.retry_cap)
}

async fn send(
    transport: &Transport,
    from: &Mailbox,
    mail: &mail_outbox::Model,
) -> Result<(), String> {
    match transport {
        Transport::Log => {
            tracing::info!(recipient = %mail.recipient, subject = %mail.subject, body = %mail.text_body, "no SMTP server configured; the mail is logged instead");
            Ok(())
        }
        Transport::Smtp(smtp) => {
            let to: Mailbox = mail
                .recipient
                .parse()
                .map_err(|err| format!("bad recipient {}: {err}", mail.recipient))?;
            let message = Message::builder()
                .from(from.clone())
                .to(to)
                .subject(mail.subject.clone())
                .message_id(Some(format!("<{}>", mail.message_id)))
                .multipart(MultiPart::alternative_plain_html(
                    mail.text_body.clone(),
                    mail.html_body.clone(),
                ))
                .map_err(|err| format!("cannot build the mail: {err}"))?;
            smtp.send(message)
                .await
                .map(|_| ())
                .map_err(|err| format!("SMTP: {err}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let settings = MailSettings {
            retry_base: Duration::from_secs(10),
            retry_cap: Duration::from_secs(60),
            ..MailSettings::default()
        };
        let waits: Vec<u64> = (1..=5).map(|n| backoff(&settings, n).as_secs()).collect();
        assert_eq!(waits, [10, 20, 40, 60, 60]);
    }
}
