//! Rate limiting per person, in points per hour, as GitHub's GraphQL API does. A request costs
//! the number of connection pages it may need (each connection counts once for every object it
//! is selected on) divided by 100, or the nodes it may return (lists and introspection
//! included, see `limits`) divided by 10,000, whichever is more, rounded up, and at least 1:
//! the dashboard's first screen costs 47 of the default 5,000 an hour. A person's tokens and
//! sessions share one budget, whose hour starts with the first request after the previous one
//! ended. Anonymous requests (which can introspect, and learn they must sign in) spend a budget
//! of their client address (default 1,000 an hour). Over a budget, a request is refused before
//! anything runs, with RATE_LIMITED and when to retry.
//!
//! Across instances the budget lives in the `rate_limit` table: each instance charges in
//! memory, so that a request waits for no write, and adds what it charged to the table about
//! once a second, learning there what the others charged. An instance can thus let a person
//! overspend by what that person spends elsewhere within a second; one instance is exact.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::store::db::Db;
use crate::store::sql::Sql;

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

/// The points a request costs: the connection pages it may need over 100, or the nodes it may
/// return over 10,000 (lists and introspection included), whichever is more, rounded up, and
/// at least 1.
pub fn cost(requests: u64, nodes: u64) -> u64 {
    requests.div_ceil(100).max(nodes.div_ceil(10_000)).max(1)
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
    /// Points an anonymous client may spend an hour (0: no limit), and what each address spent.
    anonymous_points: u64,
    anonymous: Arc<Mutex<HashMap<IpAddr, Budget>>>,
}

/// The address a request came from (the TCP peer's), which anonymous requests are charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// The most addresses whose anonymous budgets an instance keeps: about 6 MiB. When that many
/// spent points within the hour, anonymous requests from other addresses are refused until
/// some budgets end, rather than given a budget that forgets another's.
const MAX_ADDRESSES: usize = 100_000;

/// What anonymous requests are charged to: the address, or for IPv6 its /64 network, which one
/// subscriber is given whole (otherwise each of its addresses would have a budget).
fn payer(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(std::net::Ipv6Addr::from(network))
            }
        },
    }
}

impl RateLimiter {
    /// A limiter of `points` an hour per person, and as many per address for anonymous
    /// requests (`with_anonymous` sets another).
    pub fn new(points: u64) -> RateLimiter {
        RateLimiter {
            points,
            budgets: Arc::new(Mutex::new(HashMap::new())),
            anonymous_points: points,
            anonymous: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The same limiter, with `points` an hour for each client address's anonymous requests (0:
    /// no limit).
    pub fn with_anonymous(mut self, points: u64) -> RateLimiter {
        self.anonymous_points = points;
        self
    }

    /// Charges an anonymous request's `cost` to the address it came from. Kept by this instance
    /// alone: behind a load balancer an address may spend as much at each instance.
    pub fn charge_address(&self, address: IpAddr, cost: u64, now: DateTime<Utc>) -> Allowance {
        let points = self.anonymous_points;
        let unlimited = Allowance {
            limit: points,
            cost,
            used: 0,
            remaining: points,
            reset_at: now + WINDOW,
            refused: false,
        };
        if points == 0 {
            return unlimited;
        }
        let Ok(mut budgets) = self.anonymous.lock() else {
            return unlimited;
        };
        let address = payer(address);
        if budgets.len() >= MAX_ADDRESSES && !budgets.contains_key(&address) {
            budgets.retain(|_, budget| now < budget.window_start + WINDOW);
            if budgets.len() >= MAX_ADDRESSES {
                tracing::warn!(
                    "{MAX_ADDRESSES} addresses spent anonymous points this hour; refusing others"
                );
                return Allowance {
                    used: points,
                    remaining: 0,
                    refused: true,
                    ..unlimited
                };
            }
        }
        let budget = budgets.entry(address).or_insert(Budget {
            window_start: now,
            known: 0,
            pending: 0,
        });
        spend(budget, points, cost, now)
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
        spend(budget, self.points, cost, now)
    }

    /// Adds what was charged here to the shared table, and learns what every instance spent.
    /// Budgets whose hour is over are forgotten.
    pub async fn sync(&self, db: &Db) {
        let now = Utc::now();
        if let Ok(mut anonymous) = self.anonymous.lock() {
            anonymous.retain(|_, budget| now < budget.window_start + WINDOW);
        }
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

/// Spends `cost` of `budget` (of `points` an hour) at `now`, unless that is more than remains;
/// an hour that is over starts again.
fn spend(budget: &mut Budget, points: u64, cost: u64, now: DateTime<Utc>) -> Allowance {
    if now >= budget.window_start + WINDOW {
        *budget = Budget {
            window_start: now,
            known: 0,
            pending: 0,
        };
    }
    let used = budget.known.saturating_add(budget.pending);
    let refused = used.saturating_add(cost) > points;
    if !refused {
        budget.pending = budget.pending.saturating_add(cost);
    }
    let used = if refused { used } else { used + cost };
    Allowance {
        limit: points,
        cost,
        used,
        remaining: points.saturating_sub(used),
        reset_at: budget.window_start + WINDOW,
        refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_costs_its_pages_over_a_hundred_or_its_nodes_over_ten_thousand() {
        assert_eq!(cost(0, 0), 1);
        assert_eq!(cost(100, 10_000), 1);
        assert_eq!(cost(101, 0), 2);
        assert_eq!(cost(3_903, 20), 40);
        // Nodes count where they weigh more: a large introspection, say.
        assert_eq!(cost(1, 120_001), 13);
    }

    /// Anonymous requests spend their address's budget; an IPv6 /64 network is one payer,
    /// other addresses have budgets of their own.
    #[test]
    fn anonymous_requests_are_charged_to_their_address() {
        let limiter = RateLimiter::new(1_000).with_anonymous(10);
        let now = Utc::now();
        let ip = |text: &str| text.parse::<IpAddr>().expect("an address");
        assert!(!limiter.charge_address(ip("192.0.2.1"), 6, now).refused);
        let over = limiter.charge_address(ip("192.0.2.1"), 6, now);
        assert!(over.refused);
        assert_eq!((over.limit, over.remaining), (10, 4));
        assert!(!limiter.charge_address(ip("192.0.2.2"), 6, now).refused);
        assert!(!limiter.charge_address(ip("2001:db8::1"), 6, now).refused);
        assert!(
            limiter
                .charge_address(ip("2001:db8::ffff:1"), 6, now)
                .refused
        );
        assert!(
            !limiter
                .charge_address(ip("2001:db8:0:1::1"), 6, now)
                .refused
        );
        // An IPv4 client seen through an IPv6 socket is the same client.
        assert!(
            limiter
                .charge_address(ip("::ffff:192.0.2.1"), 6, now)
                .refused
        );
        // An hour later the budget is whole again; 0 is no limit.
        assert!(
            !limiter
                .charge_address(ip("192.0.2.1"), 6, now + WINDOW)
                .refused
        );
        let open = RateLimiter::new(1_000).with_anonymous(0);
        assert!(!open.charge_address(ip("192.0.2.1"), 1_000_000, now).refused);
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
