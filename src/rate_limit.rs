//! Rate limiting per person, in points per hour, as GitHub's GraphQL API does. A request costs
//! the number of connection pages it may need (each connection counts once for every object it
//! is selected on) divided by 100, rounded up, and at least 1: the dashboard's first screen
//! costs 40 of the default 5,000 an hour. A person's tokens and sessions share one budget, whose
//! hour starts with the first request after the previous one ended. Over it, a request is
//! refused before anything runs, with RATE_LIMITED and when to retry.
//!
//! Across instances the budget lives in the `rate_limit` table: each instance charges in
//! memory, so that a request waits for no write, and adds what it charged to the table about
//! once a second, learning there what the others charged. An instance can thus let a person
//! overspend by what that person spends elsewhere within a second; one instance is exact.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::db::Db;
use crate::graphql::sql::Sql;

/// How long a budget lasts.
const WINDOW: chrono::Duration = chrono::Duration::hours(1);
/// How often each instance adds what it charged to the shared table.
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// What a request was charged, and what is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub limit: u64,
    pub cost: u64,
    pub used: u64,
    pub remaining: u64,
    pub reset_at: DateTime<Utc>,
    /// The request was refused: it would have spent more than remained.
    pub refused: bool,
}

/// Where a request's charge is kept for the answer's headers and `Query.rateLimit`.
#[derive(Default)]
pub struct Charged(pub Mutex<Option<Allowance>>);

impl Charged {
    pub fn get(&self) -> Option<Allowance> {
        self.0.lock().ok().and_then(|charged| *charged)
    }
}

/// The points a request with `requests` connection pages costs.
pub fn cost(requests: u64) -> u64 {
    requests.div_ceil(100).max(1)
}

/// The error refusing a request its viewer's budget cannot pay for (RATE_LIMITED), saying
/// when to try again.
pub fn refusal(allowance: &Allowance) -> async_graphql::ServerError {
    let retry_after = (allowance.reset_at - Utc::now()).num_seconds().max(1);
    let reset_at = allowance
        .reset_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut error = async_graphql::ServerError::new(
        format!(
            "this request costs {} points and {} of your {} an hour remain; the budget renews at {reset_at} (in {retry_after} s)",
            allowance.cost, allowance.remaining, allowance.limit,
        ),
        None,
    );
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", "RATE_LIMITED");
    extensions.set("cost", allowance.cost);
    extensions.set("remaining", allowance.remaining);
    extensions.set("resetAt", reset_at);
    extensions.set("retryAfter", retry_after);
    error
}

#[derive(Debug, Clone, Copy)]
struct Budget {
    window_start: DateTime<Utc>,
    /// Points spent in the window as the shared table last told.
    known: u64,
    /// Points charged here and not yet added to the table.
    pending: u64,
}

/// This instance's view of every person's budget; cheap to clone.
#[derive(Clone)]
pub struct RateLimiter {
    points: u64,
    budgets: Arc<Mutex<HashMap<Uuid, Budget>>>,
}

impl RateLimiter {
    /// A limiter of `points` an hour.
    pub fn new(points: u64) -> RateLimiter {
        RateLimiter {
            points,
            budgets: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Charges `cost` to `person` at `now`, unless that is more than remains.
    pub fn charge(&self, person: Uuid, cost: u64, now: DateTime<Utc>) -> Allowance {
        let Ok(mut budgets) = self.budgets.lock() else {
            // A poisoned lock means a panic elsewhere; the limit is not worth failing for.
            return Allowance {
                limit: self.points,
                cost,
                used: 0,
                remaining: self.points,
                reset_at: now + WINDOW,
                refused: false,
            };
        };
        let budget = budgets.entry(person).or_insert(Budget {
            window_start: now,
            known: 0,
            pending: 0,
        });
        if now >= budget.window_start + WINDOW {
            *budget = Budget {
                window_start: now,
                known: 0,
                pending: 0,
            };
        }
        let used = budget.known.saturating_add(budget.pending);
        let refused = used.saturating_add(cost) > self.points;
        if !refused {
            budget.pending = budget.pending.saturating_add(cost);
        }
        let used = if refused { used } else { used + cost };
        Allowance {
            limit: self.points,
            cost,
            used,
            remaining: self.points.saturating_sub(used),
            reset_at: budget.window_start + WINDOW,
            refused,
        }
    }

    /// Adds what was charged here to the shared table, and learns what every instance spent.
    /// Budgets whose hour is over are forgotten.
    pub async fn sync(&self, db: &Db) {
        let now = Utc::now();
        let pending: Vec<(Uuid, Budget)> = match self.budgets.lock() {
            Ok(mut budgets) => {
                budgets.retain(|_, budget| now < budget.window_start + WINDOW);
                budgets
                    .iter_mut()
                    .filter(|(_, budget)| budget.pending > 0)
                    .map(|(person, budget)| {
                        let taken = *budget;
                        budget.pending = 0;
                        budget.known = budget.known.saturating_add(taken.pending);
                        (*person, taken)
                    })
                    .collect()
            }
            Err(_) => return,
        };
        for (person, budget) in pending {
            match add_spent(db, person, budget, now).await {
                Ok((window_start, used)) => {
                    if let Ok(mut budgets) = self.budgets.lock()
                        && let Some(current) = budgets.get_mut(&person)
                    {
                        current.window_start = window_start;
                        current.known = used;
                    }
                }
                Err(err) => {
                    tracing::warn!(%err, "cannot record rate-limit points; retrying");
                    if let Ok(mut budgets) = self.budgets.lock()
                        && let Some(current) = budgets.get_mut(&person)
                    {
                        current.pending = current.pending.saturating_add(budget.pending);
                        current.known = current.known.saturating_sub(budget.pending);
                    }
                }
            }
        }
    }

    /// Learns every budget whose hour is not over from the shared table, in one statement. A
    /// server does it before it answers anything: a person who spent their budget before a
    /// restart (or on another instance) is not given it again while the first sync is awaited.
    pub async fn load(&self, db: &Db) -> Result<(), sea_orm::DbErr> {
        let now = Utc::now();
        let mut sql = Sql::new(db.backend());
        sql.push("SELECT person_id, window_start, used FROM rate_limit WHERE window_start > ")
            .bind(now - WINDOW);
        let rows = db.conn.query_all_raw(sql.statement()).await?;
        let mut known = Vec::with_capacity(rows.len());
        for row in rows {
            let person: Uuid = row.try_get("", "person_id")?;
            let window_start: DateTime<Utc> = row.try_get("", "window_start")?;
            let used: i64 = row.try_get("", "used")?;
            known.push((person, window_start, u64::try_from(used).unwrap_or(0)));
        }
        if let Ok(mut budgets) = self.budgets.lock() {
            for (person, window_start, used) in known {
                let budget = budgets.entry(person).or_insert(Budget {
                    window_start,
                    known: 0,
                    pending: 0,
                });
                budget.window_start = window_start;
                budget.known = budget.known.max(used);
            }
        }
        Ok(())
    }

    /// Syncs every `SYNC_EVERY` until the limiter's last other clone is gone.
    pub fn sync_periodically(&self, db: Db) {
        let limiter = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(SYNC_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                limiter.sync(&db).await;
                if Arc::strong_count(&limiter.budgets) == 1 {
                    return;
                }
            }
        });
    }
}

/// Adds `budget.pending` to `person`'s row (a new window when the stored one is over) and
/// returns the row's window and points after it.
async fn add_spent(
    db: &Db,
    person: Uuid,
    budget: Budget,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, u64), sea_orm::DbErr> {
    let expired = now - WINDOW;
    let spent = i64::try_from(budget.pending).unwrap_or(i64::MAX);
    let mut sql = Sql::new(db.backend());
    sql.push("INSERT INTO rate_limit (person_id, window_start, used) VALUES (")
        .bind(person)
        .push(", ")
        .bind(budget.window_start)
        .push(", ")
        .bind(spent)
        .push(") ON CONFLICT (person_id) DO UPDATE SET used = CASE WHEN rate_limit.window_start <= ")
        .bind(expired)
        .push(" THEN excluded.used ELSE rate_limit.used + excluded.used END, window_start = CASE WHEN rate_limit.window_start <= ")
        .bind(expired)
        .push(" THEN excluded.window_start ELSE rate_limit.window_start END RETURNING window_start, used");
    let row = db
        .conn
        .query_one_raw(sql.statement())
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("the rate_limit row".to_owned()))?;
    let window_start: DateTime<Utc> = row.try_get("", "window_start")?;
    let used: i64 = row.try_get("", "used")?;
    Ok((window_start, u64::try_from(used).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_costs_its_connection_pages_over_a_hundred_at_least_one() {
        assert_eq!(cost(0), 1);
        assert_eq!(cost(100), 1);
        assert_eq!(cost(101), 2);
        assert_eq!(cost(3_903), 40);
    }

    #[test]
    fn the_budget_is_spent_refused_and_renewed_after_an_hour() {
        let limiter = RateLimiter::new(100);
        let person = Uuid::now_v7();
        let start = Utc::now();
        let first = limiter.charge(person, 40, start);
        assert_eq!(
            (first.used, first.remaining, first.refused),
            (40, 60, false)
        );
        assert_eq!(first.reset_at, start + WINDOW);
        let second = limiter.charge(person, 40, start + chrono::Duration::minutes(1));
        assert_eq!((second.used, second.remaining), (80, 20));
        // Too much for what is left: refused, and nothing is spent.
        let third = limiter.charge(person, 40, start + chrono::Duration::minutes(2));
        assert!(third.refused);
        assert_eq!((third.used, third.remaining), (80, 20));
        // What still fits goes through.
        assert!(
            !limiter
                .charge(person, 20, start + chrono::Duration::minutes(3))
                .refused
        );
        assert!(
            limiter
                .charge(person, 1, start + chrono::Duration::minutes(4))
                .refused
        );
        // Another person has a budget of their own.
        assert!(!limiter.charge(Uuid::now_v7(), 100, start).refused);
        // An hour after the window began, a new one begins.
        let renewed = limiter.charge(person, 40, start + WINDOW);
        assert_eq!((renewed.used, renewed.refused), (40, false));
        assert_eq!(renewed.reset_at, start + WINDOW + WINDOW);
    }
}
