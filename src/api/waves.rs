//! Deterministic batching. async-graphql's dataloader fires a batch a fixed delay after its
//! first key, from a spawned task: how many keys make it into one batch then depends on timing,
//! and so does the number of statements a query costs.
//!
//! Here a request's batches are not spawned onto the runtime but queued, and `run` drives them
//! in the request's own task, in waves: a wave starts only when the execution cannot progress
//! and the previous wave has finished. Every key the execution can produce before it needs data
//! is then in the wave, so the statements a query costs follow from its shape alone. The
//! dataloader's delay is zero: the queue, not a timer, decides when a batch runs.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use tracing::Instrument;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};

#[derive(Clone, Default)]
pub struct Waves {
    queued: Arc<Mutex<Vec<BoxFuture<'static, ()>>>>,
    /// The span the waves' own spans open inside (the operation's), for traces; none: the span
    /// current when a wave starts.
    parent: Arc<Mutex<Option<tracing::Span>>>,
}

impl Waves {
    /// Opens the spans of the waves to come inside `span`: the operation's span is made once
    /// the operation is admitted, inside the execution that `run` drives from outside it.
    pub fn open_inside(&self, span: tracing::Span) {
        if let Ok(mut parent) = self.parent.lock() {
            *parent = Some(span);
        }
    }

    /// A span for the next wave, of `statements` batches (one statement each).
    fn wave_span(&self, wave: u32, statements: usize) -> tracing::Span {
        let parent = self.parent.lock().ok().and_then(|parent| parent.clone());
        match parent {
            Some(parent) => tracing::info_span!(
                parent: &parent,
                "wave",
                otel.name = "statement wave",
                wave,
                statements,
            ),
            None => tracing::info_span!("wave", otel.name = "statement wave", wave, statements),
        }
    }

    /// The spawner to give the dataloader: it queues instead of spawning.
    pub fn spawner(&self) -> impl Fn(BoxFuture<'static, ()>) + Send + Sync + 'static {
        let queued = self.queued.clone();
        move |batch| {
            if let Ok(mut queued) = queued.lock() {
                queued.push(batch);
            }
        }
    }

    fn take_queued(&self) -> Vec<BoxFuture<'static, ()>> {
        self.queued
            .lock()
            .map(|mut q| std::mem::take(&mut *q))
            .unwrap_or_default()
    }

    /// Runs `execution` to completion, driving its batches wave by wave.
    pub async fn run<F: Future>(self, execution: F) -> F::Output {
        let mut execution = pin!(execution);
        let mut running: FuturesUnordered<BoxFuture<'static, ()>> = FuturesUnordered::new();
        let woken = Arc::new(AtomicBool::new(false));
        let mut waves = 0_u32;
        std::future::poll_fn(move |cx| {
            // The execution gets a waker of its own, to tell "it has more to do" (it yielded, or
            // a batch it waits for finished) from "it waits for data".
            let execution_waker = Waker::from(Arc::new(ExecutionWaker {
                woken: woken.clone(),
                task: cx.waker().clone(),
            }));
            loop {
                woken.store(false, Ordering::SeqCst);
                let mut execution_cx = Context::from_waker(&execution_waker);
                if let Poll::Ready(output) = execution.as_mut().poll(&mut execution_cx) {
                    return Poll::Ready(output);
                }
                while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {}
                if woken.load(Ordering::SeqCst) {
                    // Large lists are resolved in slices that yield in between: finish them
                    // before starting a wave, so their keys all land in it.
                    continue;
                }
                if !running.is_empty() {
                    // The current wave is still loading; its completion wakes this task.
                    return Poll::Pending;
                }
                let wave = self.take_queued();
                if wave.is_empty() {
                    return Poll::Pending;
                }
                waves += 1;
                // A span per wave, a child of the operation's, for traces (`telemetry`): it
                // ends when the last of its batches (one statement each) has.
                let span = self.wave_span(waves, wave.len());
                if span.is_disabled() {
                    running.extend(wave);
                } else {
                    running.extend(
                        wave.into_iter()
                            .map(|batch| batch.instrument(span.clone()).boxed()),
                    );
                }
                while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {}
                if !woken.load(Ordering::SeqCst) && !running.is_empty() {
                    return Poll::Pending;
                }
            }
        })
        .await
    }
}

/// Records that the execution was woken, and wakes the request's task.
struct ExecutionWaker {
    woken: Arc<AtomicBool>,
    task: Waker,
}

impl Wake for ExecutionWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.task.wake_by_ref();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::atomic::AtomicUsize;

    use async_graphql::dataloader::{DataLoader, Loader};

    struct Counting(Arc<AtomicUsize>);

    impl Loader<u32> for Counting {
        type Value = u32;
        type Error = ();

        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, ()> {
            self.0.fetch_add(1, Ordering::SeqCst);
            // Real loaders wait for the database; make later waves possible.
            tokio::task::yield_now().await;
            Ok(keys.iter().map(|k| (*k, k * 2)).collect())
        }
    }

    #[tokio::test]
    async fn keys_requested_together_load_in_one_batch_per_wave() {
        let calls = Arc::new(AtomicUsize::new(0));
        let waves = Waves::default();
        let loader = DataLoader::new(Counting(calls.clone()), waves.spawner())
            .delay(std::time::Duration::ZERO);
        let loader = &loader;
        let result = waves
            .run(async move {
                // More than the 32 futures a join polls before it yields.
                let first =
                    futures_util::future::join_all((0..500).map(|k| loader.load_one(k))).await;
                // A second level, built from the first level's results.
                let second = futures_util::future::join_all(
                    first
                        .iter()
                        .map(|v| loader.load_one(v.ok().flatten().unwrap_or(0) + 1000)),
                )
                .await;
                second.len()
            })
            .await;
        assert_eq!(result, 500);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one batch per level");
    }
}
