//! The bench world: deterministic (the same rows, ids included, on every run; only secrets and
//! the invitations' expiry differ) and linear in
//! `scale`. At scale 1: 100 people, 20 teams, 40 payment methods, 300 apps, 2,000 events. The
//! viewer (person 0) belongs to 10 teams at every scale, so the dashboard's work per request
//! stays the same while the world around it grows. Scales go up to 1,000 (100,000 people,
//! 300,000 apps, 2,000,000 events): on PostgreSQL the rows go in by COPY (`store::copy`).

use std::collections::HashSet;

use chrono::DurationRound;
use entity::enums::{
    AccountType, EventCategory, InvitationKind, InvitationState, PaymentType, TeamRole, TokenScope,
};
use entity::{
    app, app_grant, developer_connection, environment, event, event_subject, invitation,
    payment_method, payment_method_person, payment_method_team, person, team, team_app,
    team_member, technical_contact,
};
use sea_orm::ActiveValue::Set;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::auth;
use crate::seed::SeedReport;
use crate::seed::world::Clock;
use crate::store::copy::BulkWriter;
use crate::store::db::Db;

/// Events built before they are written, with their subjects: at scale 1,000 the log is
/// 2,000,000 events and 5,200,000 subjects, too many to hold at once for no gain.
const EVENT_BATCH: usize = 50_000;

struct Member {
    person: usize,
    role: TeamRole,
}

pub async fn bench(db: &Db, scale: u32) -> ApiResult<SeedReport> {
    if !(1..=1_000).contains(&scale) {
        return Err(ApiError::bad_input("--scale must be between 1 and 1000"));
    }
    let s = scale as usize;
    let (people_n, teams_n, pms_n, apps_n, events_n) = (100 * s, 20 * s, 40 * s, 300 * s, 2000 * s);
    let is_client = |p: usize| p % 10 == 9;
    let mut clock = Clock::fixed();
    // COPY's own transaction on PostgreSQL; elsewhere a write transaction from the start (see
    // `seed::demo`).
    let mut writer = if BulkWriter::copies(db) {
        BulkWriter::copy(db).await?
    } else {
        BulkWriter::Insert(crate::rules::change::begin_write(db).await?)
    };
    if writer.last_sequence().await? != 0 {
        return Err(ApiError::Conflict {
            message: "the bench world needs an empty database".to_owned(),
            ids: Vec::new(),
        });
    }

    let mut people = Vec::with_capacity(people_n);
    let mut rows = Vec::with_capacity(people_n);
    for p in 0..people_n {
        let (id, at) = clock.tick();
        people.push(id);
        rows.push(person::ActiveModel {
            id: Set(id),
            email: Set(format!("person{p}@bench.example")),
            name: Set(format!("Person {p}")),
            account_type: Set(if is_client(p) {
                AccountType::Client
            } else {
                AccountType::Developer
            }),
            created_at: Set(at),
            cancelled_at: Set(None),
        });
    }
    writer.write(rows).await?;

    // Teams: six developers each, the first (and every other team's second) UNLIMITED; the
    // viewer joins every (2 * scale)-th team, alternately UNLIMITED and LIMITED.
    let mut teams = Vec::with_capacity(teams_n);
    let mut members: Vec<Vec<Member>> = Vec::with_capacity(teams_n);
    let mut rows = Vec::new();
    let mut member_rows = Vec::new();
    for t in 0..teams_n {
        let (id, at) = clock.tick();
        teams.push(id);
        rows.push(team::ActiveModel {
            id: Set(id),
            name: Set(format!("Team {t}")),
            created_at: Set(at),
        });
        let mut chosen: Vec<Member> = Vec::new();
        let mut seen = HashSet::new();
        if t % (2 * s) == 0 {
            let role = if (t / (2 * s)).is_multiple_of(2) {
                TeamRole::Unlimited
            } else {
                TeamRole::Limited
            };
            chosen.push(Member { person: 0, role });
            seen.insert(0);
        }
        let mut k = 0;
        while chosen.len() < 6 + usize::from(seen.contains(&0)) {
            let p = (t * 3 + k * 17 + 1) % people_n;
            k += 1;
            // The viewer is in exactly the teams chosen above (10 at every scale), never
            // picked as another team's member.
            if p == 0 || is_client(p) || !seen.insert(p) {
                continue;
            }
            let unlimited =
                chosen.iter().all(|m| m.person == 0) || (chosen.len() == 1 && t % 2 == 0);
            chosen.push(Member {
                person: p,
                role: if unlimited {
                    TeamRole::Unlimited
                } else {
                    TeamRole::Limited
                },
            });
        }
        for m in &chosen {
            member_rows.push(team_member::ActiveModel {
                team_id: Set(id),
                person_id: Set(people[m.person]),
                role: Set(m.role),
                joined_at: Set(at),
            });
        }
        members.push(chosen);
    }
    writer.write(rows).await?;
    writer.write(member_rows).await?;

    // Payment methods: billed by one client each, every other one also by a developer, and
    // every other one connected to a team.
    let mut pms = Vec::with_capacity(pms_n);
    let (mut rows, mut pm_people, mut pm_teams) = (Vec::new(), Vec::new(), Vec::new());
    for m in 0..pms_n {
        let (id, at) = clock.tick();
        pms.push(id);
        rows.push(payment_method::ActiveModel {
            id: Set(id),
            label: Set(format!("Payment method {m}")),
            payment_type: Set([
                PaymentType::CreditCard,
                PaymentType::SepaDebit,
                PaymentType::Invoice,
            ][m % 3]),
            invoice_email: Set(format!("invoices{m}@bench.example")),
            invoice_address: Set(format!("Street {m}\n10115 Berlin")),
            vat_id: Set((m % 4 == 0).then(|| format!("DE{:09}", m))),
            created_at: Set(at),
        });
        let client = (m * 10 + 9) % people_n;
        pm_people.push(payment_method_person::ActiveModel {
            payment_method_id: Set(id),
            person_id: Set(people[client]),
            connected_at: Set(at),
        });
        let developer = (m * 7 + 2) % people_n;
        if m % 2 == 1 && !is_client(developer) {
            pm_people.push(payment_method_person::ActiveModel {
                payment_method_id: Set(id),
                person_id: Set(people[developer]),
                connected_at: Set(at),
            });
        }
        if m % 2 == 0 {
            pm_teams.push(payment_method_team::ActiveModel {
                payment_method_id: Set(id),
                team_id: Set(teams[m % teams_n]),
                connected_at: Set(at),
            });
        }
    }
    writer.write(rows).await?;
    writer.write(pm_people).await?;
    writer.write(pm_teams).await?;

    // Apps: every fifth a trial app; each held by one team, every third by a second team.
    // Half of the primary team's members subscribe (LIMITED ones with a grant); every fourth
    // app also has a direct developer; the first developer is the technical contact.
    let mut apps = Vec::with_capacity(apps_n);
    let (mut rows, mut envs, mut team_apps, mut connections, mut grants, mut contacts) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let mut connected: HashSet<(usize, usize)> = HashSet::new();
    for a in 0..apps_n {
        let (id, at) = clock.tick();
        apps.push(id);
        let pm = (a % 5 != 4).then(|| pms[a % pms_n]);
        rows.push(app::ActiveModel {
            id: Set(id),
            name: Set(format!("app-{a}")),
            description: Set(None),
            payment_method_id: Set(pm),
            created_at: Set(at),
        });
        for name in if a % 3 == 0 {
            &["main", "staging"][..]
        } else {
            &["main"][..]
        } {
            let (env, at) = clock.tick();
            envs.push(environment::ActiveModel {
                id: Set(env),
                app_id: Set(id),
                name: Set((*name).to_owned()),
                created_at: Set(at),
            });
        }
        let primary = a % teams_n;
        let mut holding = vec![primary];
        let secondary = (a * 7 + 1) % teams_n;
        if a % 3 == 0 && secondary != primary {
            holding.push(secondary);
        }
        for t in &holding {
            team_apps.push(team_app::ActiveModel {
                team_id: Set(teams[*t]),
                app_id: Set(id),
                added_at: Set(at),
            });
        }
        let mut first_developer = None;
        for (k, m) in members[primary].iter().enumerate() {
            if (a + k) % 2 != 0 || !connected.insert((m.person, a)) {
                continue;
            }
            let (cid, at) = clock.tick();
            connections.push(developer_connection::ActiveModel {
                id: Set(cid),
                person_id: Set(people[m.person]),
                app_id: Set(id),
                team_id: Set(Some(teams[primary])),
                connected_at: Set(at),
            });
            if m.role == TeamRole::Limited {
                grants.push(app_grant::ActiveModel {
                    team_id: Set(teams[primary]),
                    app_id: Set(id),
                    person_id: Set(people[m.person]),
                    created_at: Set(at),
                });
            }
            first_developer.get_or_insert(m.person);
        }
        let direct = (a * 13 + 5) % people_n;
        if a % 4 == 0 && !is_client(direct) && connected.insert((direct, a)) {
            let (cid, at) = clock.tick();
            connections.push(developer_connection::ActiveModel {
                id: Set(cid),
                person_id: Set(people[direct]),
                app_id: Set(id),
                team_id: Set(None),
                connected_at: Set(at),
            });
            first_developer.get_or_insert(direct);
        }
        if let Some(p) = first_developer {
            contacts.push(technical_contact::ActiveModel {
                app_id: Set(id),
                person_id: Set(people[p]),
                since: Set(at),
            });
        }
    }
    writer.write(rows).await?;
    writer.write(envs).await?;
    writer.write(team_apps).await?;
    writer.write(connections).await?;
    writer.write(grants).await?;
    writer.write(contacts).await?;

    // One pending TEAM invitation per team, sent by its first member. Pending when measured:
    // the world's clock is fixed in the past, and invitations already expired would be expired
    // by `warren serve` as it starts, an event each, under the measurement. So they expire 14
    // days after the day of seeding (the only value besides secrets that differs by run).
    let expires_at = (chrono::Utc::now() + chrono::Duration::days(14))
        .duration_trunc(chrono::Duration::days(1))
        .map_err(ApiError::internal)?;
    let mut rows = Vec::new();
    for (t, team_members) in members.iter().enumerate() {
        let (id, at) = clock.tick();
        rows.push(invitation::ActiveModel {
            id: Set(id),
            kind: Set(InvitationKind::Team),
            state: Set(InvitationState::Pending),
            email: Set(format!("invitee{t}@bench.example")),
            role: Set(Some(TeamRole::Limited)),
            inviter_id: Set(team_members.first().map(|m| people[m.person])),
            team_id: Set(Some(teams[t])),
            app_id: Set(None),
            payment_method_id: Set(None),
            // Nobody learns this secret: seeded invitations are accepted by e-mail.
            secret_hash: Set(auth::hash_secret(&auth::new_secret(
                auth::INVITATION_PREFIX,
            ))),
            created_at: Set(at),
            expires_at: Set(expires_at),
            decided_at: Set(None),
            decided_by_id: Set(None),
        });
    }
    writer.write(rows).await?;

    // Events about apps, their teams and payment methods, in the three categories.
    const KINDS: [(&str, EventCategory); 5] = [
        ("APP_UPDATED", EventCategory::Technical),
        ("DEVELOPER_SUBSCRIBED", EventCategory::Collaboration),
        ("MEMBER_JOINED", EventCategory::Collaboration),
        ("PAYMENT_METHOD_UPDATED", EventCategory::Billing),
        ("ENVIRONMENT_CREATED", EventCategory::Technical),
    ];
    let (mut rows, mut subjects) = (Vec::new(), Vec::new());
    for j in 0..events_n {
        let (id, at) = clock.tick();
        let sequence = j as i64 + 1;
        let a = j % apps_n;
        let (kind, category) = KINDS[j % KINDS.len()];
        let actor = (j * 7) % people_n;
        rows.push(event::ActiveModel {
            id: Set(id),
            sequence: Set(sequence),
            event_type: Set(kind.to_owned()),
            category: Set(category),
            occurred_at: Set(at),
            actor_id: Set(Some(people[actor])),
            actor_name: Set(Some(format!("Person {actor}"))),
            summary: Set(format!(
                "Person {actor}: {} on app-{a}",
                kind.to_lowercase().replace('_', " ")
            )),
            payload: Set(serde_json::json!({ "app": format!("app-{a}") })),
        });
        let mut subject = |kind: &str, object: Uuid, name: String| {
            subjects.push(event_subject::ActiveModel {
                event_id: Set(id),
                sequence: Set(sequence),
                kind: Set(kind.to_owned()),
                object_id: Set(object),
                name: Set(name),
                category: Set(category),
                event_type: Set(kind.to_owned()),
            });
        };
        subject("APP", apps[a], format!("app-{a}"));
        subject("TEAM", teams[a % teams_n], format!("Team {}", a % teams_n));
        if a % 5 != 4 {
            subject(
                "PAYMENT_METHOD",
                pms[a % pms_n],
                format!("Payment method {}", a % pms_n),
            );
        }
        if rows.len() == EVENT_BATCH {
            writer.write(std::mem::take(&mut rows)).await?;
            writer.write(std::mem::take(&mut subjects)).await?;
        }
    }
    writer.write(rows).await?;
    writer.write(subjects).await?;

    let (token, secret) = auth::token_row(people[0], "bench", TokenScope::Read, None)?;
    writer.write(vec![token]).await?;
    writer.commit().await?;
    Ok(SeedReport {
        summary: vec![format!(
            "bench world at scale {scale}: {people_n} people, {teams_n} teams, {pms_n} payment methods, {apps_n} apps, {events_n} events; viewer person0@bench.example"
        )],
        token: secret,
    })
}
