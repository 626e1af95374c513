//! How many objects one person or one object may hold (README, "Object limits"): what a client
//! can make the server store is bounded, and with it every list that shows it.
//!
//! Each count is taken inside the mutation's transaction, after `Change::begin` locked the
//! actor's row (PostgreSQL) or took the one writer (SQLite): two mutations of one person cannot
//! both pass the same count. A count per app runs under the app's row lock, taken for it.

use crate::error::{ApiError, ApiResult};

/// The limits; `Quotas::default()` holds the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// SSH keys per person.
    pub ssh_keys: u64,
    /// Personal access tokens per person that still work (neither revoked nor expired).
    pub tokens: u64,
    /// Saved event filters per person.
    pub event_filters: u64,
    /// Environments per app.
    pub environments: u64,
    /// Pending invitations per team, app or payment method.
    pub pending_invitations: u64,
    /// Invitations (and so invitation mails) one person may send in an hour.
    pub invitations_per_hour: u64,
    /// Technical contacts per app.
    pub technical_contacts: u64,
    /// Apps one invitation may name (`appIds` of `inviteToTeam` and `inviteToTakeOverBilling`).
    pub invitation_apps: u64,
    /// Invitation mails one address is sent in an hour, whoever invites it; further invitations
    /// stand without a mail (their links go to the inviters only), so that no address can be
    /// mailed over and over, by one sender or by many.
    pub mails_per_address: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            ssh_keys: 50,
            tokens: 100,
            event_filters: 100,
            environments: 100,
            pending_invitations: 100,
            invitations_per_hour: 50,
            technical_contacts: 10,
            invitation_apps: 100,
            mails_per_address: 5,
        }
    }
}

/// Refuses one more of `what` when `count` already reached `max`: BAD_USER_INPUT naming the
/// limit (`extensions.limit`) and its maximum (`extensions.max`).
pub fn ensure_room(limit: &'static str, max: u64, count: u64, what: &str) -> ApiResult<()> {
    if count < max {
        return Ok(());
    }
    Err(ApiError::OverLimit {
        limit,
        max,
        message: format!("{what}: at most {max} ({limit}); remove some first"),
    })
}

/// Refuses a list of `len` items where at most `max` may be: BAD_USER_INPUT naming the limit,
/// as `ensure_room` does.
pub fn ensure_at_most(limit: &'static str, max: u64, len: usize, what: &str) -> ApiResult<()> {
    if len as u64 <= max {
        return Ok(());
    }
    Err(ApiError::OverLimit {
        limit,
        max,
        message: format!("{what}: at most {max} ({limit}); {len} were given"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_one_fits_and_the_next_is_refused_with_its_limit() {
        assert!(ensure_room("sshKeys", 2, 1, "SSH keys per person").is_ok());
        let refused = ensure_room("sshKeys", 2, 2, "SSH keys per person").map_err(|e| e.code());
        assert_eq!(refused, Err("BAD_USER_INPUT"));
        assert!(ensure_at_most("technicalContacts", 2, 2, "technical contacts").is_ok());
        let refused = ensure_at_most("technicalContacts", 2, 3, "technical contacts");
        assert_eq!(refused.map_err(|e| e.code()), Err("BAD_USER_INPUT"));
    }
}
