//! The `Subscription` root: each subscriber's position in the event feed (`feed`), what it may
//! see of each event as it is delivered, and its replay from the database when it resumes after
//! a cursor the feed no longer holds in memory.

use std::collections::VecDeque;
use std::sync::Arc;

use async_graphql::{Context, Subscription};
use entity::enums::EventType;
use futures_util::Stream;
use tokio::sync::{Semaphore, broadcast};
use uuid::Uuid;

use crate::api::context::{RequestScope, scope};
use crate::api::cursor::lists::Events;
use crate::api::cursor::{Cursor, List};
use crate::api::types::event::Event;
use crate::api::types::event::filter::{self, EventFilterInput};
use crate::error::{ApiError, ApiResult};
use crate::feed::{Feed, FeedBatch, FeedNews, take_turn};
use crate::rules::access::Reach;
use crate::rules::access::events::{self, EventCriteria};

/// Events replayed per statement before a subscription goes live.
const REPLAY_PAGE: u64 = 100;

#[derive(Default)]
pub struct EventSubscription;

/// The live event feed: what happens, as it happens, to each viewer as far as they may see it.
#[Subscription(name = "Subscription")]
impl EventSubscription {
    /// The events the viewer may see, as they happen, in sequence order. With `after` (an
    /// event's `cursor`) it first replays every such event after that one, then continues
    /// live, with no gap and no duplicate. `filter` works as on `Query.events`. Visibility is
    /// decided when each event is delivered: an access lost mid-stream stops the events it
    /// gave. A subscriber that falls too far behind receives an error naming the cursor to
    /// resume after (error code CONFLICT), and the stream ends; it also ends, with
    /// UNAUTHENTICATED, when what signed the connection in ends: its token is revoked or
    /// expires, its browser session is logged out or expires, or the account is cancelled.
    async fn events(
        &self,
        ctx: &Context<'_>,
        filter: Option<EventFilterInput>,
        after: Option<Cursor<Events>>,
    ) -> Result<impl Stream<Item = ApiResult<Event>> + use<>, ApiError> {
        // Boxed: async-graphql keeps room for this future in the subscription's stream for as
        // long as the subscription lives, though it runs once, at the start.
        Box::pin(start(ctx, filter, after)).await
    }
}

/// Starts a subscription to `events`: checks its credential and filter, fixes where it starts
/// and subscribes to the feed.
async fn start(
    ctx: &Context<'_>,
    filter: Option<EventFilterInput>,
    after: Option<Cursor<Events>>,
) -> Result<impl Stream<Item = ApiResult<Event>> + use<>, ApiError> {
    let scope = scope(ctx)?.clone();
    let viewer = scope.viewer()?.id();
    let credential = scope.viewer()?.credential;
    let feed = ctx
        .data::<Feed>()
        .map_err(|_| ApiError::internal("the event feed is missing"))?
        .clone();
    let after = after
        .map(|cursor| events::sequence_of(cursor.key()))
        .transpose()?;
    // The credential was checked as this operation began (`graphql::api::LiveCredential`).
    let turn = take_turn(&feed.starts).await?;
    let criteria = filter::criteria(ctx, filter).await?;
    // Subscribe before reading any event, so that nothing committed from now on can slip
    // between the replay and the live part.
    let (receiver, recent, seen) = match after {
        Some(after) => {
            let (receiver, recent) = feed.subscribe_after(after);
            (receiver, recent, after)
        }
        None => {
            let receiver = feed.subscribe();
            let seen = crate::rules::change::next_sequence(&scope.db.conn).await? - 1;
            (receiver, Some(VecDeque::new()), seen)
        }
    };
    // Loaded after `seen` was fixed: an access change at or before it is in the reach,
    // any later one arrives as an event and reloads it.
    let reach = scope.reach().await?;
    drop(turn);
    let live = Live {
        scope,
        viewer,
        credential,
        criteria,
        receiver,
        starts: feed.starts.clone(),
        reach,
        seen,
        delivered: seen,
        // Replayed from the database only when memory no longer holds every event after
        // the cursor.
        replaying: recent.is_none(),
        recent: recent.unwrap_or_default(),
        queue: VecDeque::new(),
        ended: false,
        failure: None,
        _counted: crate::metrics::Held::new(&crate::metrics::METRICS.subscriptions),
    };
    // Boxed: the state moves in and out of the stream at every event.
    Ok(futures_util::stream::unfold(Box::new(live), Live::next))
}

/// One subscriber's position in the feed.
struct Live {
    scope: Arc<RequestScope>,
    viewer: Uuid,
    /// What authenticated the connection; the stream ends with it.
    credential: crate::rules::auth::Credential,
    criteria: EventCriteria,
    receiver: broadcast::Receiver<FeedBatch>,
    /// Turns to read the database, shared with the feed (see `STARTS_AT_ONCE`).
    starts: Arc<Semaphore>,
    reach: Arc<Reach>,
    /// The highest sequence considered: delivered, queued or found invisible.
    seen: i64,
    /// The sequence of the last event delivered, for resuming.
    delivered: i64,
    replaying: bool,
    /// Batches read before the subscription began that it still has to consider, from the
    /// feed's history; taken before the receiver's.
    recent: VecDeque<FeedBatch>,
    queue: VecDeque<Event>,
    ended: bool,
    /// Why the stream ends, told after the events queued before it.
    failure: Option<ApiError>,
    _counted: crate::metrics::Held,
}

impl Live {
    async fn next(mut self: Box<Self>) -> Option<(ApiResult<Event>, Box<Live>)> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                self.delivered = event.model().sequence;
                return Some((Ok(event), self));
            }
            if self.ended {
                return self.failure.take().map(|err| (Err(err), self));
            }
            // The rare steps that read the database are boxed: this future lives inline in every
            // idle subscription, which would otherwise keep room for the largest of them.
            let step = if self.replaying {
                Box::pin(self.replay()).await
            } else {
                self.listen().await
            };
            if let Err(err) = step {
                self.ended = true;
                self.failure = Some(err);
            }
        }
    }

    /// Queues the next page of stored events; goes live once there are none left. Each page
    /// is decided with the access as it is now: what changed since the subscription began
    /// (or since the events happened) counts, as it does for live events.
    async fn replay(&mut self) -> ApiResult<()> {
        let starts = self.starts.clone();
        let _turn = take_turn(&starts).await?;
        if self.credential_ended().await? {
            return Ok(());
        }
        self.refresh_reach().await?;
        let page = events::visible_after(
            &self.scope.db,
            &self.reach,
            &self.criteria,
            self.seen,
            REPLAY_PAGE,
        )
        .await?;
        match page.last() {
            Some(last) => self.seen = last.sequence,
            None => self.replaying = false,
        }
        // The page's subjects in one statement: rendering each event for the viewer needs
        // them, and loading them event by event would cost a statement per event.
        let mut subjects =
            crate::store::event_log::subjects_of(&self.scope.db.conn, page.iter().map(|e| e.id))
                .await?;
        self.queue.extend(page.into_iter().map(|event| {
            let subjects = subjects.remove(&event.id).unwrap_or_default().into();
            Event::with_subjects(Arc::new(event), subjects)
        }));
        Ok(())
    }

    /// Whether the connection's credential no longer authenticates; if so the stream ends,
    /// telling why after the events already queued.
    async fn credential_ended(&mut self) -> ApiResult<bool> {
        if crate::rules::auth::still_valid(&self.scope.db, &self.credential).await? {
            return Ok(false);
        }
        self.ended = true;
        self.failure = Some(ApiError::Unauthenticated(if self.credential.expired() {
            "the personal access token of this subscription expired"
        } else {
            "the credential of this subscription ended (logout or revocation), or its account was cancelled"
        }));
        Ok(true)
    }

    /// Loads the viewer's access as it is now, for the events decided from now on; the fields
    /// of the events delivered from now on read it afresh too.
    async fn refresh_reach(&mut self) -> ApiResult<()> {
        self.reach = Arc::new(Reach::load(&self.scope.db.conn, self.viewer).await?);
        self.scope.forget_reach();
        Ok(())
    }

    /// Takes the next batch (from the history first, then the feed's) and queues what the
    /// viewer may see of it now; ends the stream when the credential expires meanwhile.
    async fn listen(&mut self) -> ApiResult<()> {
        if let Some(batch) = self.recent.pop_front() {
            return self.consider(&batch).await;
        }
        if self.recent.capacity() > 0 {
            // Idle subscriptions are many: keep none of the room the history needed.
            self.recent = VecDeque::new();
        }
        let expiry = self.credential.expires_at();
        let received = tokio::select! {
            received = self.receiver.recv() => received,
            () = sleep_until(expiry) => {
                Box::pin(self.credential_ended()).await?;
                return Ok(());
            }
        };
        let batch = match received {
            Ok(batch) => batch,
            Err(broadcast::error::RecvError::Closed) => {
                self.ended = true;
                return Ok(());
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {
                let cursor = crate::api::cursor::encode(
                    Events::NAME,
                    crate::store::page::CursorKey::Sequence(self.delivered),
                );
                return Err(ApiError::Conflict {
                    message: format!(
                        "this subscription fell too far behind the event feed; subscribe again with after: \"{cursor}\""
                    ),
                    ids: Vec::new(),
                });
            }
        };
        self.consider(&batch).await
    }

    /// Queues what the viewer may see of `batch` now, and ends the stream when the batch ends
    /// its credential.
    async fn consider(&mut self, batch: &FeedNews) -> ApiResult<()> {
        if let crate::rules::auth::Credential::Session { id, .. } = self.credential
            && batch.ended_sessions.contains(&id)
            && Box::pin(self.credential_ended()).await?
        {
            return Ok(());
        }
        for item in batch.events.iter() {
            let event = &item.event;
            if event.sequence <= self.seen {
                continue;
            }
            self.seen = event.sequence;
            let kind = EventType::parse(&event.event_type);
            if kind.is_some_and(EventType::changes_access)
                && self.reach.touched_by(event, &item.subjects)
            {
                Box::pin(self.refresh_reach()).await?;
            }
            if self.reach.sees_event(event, &item.subjects)
                && self.criteria.matches(event, &item.subjects, &self.reach)
            {
                self.queue
                    .push_back(Event::with_subjects(event.clone(), item.subjects.clone()));
            }
            let own = event.actor_id == Some(self.viewer);
            if own
                && matches!(
                    kind,
                    Some(EventType::AccountCancelled | EventType::PersonalAccessTokenRevoked)
                )
                && Box::pin(self.credential_ended()).await?
            {
                break;
            }
        }
        Ok(())
    }
}

/// Completes at `at`, or never.
async fn sleep_until(at: Option<chrono::DateTime<chrono::Utc>>) {
    match at {
        // A moment already past converts to no wait at all.
        Some(at) => {
            tokio::time::sleep((at - chrono::Utc::now()).to_std().unwrap_or_default()).await
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the futures `f` returns.
    fn returned_size<A, F: std::future::Future>(_: impl Fn(A) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// Every idle subscription holds a `Live::next` future: it must not keep room for the
    /// futures of the database reads it rarely makes (they are boxed; unboxed, it was 1.9 KiB).
    #[test]
    fn an_idle_subscription_keeps_no_room_for_database_reads() {
        let size = returned_size(Live::next);
        assert!(size <= 512, "Live::next's future takes {size} bytes");
    }
}
