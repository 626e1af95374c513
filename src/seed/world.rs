//! Writes worlds straight into the tables: the demo and bench seeds and the tests use it to
//! set up situations without going through the API.

use chrono::{DateTime, Duration, TimeZone, Utc};
use entity::enums::{
    AccessRequestState, AccountType, EventCategory, InvitationKind, InvitationState, PaymentType,
    TeamRole, TokenScope,
};
use entity::{
    access_request, app, app_grant, developer_connection, environment, event, event_subject,
    invitation, invitation_app, payment_method, payment_method_person, payment_method_team, person,
    ssh_key, team, team_app, team_member, technical_contact,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::rules::auth;

/// Hands out UUID v7 ids and timestamps from a clock that ticks one millisecond per object,
/// so a world is ordered by creation and, from a fixed start, the same on every run.
pub struct Clock {
    millis: i64,
    counter: u64,
}

impl Clock {
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Clock {
            millis: start.timestamp_millis(),
            counter: 0,
        }
    }

    pub fn now() -> Self {
        Clock::starting_at(Utc::now())
    }

    /// A fixed start for reproducible worlds.
    pub fn fixed() -> Self {
        Clock::starting_at(
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .single()
                .unwrap_or_default(),
        )
    }

    pub fn tick(&mut self) -> (Uuid, DateTime<Utc>) {
        self.millis += 1;
        self.counter += 1;
        let mut tail = [0u8; 10];
        tail[2..].copy_from_slice(&self.counter.to_be_bytes());
        let id = uuid::Builder::from_unix_timestamp_millis(self.millis as u64, &tail).into_uuid();
        let at = Utc
            .timestamp_millis_opt(self.millis)
            .single()
            .unwrap_or_default();
        (id, at)
    }

    pub fn time(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.millis)
            .single()
            .unwrap_or_default()
    }
}

/// An object an event concerns, with its name at that moment.
pub struct Subject<'a> {
    pub kind: &'a str,
    pub id: Uuid,
    pub name: &'a str,
}

/// Writes one object per call. Every call is one INSERT: fine for demo worlds and tests;
/// the bench seed batches its rows instead.
pub struct World<'c, C: ConnectionTrait> {
    conn: &'c C,
    pub clock: Clock,
    next_sequence: i64,
}

impl<'c, C: ConnectionTrait> World<'c, C> {
    pub fn new(conn: &'c C, clock: Clock) -> Self {
        World {
            conn,
            clock,
            next_sequence: 1,
        }
    }

    /// Continues event sequences after what the database holds already.
    pub fn with_sequence_from(mut self, next: i64) -> Self {
        self.next_sequence = next;
        self
    }

    pub async fn person(
        &mut self,
        name: &str,
        email: &str,
        account: AccountType,
    ) -> Result<Uuid, DbErr> {
        let (id, at) = self.clock.tick();
        person::ActiveModel {
            id: Set(id),
            email: Set(email.to_lowercase()),
            name: Set(name.to_owned()),
            account_type: Set(account),
            created_at: Set(at),
            cancelled_at: Set(None),
        }
        .insert(self.conn)
        .await?;
        Ok(id)
    }

    pub async fn token(&mut self, person: Uuid, scope: TokenScope) -> ApiResult<String> {
        Ok(auth::create_token(self.conn, person, "seed", scope, None)
            .await?
            .secret)
    }

    pub async fn ssh_key(
        &mut self,
        person: Uuid,
        title: &str,
        public_key: &str,
        fingerprint: &str,
    ) -> Result<Uuid, DbErr> {
        let (id, at) = self.clock.tick();
        ssh_key::ActiveModel {
            id: Set(id),
            person_id: Set(person),
            title: Set(title.to_owned()),
            public_key: Set(public_key.to_owned()),
            fingerprint: Set(fingerprint.to_owned()),
            created_at: Set(at),
        }
        .insert(self.conn)
        .await?;
        Ok(id)
    }

    pub async fn team(&mut self, name: &str) -> Result<Uuid, DbErr> {
        let (id, at) = self.clock.tick();
        team::ActiveModel {
            id: Set(id),
            name: Set(name.to_owned()),
            created_at: Set(at),
        }
        .insert(self.conn)
        .await?;
        Ok(id)
    }

    pub async fn member(&mut self, team: Uuid, person: Uuid, role: TeamRole) -> Result<(), DbErr> {
        let (_, at) = self.clock.tick();
        team_member::ActiveModel {
            team_id: Set(team),
            person_id: Set(person),
            role: Set(role),
            joined_at: Set(at),
        }
        .insert(self.conn)
        .await?;
        Ok(())
    }

    pub async fn payment_method(
        &mut self,
        label: &str,
        payment_type: PaymentType,
        invoice_email: &str,
    ) -> Result<Uuid, DbErr> {
        let (id, at) = self.clock.tick();
        payment_method::ActiveModel {
            id: Set(id),
            label: Set(label.to_owned()),
            payment_type: Set(payment_type),
            invoice_email: Set(invoice_email.to_owned()),
            invoice_address: Set(format!("{label}\n1 Example Street\n10115 Berlin")),
            vat_id: Set(None),
            created_at: Set(at),
        }
        .insert(self.conn)
        .await?;
        Ok(id)
    }

    /// Direct billing access for a person.
    pub async fn bill(&mut self, payment_method: Uuid, person: Uuid) -> Result<(), DbErr> {
        let (_, at) = self.clock.tick();
        payment_method_person::ActiveModel {
            payment_method_id: Set(payment_method),
            person_id: Set(person),
            connected_at: Set(at),
        }
        .insert(self.conn)
        .await?;
        Ok(())
    }

    /// Connects a team to a payment method (its UNLIMITED members get billing access).
    pub async fn bill_team(&mut self, payment_method: Uuid, team: Uuid) -> Result<(), DbErr> {
        let (_, at) = self.clock.tick();
        payment_method_team::ActiveModel {
            payment_method_id: Set(payment_method),
            team_id: Set(team),
            connected_at: Set(at),
        }
        .insert(self.conn)
        .await?;
        Ok(())
    }

    /// An app with its `main` environment.
    pub async fn app(&mut self, name: &str, payment_method: Option<Uuid>) -> Result<Uuid, DbErr> {
        let (id, at) = self.clock.tick();
        app::ActiveModel {
            id: Set(id),
            name: Set(name.to_owned()),
            description: Set(None),
            payment_method_id: Set(payment_method),
            created_at: Set(at),
        }
        .insert(self.conn)
        .await?;
        self.environment(id, "main").await?;
        Ok(id)
    }

    pub async fn environment(&mut self, app: Uuid, name: &str) -> Result<Uuid, DbErr> {
        let (id, at) = self.clock.tick();
        environment::ActiveModel {
            id: Set(id),
            app_id: Set(app),
            name: Set(name.to_owned()),
            created_at: Set(at),
        }
        .insert(self.conn)
        .await?;
        Ok(id)
    }

    pub async fn team_app(&mut self, team: Uuid, app: Uuid) -> Result<(), DbErr> {
        let (_, at) = self.clock.tick();
        team_app::ActiveModel {
            team_id: Set(team),
            app_id: Set(app),
            added_at: Set(at),
        }
        .insert(self.conn)
        .await?;
        Ok(())
    }

    /// A developer connection, direct (`team` None) or through a team.
    pub async fn connect(
        &mut self,
        person: Uuid,
        app: Uuid,
        team: Option<Uuid>,
    ) -> Result<(), DbErr> {
        let (id, at) = self.clock.tick();
        developer_connection::ActiveModel {
            id: Set(id),
            person_id: Set(person),
            app_id: Set(app),
            team_id: Set(team),
            connected_at: Set(at),
        }
        .insert(self.conn)
        .await?;
        Ok(())
    }

    /// A LIMITED member's standing right to one team app.
    pub async fn grant(&mut self, team: Uuid, app: Uuid, person: Uuid) -> Result<(), DbErr> {
        let (_, at) = self.clock.tick();
        app_grant::ActiveModel {
            team_id: Set(team),
            app_id: Set(app),
            person_id: Set(person),
            created_at: Set(at),
        }
        .insert(self.conn)
        .await?;
        Ok(())
    }

    pub async fn contact(&mut self, app: Uuid, person: Uuid) -> Result<(), DbErr> {
        let (_, at) = self.clock.tick();
        technical_contact::ActiveModel {
            app_id: Set(app),
            person_id: Set(person),
            since: Set(at),
        }
        .insert(self.conn)
        .await?;
        Ok(())
    }

    /// A pending invitation; `target` is the team, app or payment method it is for.
    pub async fn invitation(
        &mut self,
        kind: InvitationKind,
        email: &str,
        inviter: Uuid,
        target: Option<Uuid>,
        role: Option<TeamRole>,
        apps: &[Uuid],
    ) -> Result<Uuid, DbErr> {
        let (id, at) = self.clock.tick();
        let (team, app, payment_method) = match kind {
            InvitationKind::Team => (target, None, None),
            InvitationKind::App => (None, target, None),
            InvitationKind::PaymentMethod => (None, None, target),
            InvitationKind::TakeOverBilling => (None, None, None),
        };
        invitation::ActiveModel {
            id: Set(id),
            kind: Set(kind),
            state: Set(InvitationState::Pending),
            email: Set(email.to_lowercase()),
            role: Set(role),
            inviter_id: Set(Some(inviter)),
            team_id: Set(team),
            app_id: Set(app),
            payment_method_id: Set(payment_method),
            // Nobody learns this secret: seeded invitations are accepted by e-mail.
            secret_hash: Set(auth::hash_secret(&auth::new_secret(
                auth::INVITATION_PREFIX,
            ))),
            created_at: Set(at),
            expires_at: Set(at + Duration::days(14)),
            decided_at: Set(None),
            decided_by_id: Set(None),
        }
        .insert(self.conn)
        .await?;
        for app in apps {
            invitation_app::ActiveModel {
                invitation_id: Set(id),
                app_id: Set(*app),
            }
            .insert(self.conn)
            .await?;
        }
        Ok(id)
    }

    pub async fn access_request(
        &mut self,
        team: Uuid,
        app: Uuid,
        requester: Uuid,
    ) -> Result<Uuid, DbErr> {
        let (id, at) = self.clock.tick();
        access_request::ActiveModel {
            id: Set(id),
            team_id: Set(team),
            app_id: Set(app),
            requester_id: Set(requester),
            state: Set(AccessRequestState::Pending),
            created_at: Set(at),
            decided_at: Set(None),
            decided_by_id: Set(None),
        }
        .insert(self.conn)
        .await?;
        Ok(id)
    }

    /// An event with the objects it concerns and their names at that moment.
    pub async fn event(
        &mut self,
        event_type: &str,
        category: EventCategory,
        actor: Option<(Uuid, &str)>,
        summary: &str,
        subjects: &[Subject<'_>],
    ) -> Result<Uuid, DbErr> {
        let (id, at) = self.clock.tick();
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        event::ActiveModel {
            id: Set(id),
            sequence: Set(sequence),
            event_type: Set(event_type.to_owned()),
            category: Set(category),
            occurred_at: Set(at),
            actor_id: Set(actor.map(|(id, _)| id)),
            actor_name: Set(actor.map(|(_, name)| name.to_owned())),
            summary: Set(summary.to_owned()),
            payload: Set(serde_json::json!({})),
        }
        .insert(self.conn)
        .await?;
        for subject in subjects {
            event_subject::ActiveModel {
                event_id: Set(id),
                sequence: Set(sequence),
                kind: Set(subject.kind.to_owned()),
                object_id: Set(subject.id),
                name: Set(subject.name.to_owned()),
                category: Set(category),
                event_type: Set(event_type.to_owned()),
            }
            .insert(self.conn)
            .await?;
        }
        Ok(id)
    }
}
