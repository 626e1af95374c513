//! Invitation e-mails against a real SMTP server: aiosmtpd from PyPI (tests/smtp), installed
//! by the test into a virtual environment under target/. The mail arrives with both parts and
//! its link accepts the invitation; mails queued while the server is down arrive once it is
//! back, each exactly once.

use crate::common;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use crate::common::TestApp;
use crate::common::demo::{Demo, invite_to_rocket};
use entity::mail_outbox;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// The virtual environment with aiosmtpd, made once per requirements file (a stamp holds its
/// hash).
fn python() -> PathBuf {
    static READY: Mutex<Option<Result<PathBuf, String>>> = Mutex::new(None);
    let mut ready = READY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let outcome = ready.get_or_insert_with(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let requirements = root.join("tests/smtp/requirements.txt");
        let venv = root.join("target/smtp-venv");
        let python = venv.join("bin/python");
        let hash = hex::encode(Sha256::digest(
            std::fs::read(&requirements).map_err(|err| format!("read requirements: {err}"))?,
        ));
        let stamp = venv.join(".warren-requirements-sha256");
        if std::fs::read_to_string(&stamp).is_ok_and(|done| done == hash) {
            return Ok(python);
        }
        let run = |program: &std::path::Path, args: &[&str]| -> Result<(), String> {
            let output = std::process::Command::new(program)
                .args(args)
                .output()
                .map_err(|err| format!("run {}: {err}", program.display()))?;
            if output.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{} {args:?} failed:\n{}{}",
                    program.display(),
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ))
            }
        };
        let venv_arg = venv.to_string_lossy().into_owned();
        run(std::path::Path::new("python3"), &["-m", "venv", &venv_arg])?;
        let requirements_arg = requirements.to_string_lossy().into_owned();
        run(
            &python,
            &["-m", "pip", "install", "--quiet", "-r", &requirements_arg],
        )?;
        std::fs::write(&stamp, hash).map_err(|err| format!("write the stamp: {err}"))?;
        Ok(python)
    });
    match outcome {
        Ok(python) => python.clone(),
        Err(message) => panic!("{message}"),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// The SMTP server process; stopped when dropped.
struct MailServer {
    mails: mpsc::UnboundedReceiver<Value>,
    _process: Child,
}

impl MailServer {
    async fn start(port: u16) -> MailServer {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/server.py");
        let mut process = Command::new(python())
            .arg(script)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the SMTP server");
        let mut lines = BufReader::new(process.stdout.take().expect("stdout")).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the SMTP server starts within a minute")
            .expect("read")
            .expect("a first line");
        assert!(first.contains("port"), "{first}");
        let (sender, mails) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(mail) = serde_json::from_str(&line) {
                    let _ = sender.send(mail);
                }
            }
        });
        MailServer {
            mails,
            _process: process,
        }
    }

    async fn next_mail(&mut self) -> Value {
        tokio::time::timeout(Duration::from_secs(30), self.mails.recv())
            .await
            .expect("a mail within 30 s")
            .expect("the server is running")
    }
}

/// warren sending mail to 127.0.0.1:`port`, retrying fast.
async fn mailing_app(backend: common::Backend, port: u16) -> Option<TestApp> {
    TestApp::spawn_configured(backend, |addr| async move {
        let mut settings = warren::http::Settings::new(&format!("http://{addr}"));
        settings.mail = warren::rules::mail::MailSettings {
            smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
            from: "warren <warren@example.com>".to_owned(),
            retry_base: Duration::from_millis(200),
            retry_cap: Duration::from_secs(1),
            poll: Duration::from_millis(100),
            log_links: false,
        };
        settings
    })
    .await
}

/// The mail says who invited whom to what, in plain text and HTML, and its link accepts.
async fn an_invitation_mail_arrives_and_its_link_accepts(backend: common::Backend) {
    let port = free_port();
    let mut server = MailServer::start(port).await;
    let Some(app) = mailing_app(backend, port).await else {
        return;
    };
    let demo = Demo::seed(&app).await;
    let link = invite_to_rocket(&app, &demo.ana, "zoe@example.com").await;

    let mail = server.next_mail().await;
    assert_eq!(mail["to"], json!(["zoe@example.com"]), "{mail}");
    let subject = mail["subject"].as_str().expect("subject");
    assert!(
        subject.contains("Ana") && subject.contains("Rocket"),
        "{subject}"
    );
    let text = mail["text"].as_str().expect("a plain-text part");
    assert!(text.contains("LIMITED"), "{text}");
    let html = mail["html"].as_str().expect("an HTML part");
    assert!(html.contains("Rocket"), "{html}");
    // The link in the mail is the invitation's.
    let mailed = text
        .split_whitespace()
        .find(|word| word.starts_with("http"))
        .expect("a link");
    assert_eq!(mailed, link);
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");

    let mut world =
        warren::seed::world::World::new(&app.db.conn, warren::seed::world::Clock::now());
    let (_, zoe) = common::person_with_token(
        &mut world,
        "Zoe",
        "zoe@example.com",
        entity::enums::AccountType::Developer,
    )
    .await;
    let (_, token) = mailed.split_once("token=").expect("a token in the link");
    // Once sent, the mail's bodies are emptied: the secret does not stay in the table
    // (docs/security.md, "Secrets at rest").
    let mut sent = None;
    for _ in 0..100 {
        let row = mail_outbox::Entity::find()
            .all(&app.db.conn)
            .await
            .expect("outbox")
            .into_iter()
            .find(|mail| mail.recipient == "zoe@example.com")
            .expect("the mail's row");
        if row.sent_at.is_some() {
            sent = Some(row);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sent = sent.expect("the mail is marked sent");
    assert!(!sent.text_body.contains(token), "{}", sent.text_body);
    assert!(!sent.html_body.contains(token), "{}", sent.html_body);
    let accepted = app
        .mutation_code(&zoe, "acceptInvitation", json!({ "token": token }))
        .await;
    assert_eq!(accepted, None);
    let teams = app
        .query(&zoe, "{ viewer { teams { nodes { name } } } }", json!({}))
        .await;
    assert_eq!(
        teams["viewer"]["teams"]["nodes"][0]["name"], "Rocket",
        "{teams}"
    );
}

/// Invitations made while the mail server is down are kept, retried, and delivered once it is
/// back, each exactly once.
async fn mails_wait_for_the_server_and_arrive_once(backend: common::Backend) {
    let port = free_port();
    let Some(app) = mailing_app(backend, port).await else {
        return;
    };
    let demo = Demo::seed(&app).await;
    let invited = ["a@example.com", "b@example.com", "c@example.com"];
    for email in invited {
        invite_to_rocket(&app, &demo.ana, email).await;
    }
    // The worker has tried and failed meanwhile.
    let mut failed = false;
    for _ in 0..100 {
        let queued = mail_outbox::Entity::find()
            .all(&app.db.conn)
            .await
            .expect("outbox");
        if queued.len() == 3
            && queued
                .iter()
                .all(|m| m.attempts >= 1 && m.sent_at.is_none())
        {
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(failed, "the mails were not tried while the server was down");

    let mut server = MailServer::start(port).await;
    let mut received = Vec::new();
    for _ in 0..invited.len() {
        let mail = server.next_mail().await;
        received.push(mail["to"][0].as_str().expect("recipient").to_owned());
    }
    received.sort();
    assert_eq!(received, invited);
    // Nothing arrives twice.
    let again = tokio::time::timeout(Duration::from_secs(3), server.mails.recv()).await;
    assert!(again.is_err(), "a mail arrived twice: {again:?}");
    let queued = mail_outbox::Entity::find()
        .all(&app.db.conn)
        .await
        .expect("outbox");
    assert!(queued.iter().all(|m| m.sent_at.is_some()), "{queued:?}");
}

on_both_backends!(
    an_invitation_mail_arrives_and_its_link_accepts,
    mails_wait_for_the_server_and_arrive_once,
);
