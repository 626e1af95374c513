//! The bench world: deterministic (the same rows, ids included, on every run; only secrets and
//! the invitations' expiry differ) and linear in `scale`. It is `scale` blocks of the same
//! shape, each 100 people, 20 teams, 40 payment methods, 300 apps and 2,000 events, with no
//! edge between blocks: the viewer (person 0, the first person of block 0) sees exactly the
//! same share at every scale (the same teams, members, apps, developers, payment methods and
//! events of each category), so what grows with the scale is the database only. Blocks
//! interleave (the global index of a block's `local`-th row is `local * scale + block`), so
//! the viewer's rows are spread over every table and index as a real customer's would be, and
//! the relative order of its rows (ids, sequences) is the same at every scale. Scales go up to
//! 1,000 (100,000 people, 300,000 apps, 2,000,000 events): on PostgreSQL the rows go in by
//! COPY (`store::copy`).

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

/// One block of the world; `scale` blocks make the whole.
const BLOCK_PEOPLE: usize = 100;
const BLOCK_TEAMS: usize = 20;
const BLOCK_PAYMENT_METHODS: usize = 40;
const BLOCK_APPS: usize = 300;
const BLOCK_EVENTS: usize = 2_000;

/// Where a block's rows sit among the world's: interleaved, so that every block's rows are
/// spread over the whole table in the same relative order.
#[derive(Clone, Copy)]
struct Blocks(usize);

impl Blocks {
    /// The world's index of a block's `local`-th row.
    fn global(self, block: usize, local: usize) -> usize {
        local * self.0 + block
    }

    /// The block of the world's `global`-th row, and its index there.
    fn local(self, global: usize) -> (usize, usize) {
        (global % self.0, global / self.0)
    }
}

struct Member {
    /// The world's index of the person.
    person: usize,
    /// The block's own viewer-like first person (the viewer, in block 0).
    first_of_block: bool,
    role: TeamRole,
}

pub async fn bench(db: &Db, scale: u32) -> ApiResult<SeedReport> {
    if !(1..=1_000).contains(&scale) {
        return Err(ApiError::bad_input("--scale must be between 1 and 1000"));
    }
    let s = scale as usize;
    let blocks = Blocks(s);
    let (people_n, teams_n, pms_n, apps_n, events_n) = (
        BLOCK_PEOPLE * s,
        BLOCK_TEAMS * s,
        BLOCK_PAYMENT_METHODS * s,
        BLOCK_APPS * s,
        BLOCK_EVENTS * s,
    );
    // Decided on a person's index in its block, like every formula below.
    let is_client = |local: usize| local % 10 == 9;
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
    for g in 0..people_n {
        let (_, p) = blocks.local(g);
        let (id, at) = clock.tick();
        people.push(id);
        rows.push(person::ActiveModel {
            id: Set(id),
            email: Set(format!("person{g}@bench.example")),
            name: Set(format!("Person {g}")),
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
    // block's first person joins every other team of its block, alternately UNLIMITED and
    // LIMITED: the viewer is in 10 teams at every scale.
    let mut teams = Vec::with_capacity(teams_n);
    let mut members: Vec<Vec<Member>> = Vec::with_capacity(teams_n);
    let mut rows = Vec::new();
    let mut member_rows = Vec::new();
    for g in 0..teams_n {
        let (b, t) = blocks.local(g);
        let (id, at) = clock.tick();
        teams.push(id);
        rows.push(team::ActiveModel {
            id: Set(id),
            name: Set(format!("Team {g}")),
            created_at: Set(at),
        });
        let mut chosen: Vec<Member> = Vec::new();
        let mut seen = HashSet::new();
        if t % 2 == 0 {
            let role = if (t / 2).is_multiple_of(2) {
                TeamRole::Unlimited
            } else {
                TeamRole::Limited
            };
            chosen.push(Member {
                person: blocks.global(b, 0),
                first_of_block: true,
                role,
            });
            seen.insert(0);
        }
        let mut k = 0;
        while chosen.len() < 6 + usize::from(seen.contains(&0)) {
            let p = (t * 3 + k * 17 + 1) % BLOCK_PEOPLE;
            k += 1;
            // The block's first person is in exactly the teams chosen above, never picked as
            // another team's member.
            if p == 0 || is_client(p) || !seen.insert(p) {
                continue;
            }
            let unlimited =
                chosen.iter().all(|m| m.first_of_block) || (chosen.len() == 1 && t % 2 == 0);
            chosen.push(Member {
                person: blocks.global(b, p),
                first_of_block: false,
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
    for g in 0..pms_n {
        let (b, m) = blocks.local(g);
        let (id, at) = clock.tick();
        pms.push(id);
        rows.push(payment_method::ActiveModel {
            id: Set(id),
            label: Set(format!("Payment method {g}")),
            payment_type: Set([
                PaymentType::CreditCard,
                PaymentType::SepaDebit,
                PaymentType::Invoice,
            ][m % 3]),
            invoice_email: Set(format!("invoices{g}@bench.example")),
            invoice_address: Set(format!("Street {g}\n10115 Berlin")),
            vat_id: Set((m % 4 == 0).then(|| format!("DE{:09}", g))),
            created_at: Set(at),
        });
        let client = (m * 10 + 9) % BLOCK_PEOPLE;
        pm_people.push(payment_method_person::ActiveModel {
            payment_method_id: Set(id),
            person_id: Set(people[blocks.global(b, client)]),
            connected_at: Set(at),
        });
        let developer = (m * 7 + 2) % BLOCK_PEOPLE;
        if m % 2 == 1 && !is_client(developer) {
            pm_people.push(payment_method_person::ActiveModel {
                payment_method_id: Set(id),
                person_id: Set(people[blocks.global(b, developer)]),
                connected_at: Set(at),
            });
        }
        if m % 2 == 0 {
            pm_teams.push(payment_method_team::ActiveModel {
                payment_method_id: Set(id),
                team_id: Set(teams[blocks.global(b, m % BLOCK_TEAMS)]),
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
    for g in 0..apps_n {
        let (b, a) = blocks.local(g);
        let (id, at) = clock.tick();
        apps.push(id);
        let pm = (a % 5 != 4).then(|| pms[blocks.global(b, a % BLOCK_PAYMENT_METHODS)]);
        rows.push(app::ActiveModel {
            id: Set(id),
            name: Set(format!("app-{g}")),
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
        let primary = blocks.global(b, a % BLOCK_TEAMS);
        let mut holding = vec![primary];
        let secondary = blocks.global(b, (a * 7 + 1) % BLOCK_TEAMS);
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
            if (a + k) % 2 != 0 || !connected.insert((m.person, g)) {
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
        let direct = (a * 13 + 5) % BLOCK_PEOPLE;
        let direct_global = blocks.global(b, direct);
        if a % 4 == 0 && !is_client(direct) && connected.insert((direct_global, g)) {
            let (cid, at) = clock.tick();
            connections.push(developer_connection::ActiveModel {
                id: Set(cid),
                person_id: Set(people[direct_global]),
                app_id: Set(id),
                team_id: Set(None),
                connected_at: Set(at),
            });
            first_developer.get_or_insert(direct_global);
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

    // Events about apps, their teams and payment methods, in the three categories. The blocks'
    // events interleave in the log as their rows do.
    const KINDS: [(&str, EventCategory); 5] = [
        ("APP_UPDATED", EventCategory::Technical),
        ("DEVELOPER_SUBSCRIBED", EventCategory::Collaboration),
        ("MEMBER_JOINED", EventCategory::Collaboration),
        ("PAYMENT_METHOD_UPDATED", EventCategory::Billing),
        ("ENVIRONMENT_CREATED", EventCategory::Technical),
    ];
    let (mut rows, mut subjects) = (Vec::new(), Vec::new());
    for g in 0..events_n {
        let (b, j) = blocks.local(g);
        let (id, at) = clock.tick();
        let sequence = g as i64 + 1;
        let a = j % BLOCK_APPS;
        let app_global = blocks.global(b, a);
        let (event_type, category) = KINDS[j % KINDS.len()];
        let actor = blocks.global(b, (j * 7) % BLOCK_PEOPLE);
        rows.push(event::ActiveModel {
            id: Set(id),
            sequence: Set(sequence),
            event_type: Set(event_type.to_owned()),
            category: Set(category),
            occurred_at: Set(at),
            actor_id: Set(Some(people[actor])),
            actor_name: Set(Some(format!("Person {actor}"))),
            summary: Set(format!(
                "Person {actor}: {} on app-{app_global}",
                event_type.to_lowercase().replace('_', " ")
            )),
            payload: Set(serde_json::json!({ "app": format!("app-{app_global}") })),
        });
        let mut subject = |kind: &str, object: Uuid, name: String| {
            subjects.push(event_subject::ActiveModel {
                event_id: Set(id),
                sequence: Set(sequence),
                kind: Set(kind.to_owned()),
                object_id: Set(object),
                name: Set(name),
                // Copies of the event's own (`rules::access::events` decides on them).
                category: Set(category),
                event_type: Set(event_type.to_owned()),
            });
        };
        subject("APP", apps[app_global], format!("app-{app_global}"));
        let team = blocks.global(b, a % BLOCK_TEAMS);
        subject("TEAM", teams[team], format!("Team {team}"));
        if a % 5 != 4 {
            let pm = blocks.global(b, a % BLOCK_PAYMENT_METHODS);
            subject("PAYMENT_METHOD", pms[pm], format!("Payment method {pm}"));
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
