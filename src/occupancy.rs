//! What one person or one client address holds at once on this instance, each with its own
//! maximum (README, the WebSocket rows of "Configuration"): WebSocket connections of a person,
//! sockets of an address that have not signed in yet, live subscriptions of a person; and the
//! turns that make one person's burst of operations wait for that person alone.
//!
//! A place is given back when what holds it is dropped, however the connection or the
//! subscription ends; a key is forgotten once it holds nothing, so the maps hold no more keys
//! than there are connections.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

/// How many places each key holds. Cheap to clone; clones share the counts.
#[derive(Debug)]
pub struct Occupancy<K>(Arc<Mutex<HashMap<K, usize>>>);

impl<K> Clone for Occupancy<K> {
    fn clone(&self) -> Self {
        Occupancy(self.0.clone())
    }
}

impl<K> Default for Occupancy<K> {
    fn default() -> Self {
        Occupancy(Arc::new(Mutex::new(HashMap::new())))
    }
}

impl<K: Hash + Eq + Clone> Occupancy<K> {
    /// A place for `key`, unless it already holds `max`.
    pub fn take(&self, key: K, max: usize) -> Option<Place<K>> {
        let mut counts = self.0.lock().ok()?;
        let count = counts.entry(key.clone()).or_insert(0);
        if *count >= max {
            if *count == 0 {
                counts.remove(&key);
            }
            return None;
        }
        *count += 1;
        Some(Place {
            occupancy: self.clone(),
            key,
        })
    }

    /// The places `key` holds.
    pub fn held(&self, key: &K) -> usize {
        self.0
            .lock()
            .map_or(0, |counts| counts.get(key).copied().unwrap_or(0))
    }
}

/// One place, given back when dropped.
#[derive(Debug)]
pub struct Place<K: Hash + Eq> {
    occupancy: Occupancy<K>,
    key: K,
}

impl<K: Hash + Eq> Drop for Place<K> {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.occupancy.0.lock()
            && let Some(count) = counts.get_mut(&self.key)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// Turns per person: at most `per_person` of a person's operations are started at once (their
/// credential checked, measured, charged); the others wait for that person's turns, not for
/// anyone else's. One person's burst of subscriptions thus takes as many database connections
/// and as much of the server's time as `per_person` operations do.
#[derive(Debug, Clone)]
pub struct Turns {
    per_person: usize,
    people: Arc<Mutex<HashMap<Uuid, Waiting>>>,
}

/// A person's semaphore, with how many wait for it or hold one of its turns.
type Waiting = (Arc<Semaphore>, usize);

impl Turns {
    pub fn new(per_person: usize) -> Turns {
        Turns {
            per_person: per_person.max(1),
            people: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Waits for one of `person`'s turns.
    pub async fn take(&self, person: Uuid) -> Turn {
        let semaphore = match self.people.lock() {
            Ok(mut people) => {
                let entry = people
                    .entry(person)
                    .or_insert_with(|| (Arc::new(Semaphore::new(self.per_person)), 0));
                entry.1 += 1;
                Some(entry.0.clone())
            }
            Err(_) => None,
        };
        // Counted before the wait: a wait cut short (the connection closed) is given back too.
        let mut turn = Turn {
            turns: self.clone(),
            person,
            permit: None,
        };
        if let Some(semaphore) = semaphore {
            turn.permit = semaphore.acquire_owned().await.ok();
        }
        turn
    }
}

/// A person's turn, given back when dropped.
#[derive(Debug)]
pub struct Turn {
    turns: Turns,
    person: Uuid,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        drop(self.permit.take());
        if let Ok(mut people) = self.turns.people.lock()
            && let Some(entry) = people.get_mut(&self.person)
        {
            entry.1 = entry.1.saturating_sub(1);
            if entry.1 == 0 {
                people.remove(&self.person);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_given_back_and_keys_forgotten() {
        let occupancy = Occupancy::default();
        let first = occupancy.take("a", 2).expect("room");
        let second = occupancy.take("a", 2).expect("room");
        assert!(occupancy.take("a", 2).is_none());
        assert!(occupancy.take("b", 2).is_some());
        drop(first);
        assert_eq!(occupancy.held(&"a"), 1);
        drop(second);
        assert_eq!(occupancy.held(&"a"), 0);
        assert!(occupancy.0.lock().expect("lock").is_empty());
        assert!(occupancy.take("c", 0).is_none());
        assert!(occupancy.0.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn one_persons_turns_do_not_wait_for_anothers() {
        let turns = Turns::new(1);
        let (ana, bo) = (Uuid::now_v7(), Uuid::now_v7());
        let held = turns.take(ana).await;
        // Ana's next turn waits; Bo's does not.
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), turns.take(ana));
        assert!(waiting.await.is_err());
        let _bo = turns.take(bo).await;
        drop(held);
        let again = turns.take(ana).await;
        drop(again);
        drop(_bo);
        assert!(turns.people.lock().expect("lock").is_empty());
    }
}
