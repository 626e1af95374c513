//! The live event feed of one instance: new events are read from the table once, in sequence
//! order, and handed to every subscriber of this instance in memory.
//!
//! The events table is the truth. A commit that wrote events rings `Db::announce_events` on its
//! own instance and, on PostgreSQL, sends `NOTIFY warren_events`, which wakes every instance;
//! both are only wake-ups. The reader also looks every `POLL` on its own, and after the
//! listening connection was lost it reads at once, so a lost notification delays events by at
//! most that long and never loses one. Sequences become visible in commit order (see `change`),
//! so reading "after the last sequence read" never skips an event that commits late.
//!
//! The feed keeps the most recent events in memory (`History`), so that a subscriber resuming
//! with a recent cursor (after a dropped connection, or after it fell behind) is served from
//! memory, not from the database. Subscriptions that must read the database to start admit
//! themselves a few at a time (`STARTS_AT_ONCE`): ten thousand subscribers resuming at once
//! wait their turn rather than take every connection of their pool.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use entity::{event, event_subject};
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::{Semaphore, SemaphorePermit, broadcast};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::store::db::Db;

/// How often the reader looks for new events without being told.
const POLL: Duration = Duration::from_secs(1);
/// How far back the reader looks for ended sessions (see `read_ended_sessions`).
const SESSION_LOOK_BACK: chrono::Duration = chrono::Duration::minutes(2);
/// Events read per statement.
const READ_BATCH: u64 = 500;
/// Subscriptions reading the database to start (or replaying a page) at once: half of the live
/// connections' pool (`websocket::LIVE_CONNECTIONS`), so that the fields of events being
/// delivered and queries sent over WebSockets still find a connection.
const STARTS_AT_ONCE: usize = 4;

/// An event with the objects it concerns, as subscribers need it to decide who sees it.
#[derive(Debug, Clone)]
pub struct FeedEvent {
    /// Shared: every subscriber that sees it delivers this one copy.
    pub event: Arc<event::Model>,
    /// Shared likewise: each delivery renders the event for its viewer from them.
    pub subjects: Arc<[event_subject::Model]>,
}

/// What the feed tells every subscriber at once.
#[derive(Debug, Default)]
pub struct FeedNews {
    /// New events, in sequence order.
    pub events: Vec<FeedEvent>,
    /// Browser sessions that ended (logout, cancellation) and were not told yet: their
    /// subscriptions end.
    pub ended_sessions: Vec<Uuid>,
}

pub type FeedBatch = Arc<FeedNews>;

/// The feed of one instance; cheap to clone. Its background tasks stop once every clone is
/// gone (the server stopped).
#[derive(Clone)]
pub struct Feed {
    sender: broadcast::Sender<FeedBatch>,
    history: Arc<Mutex<History>>,
    /// Turns to read the database for a subscription that starts (see `STARTS_AT_ONCE`).
    pub(crate) starts: Arc<Semaphore>,
    alive: Arc<()>,
}

/// The batches of events read most recently, for subscribers resuming after a recent cursor.
/// It holds every event with a sequence above `complete_after`.
struct History {
    batches: VecDeque<FeedBatch>,
    /// How many events `batches` holds, and may hold.
    events: usize,
    capacity: usize,
    complete_after: i64,
}

impl History {
    fn push(&mut self, batch: FeedBatch) {
        self.events += batch.events.len();
        self.batches.push_back(batch);
        while self.events > self.capacity {
            let Some(oldest) = self.batches.pop_front() else {
                break;
            };
            self.events -= oldest.events.len();
            if let Some(last) = oldest.events.last() {
                self.complete_after = last.event.sequence;
            }
        }
    }

    /// The batches holding every event after `after`, or `None` when some of them are no
    /// longer here.
    fn after(&self, after: i64) -> Option<VecDeque<FeedBatch>> {
        if after < self.complete_after {
            return None;
        }
        // Batches are in sequence order; skip those wholly at or before the cursor.
        let first = self.batches.partition_point(|batch| {
            batch
                .events
                .last()
                .is_some_and(|e| e.event.sequence <= after)
        });
        Some(self.batches.range(first..).cloned().collect())
    }
}

/// What the reading task needs; it holds the feed only weakly, to notice it is gone.
struct Reader {
    db: Db,
    sender: broadcast::Sender<FeedBatch>,
    history: Arc<Mutex<History>>,
    /// The highest sequence read so far.
    last: i64,
    /// Sessions recently told as ended, with when they ended, so each is told once.
    told_sessions: HashMap<Uuid, chrono::DateTime<chrono::Utc>>,
    alive: Weak<()>,
}

impl Feed {
    /// Starts reading from the events after the current last one, on a pool of its own (one
    /// connection to read, one to LISTEN on PostgreSQL).
    /// A subscriber more than `backlog` batches behind is told to resume with `after`; the
    /// batches are shared, so this bounds the memory of every slow subscriber together. The
    /// last `history` events stay in memory for subscribers resuming after one of them.
    pub async fn start(db: &Db, backlog: usize, history: usize) -> ApiResult<Feed> {
        let db = db.companion(2).await?;
        let (sender, _) = broadcast::channel(backlog.max(1));
        let last = crate::rules::change::next_sequence(&db.conn).await? - 1;
        let history = Arc::new(Mutex::new(History {
            batches: VecDeque::new(),
            events: 0,
            capacity: history,
            complete_after: last,
        }));
        let feed = Feed {
            sender: sender.clone(),
            history: history.clone(),
            starts: Arc::new(Semaphore::new(STARTS_AT_ONCE)),
            alive: Arc::new(()),
        };
        let reader = Reader {
            last,
            db: db.clone(),
            sender,
            history,
            told_sessions: HashMap::new(),
            alive: Arc::downgrade(&feed.alive),
        };
        if db.backend() == DbBackend::Postgres {
            tokio::spawn(listen(db, Arc::downgrade(&feed.alive)));
        }
        tokio::spawn(reader.run());
        Ok(feed)
    }

    /// A receiver of every batch read from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<FeedBatch> {
        self.sender.subscribe()
    }

    /// A receiver of every batch read from now on and, when memory still holds them all, the
    /// batches before it that hold every event after `after`. Taken together under the lock
    /// the reader sends under, so each batch is in exactly one of the two.
    pub(crate) fn subscribe_after(
        &self,
        after: i64,
    ) -> (broadcast::Receiver<FeedBatch>, Option<VecDeque<FeedBatch>>) {
        // A panic elsewhere while holding the lock leaves the history as consistent as
        // before it: every change to it is a single push.
        let history = self
            .history
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (self.sender.subscribe(), history.after(after))
    }
}

/// Waits for a turn to read the database for a subscription (see `STARTS_AT_ONCE`).
pub(crate) async fn take_turn(starts: &Semaphore) -> ApiResult<SemaphorePermit<'_>> {
    starts
        .acquire()
        .await
        .map_err(|_| ApiError::internal("the event feed stopped"))
}

impl Reader {
    async fn run(mut self) {
        while self.alive.strong_count() > 0 {
            tokio::select! {
                () = self.db.events_announced() => {},
                () = tokio::time::sleep(POLL) => {},
            }
            // Every batch until there is nothing new; a failure is retried at the next wake.
            loop {
                match self.read_batch().await {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(err) => {
                        tracing::warn!(error = ?err, "reading new events failed; retrying");
                        break;
                    }
                }
            }
            if let Err(err) = self.read_ended_sessions().await {
                tracing::warn!(error = ?err, "reading ended sessions failed; retrying");
            }
        }
    }

    /// Tells subscribers which browser sessions ended since the last look. Logging out writes
    /// no event, so this is how a logout ends the subscriptions of its session, on every
    /// instance. The look-back covers commits that come late and clocks that differ between
    /// instances; sessions already told are not told again.
    async fn read_ended_sessions(&mut self) -> ApiResult<()> {
        use entity::browser_session;
        let since = chrono::Utc::now() - SESSION_LOOK_BACK;
        self.told_sessions.retain(|_, ended| *ended > since);
        let ended = browser_session::Entity::find()
            .filter(browser_session::Column::RevokedAt.gt(since))
            .all(&self.db.conn)
            .await?;
        let mut news = FeedNews::default();
        for session in ended {
            if let Some(at) = session.revoked_at
                && self.told_sessions.insert(session.id, at).is_none()
            {
                news.ended_sessions.push(session.id);
            }
        }
        if !news.ended_sessions.is_empty() {
            let _ = self.sender.send(Arc::new(news));
        }
        Ok(())
    }

    /// Reads and sends one batch; `true` when there may be more.
    async fn read_batch(&mut self) -> ApiResult<bool> {
        let db = &self.db;
        let events = event::Entity::find()
            .filter(event::Column::Sequence.gt(self.last))
            .order_by_asc(event::Column::Sequence)
            .limit(READ_BATCH)
            .all(&db.conn)
            .await?;
        let Some(newest) = events.last().map(|e| e.sequence) else {
            return Ok(false);
        };
        let mut subjects =
            crate::store::event_log::subjects_of(&db.conn, events.iter().map(|e| e.id)).await?;
        let full = events.len() as u64 == READ_BATCH;
        let events: Vec<FeedEvent> = events
            .into_iter()
            .map(|event| FeedEvent {
                subjects: subjects.remove(&event.id).unwrap_or_default().into(),
                event: Arc::new(event),
            })
            .collect();
        self.last = newest;
        let batch = Arc::new(FeedNews {
            events,
            ended_sessions: Vec::new(),
        });
        let mut history = self
            .history
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        history.push(batch.clone());
        // No subscriber at the moment is fine: the batch is simply not needed.
        let _ = self.sender.send(batch);
        drop(history);
        Ok(full)
    }
}

/// Wakes the reader on every `NOTIFY warren_events`, and after the listening connection was
/// lost and came back (notifications sent meanwhile are gone, so it reads anyway).
async fn listen(db: Db, alive: Weak<()>) {
    use sea_orm::sqlx::postgres::PgListener;
    let mut backoff = Duration::from_millis(100);
    while alive.strong_count() > 0 {
        let connected = async {
            let mut listener =
                PgListener::connect_with(db.conn.get_postgres_connection_pool()).await?;
            listener
                .listen(crate::rules::change::EVENTS_CHANNEL)
                .await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        }
        .await;
        let mut listener = match connected {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(%err, "cannot LISTEN for new events; polling meanwhile");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(POLL * 10);
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        // Whatever was committed while nobody listened.
        db.announce_events();
        while alive.strong_count() > 0 {
            match tokio::time::timeout(POLL, listener.try_recv()).await {
                // Nothing for a while: look whether the feed is still wanted.
                Err(_) => {}
                Ok(Ok(Some(_))) => db.announce_events(),
                // The connection dropped and will be made again: read what may have been missed.
                Ok(Ok(None)) => db.announce_events(),
                Ok(Err(err)) => {
                    tracing::warn!(%err, "listening for new events failed");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch of events with these sequences.
    fn batch(sequences: &[i64]) -> FeedBatch {
        let events = sequences
            .iter()
            .map(|&sequence| FeedEvent {
                event: Arc::new(event::Model {
                    id: Uuid::now_v7(),
                    sequence,
                    event_type: "TEAM_CREATED".to_owned(),
                    category: entity::enums::EventCategory::Collaboration,
                    occurred_at: chrono::Utc::now(),
                    actor_id: None,
                    actor_name: None,
                    summary: String::new(),
                    payload: serde_json::Value::Null,
                }),
                subjects: Vec::new().into(),
            })
            .collect();
        Arc::new(FeedNews {
            events,
            ended_sessions: Vec::new(),
        })
    }

    fn sequences(batches: &VecDeque<FeedBatch>) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|batch| batch.events.iter().map(|e| e.event.sequence))
            .collect()
    }

    #[test]
    fn history_holds_every_event_after_what_it_forgot() {
        let mut history = History {
            batches: VecDeque::new(),
            events: 0,
            capacity: 4,
            complete_after: 10,
        };
        assert_eq!(history.after(10).as_ref().map(sequences), Some(vec![]));
        assert_eq!(history.after(9).as_ref().map(sequences), None);
        history.push(batch(&[11, 12]));
        history.push(batch(&[13]));
        assert_eq!(
            history.after(10).as_ref().map(sequences),
            Some(vec![11, 12, 13])
        );
        // From the batch holding the cursor on; the subscriber skips what it already saw.
        assert_eq!(
            history.after(11).as_ref().map(sequences),
            Some(vec![11, 12, 13])
        );
        assert_eq!(history.after(12).as_ref().map(sequences), Some(vec![13]));
        assert_eq!(history.after(13).as_ref().map(sequences), Some(vec![]));
        // Five events: the oldest batch goes, and with it what came before 12.
        history.push(batch(&[14, 15]));
        assert_eq!(history.events, 3);
        assert_eq!(history.after(11).as_ref().map(sequences), None);
        assert_eq!(
            history.after(12).as_ref().map(sequences),
            Some(vec![13, 14, 15])
        );
        // A cursor ahead of this instance (another one read further already).
        assert_eq!(history.after(99).as_ref().map(sequences), Some(vec![]));
    }

    #[test]
    fn a_history_without_room_holds_nothing() {
        let mut history = History {
            batches: VecDeque::new(),
            events: 0,
            capacity: 0,
            complete_after: 0,
        };
        history.push(batch(&[1, 2, 3]));
        assert_eq!(history.events, 0);
        assert_eq!(history.after(2).as_ref().map(sequences), None);
        assert_eq!(history.after(3).as_ref().map(sequences), Some(vec![]));
    }
}
