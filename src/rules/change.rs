//! The write path. Every mutation is one database transaction, and the events it records are
//! written inside it: no change without its event, no event without its change.
//!
//! Event order: on PostgreSQL the sequence is assigned under a transaction-level advisory lock
//! taken just before the events are written and held until commit, so sequences become visible
//! in commit order and a reader resuming "after N" never misses an event that commits later
//! with a smaller number. SQLite write transactions start IMMEDIATE and are serialised whole.

use entity::enums::{EventSubjectKind, EventType};
use entity::{event, event_subject, person};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryOrder,
    QuerySelect, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::store::db::Db;

/// Any constant will do: it only has to be the same for every writer of events.
const EVENT_LOG_LOCK: i64 = 0x7761_7272_656e;

/// The PostgreSQL channel on which commits that wrote events notify every instance.
pub const EVENTS_CHANNEL: &str = "warren_events";

/// An object an event concerns, with its name at that moment.
#[derive(Debug, Clone)]
pub struct Subject {
    pub kind: EventSubjectKind,
    pub id: Uuid,
    pub name: String,
}

impl Subject {
    pub fn new(kind: EventSubjectKind, id: Uuid, name: impl Into<String>) -> Self {
        Subject {
            kind,
            id,
            name: name.into(),
        }
    }

    pub fn person(person: &person::Model) -> Self {
        Subject::new(EventSubjectKind::Person, person.id, person.name.clone())
    }
}

/// An event about to be recorded.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_type: EventType,
    /// One line for people: "Ana invited bo@example.com to team Rocket as LIMITED".
    pub summary: String,
    pub subjects: Vec<Subject>,
    pub payload: serde_json::Value,
}

/// One mutation in progress: its transaction, its actor and the events it will record.
pub struct Change {
    pub txn: DatabaseTransaction,
    pub actor: person::Model,
    db: Db,
    events: Vec<NewEvent>,
}

impl Change {
    /// Begins the mutation of the person `actor`, whose row is read again inside the
    /// transaction (locked until commit on PostgreSQL; on SQLite the transaction holds the one
    /// writer already): every decision about the actor (cancelled, account type, name in the
    /// events) rests on the row as it is while the change is written, never on the copy read
    /// when the request was authenticated. A mutation racing the actor's own `updateViewer` or
    /// `cancelAccount` thus runs wholly before it or wholly after it.
    pub async fn begin(db: &Db, actor: Uuid) -> ApiResult<Change> {
        let txn = begin_write(db).await?;
        let mut select = person::Entity::find_by_id(actor);
        if db.backend() == DbBackend::Postgres {
            // FOR NO KEY UPDATE, not FOR UPDATE: it excludes the actor's other mutations (and
            // its row's updates) but not the foreign-key checks of other people's mutations
            // that insert rows naming this person, which take FOR KEY SHARE.
            select = select.lock(sea_orm::sea_query::LockType::NoKeyUpdate);
        }
        let actor = select
            .one(&txn)
            .await?
            .filter(|person| person.cancelled_at.is_none())
            .ok_or(ApiError::Unauthenticated(
                "this account has been cancelled; it can change nothing",
            ))?;
        Ok(Change {
            txn,
            actor,
            db: db.clone(),
            events: Vec::new(),
        })
    }

    pub fn backend(&self) -> DbBackend {
        self.db.backend()
    }

    /// `select` with `FOR UPDATE` on PostgreSQL (see `lock_for_update`).
    pub fn locked<S: QuerySelect>(&self, select: S) -> S {
        lock_for_update(self.backend(), select)
    }

    /// The actor's reach as this transaction sees it, for decisions that must not rest on the
    /// request's earlier snapshot.
    pub async fn reach(&self) -> ApiResult<crate::rules::access::Reach> {
        Ok(crate::rules::access::Reach::load(&self.txn, self.actor.id).await?)
    }

    pub fn record(&mut self, mut event: NewEvent) {
        // An object in two of the event's roles (an app and its own team's app) is one subject.
        let mut seen = std::collections::HashSet::new();
        event.subjects.retain(|s| seen.insert((s.kind, s.id)));
        self.events.push(event);
    }

    /// Writes the recorded events and commits. Dropping a `Change` instead rolls it back, which
    /// is how every refused mutation ends (`?` drops it): on SQLite the rollback goes to the
    /// connection's worker at once; on PostgreSQL it is queued and sent when the connection
    /// goes back to the pool, which sqlx does straight away in a task that pings the
    /// connection (flushing the ROLLBACK) before reuse, so row and advisory locks do not
    /// outlive the request by more than that round trip.
    pub async fn commit(self) -> ApiResult<()> {
        let backend = self.backend();
        let written = self.events.len() as u64;
        append_events(&self.txn, backend, Some(&self.actor), self.events).await?;
        #[cfg(feature = "fault-injection")]
        if fault::armed_for(self.actor.id) {
            return Err(ApiError::internal("injected fault after the writes"));
        }
        self.txn.commit().await?;
        crate::metrics::METRICS.events_written.inc_by(written);
        self.db.announce_events();
        Ok(())
    }
}

/// Test builds only: makes every mutation of chosen people fail after all its writes (the change
/// and its events), just before commit, to show that nothing half-done survives.
#[cfg(feature = "fault-injection")]
pub mod fault {
    use std::collections::HashSet;
    use std::sync::Mutex;

    use uuid::Uuid;

    static ARMED: Mutex<Option<HashSet<Uuid>>> = Mutex::new(None);

    /// Mutations by `person` fail from now on (`on`), or work again.
    pub fn arm(person: Uuid, on: bool) {
        if let Ok(mut armed) = ARMED.lock() {
            let set = armed.get_or_insert_with(HashSet::new);
            if on {
                set.insert(person);
            } else {
                set.remove(&person);
            }
        }
    }

    pub(crate) fn armed_for(person: Uuid) -> bool {
        ARMED
            .lock()
            .map(|armed| armed.as_ref().is_some_and(|set| set.contains(&person)))
            .unwrap_or(false)
    }
}

/// `select` with `FOR UPDATE` on PostgreSQL, where rows read to check a rule must stay as read
/// until commit; unchanged on SQLite, whose write transactions exclude each other already.
pub fn lock_for_update<S: QuerySelect>(backend: DbBackend, select: S) -> S {
    match backend {
        DbBackend::Postgres => select.lock(sea_orm::sea_query::LockType::Update),
        _ => select,
    }
}

/// Begins a write transaction: IMMEDIATE on SQLite, so writers queue at the start instead of
/// failing when they upgrade from reading, and on its writer connection (`Db::writer`).
pub async fn begin_write(db: &Db) -> ApiResult<DatabaseTransaction> {
    Ok(db
        .writer
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await?)
}

/// Appends events in `txn`, numbered in commit order (see the module comment). `actor` is
/// `None` for what the system does by itself, such as expiring invitations.
pub async fn append_events(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    actor: Option<&person::Model>,
    events: Vec<NewEvent>,
) -> ApiResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    if backend == DbBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({EVENT_LOG_LOCK})"))
            .await?;
    }
    let mut sequence = next_sequence(txn).await?;
    let now = chrono::Utc::now();
    let mut rows = Vec::with_capacity(events.len());
    let mut subjects = Vec::new();
    for event in events {
        let id = Uuid::now_v7();
        let event_type = event.event_type.as_str();
        let category = event.event_type.category();
        for subject in &event.subjects {
            subjects.push(event_subject::ActiveModel {
                event_id: Set(id),
                sequence: Set(sequence),
                kind: Set(subject.kind.as_str().to_owned()),
                object_id: Set(subject.id),
                name: Set(subject.name.clone()),
                category: Set(category),
                event_type: Set(event_type.clone()),
            });
        }
        rows.push(event::ActiveModel {
            id: Set(id),
            sequence: Set(sequence),
            event_type: Set(event_type),
            category: Set(category),
            occurred_at: Set(now),
            actor_id: Set(actor.map(|a| a.id)),
            actor_name: Set(actor.map(|a| a.name.clone())),
            summary: Set(event.summary),
            payload: Set(event.payload),
        });
        sequence += 1;
    }
    event::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    if backend == DbBackend::Postgres {
        // Delivered at commit, and only if the transaction commits.
        txn.execute_unprepared(&format!("NOTIFY {EVENTS_CHANNEL}"))
            .await?;
    }
    if !subjects.is_empty() {
        event_subject::Entity::insert_many(subjects)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// The next sequence number of the event log: the write path numbers events with it, the feed
/// starts after the one before it.
pub async fn next_sequence(conn: &impl ConnectionTrait) -> ApiResult<i64> {
    let last = event::Entity::find()
        .order_by_desc(event::Column::Sequence)
        .one(conn)
        .await?;
    Ok(last.map_or(1, |e| e.sequence + 1))
}
