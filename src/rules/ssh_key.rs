//! The rules of SSH keys: what a key must be to be accepted (one line, a key OpenSSH still
//! takes, not a weak one), who may hold keys (developers), how many, and that every key has one
//! owner. Adding and removing a key each record their event in the same change.

use entity::enums::{AccountType, EventSubjectKind, EventType};
use entity::ssh_key;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, ModelTrait, PaginatorTrait,
    QueryFilter,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::change::{Change, NewEvent, Subject};

/// A key to add, checked: its title cleaned, the key parsed, re-encoded and fingerprinted.
/// Checked before any transaction begins, so bad input costs no write lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSshKey {
    pub title: String,
    pub public_key: String,
    pub fingerprint: String,
}

impl NewSshKey {
    pub fn parse(title: &str, public_key: &str) -> ApiResult<NewSshKey> {
        let title = crate::naming::clean_name(title, "a key title")?;
        let (public_key, fingerprint) = parse_public_key(public_key)?;
        Ok(NewSshKey {
            title,
            public_key,
            fingerprint,
        })
    }
}

/// Adds `key` to the actor's account: developers only, at most `max_keys` per person (the
/// `sshKeys` quota), and a key already held by anyone is a CONFLICT (naming the actor's own
/// key when it is theirs, nothing about another account's).
pub async fn add(change: &mut Change, key: NewSshKey, max_keys: u64) -> ApiResult<ssh_key::Model> {
    if change.actor.account_type != AccountType::Developer {
        return Err(ApiError::Forbidden(
            "only developer accounts have SSH keys".to_owned(),
        ));
    }
    let held = ssh_key::Entity::find()
        .filter(ssh_key::Column::PersonId.eq(change.actor.id))
        .count(&change.txn)
        .await?;
    crate::rules::quotas::ensure_room("sshKeys", max_keys, held, "SSH keys per person")?;
    let taken = ssh_key::Entity::find()
        .filter(ssh_key::Column::Fingerprint.eq(&key.fingerprint))
        .one(&change.txn)
        .await?;
    if let Some(taken) = taken {
        let own = taken.person_id == change.actor.id;
        return Err(ApiError::Conflict {
            message: if own {
                format!("you added this key already, as \"{}\"", taken.title)
            } else {
                "this key belongs to another account; every key has one owner".to_owned()
            },
            ids: if own { vec![taken.id] } else { Vec::new() },
        });
    }
    let key = ssh_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        person_id: Set(change.actor.id),
        title: Set(key.title),
        public_key: Set(key.public_key),
        fingerprint: Set(key.fingerprint),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(&change.txn)
    .await?;
    change.record(NewEvent {
        event_type: EventType::SshKeyAdded,
        summary: format!(
            "{} added SSH key {} ({})",
            change.actor.name, key.title, key.fingerprint
        ),
        subjects: vec![
            Subject::person(&change.actor),
            Subject::new(EventSubjectKind::SshKey, key.id, key.title.clone()),
        ],
        payload: serde_json::json!({ "title": key.title, "fingerprint": key.fingerprint }),
    });
    Ok(key)
}

/// Removes the actor's key `id`. Anyone else's key, or none, is NOT_FOUND alike.
pub async fn remove(change: &mut Change, id: Uuid) -> ApiResult<()> {
    let key = ssh_key::Entity::find_by_id(id)
        .one(&change.txn)
        .await?
        .filter(|k| k.person_id == change.actor.id)
        .ok_or_else(|| ApiError::not_found("SshKey"))?;
    let (title, fingerprint) = (key.title.clone(), key.fingerprint.clone());
    key.delete(&change.txn).await?;
    change.record(NewEvent {
        event_type: EventType::SshKeyRemoved,
        summary: format!(
            "{} removed SSH key {title} ({fingerprint})",
            change.actor.name
        ),
        subjects: vec![
            Subject::person(&change.actor),
            Subject::new(EventSubjectKind::SshKey, id, title.clone()),
        ],
        payload: serde_json::json!({ "title": title, "fingerprint": fingerprint }),
    });
    Ok(())
}

/// The smallest RSA modulus accepted, in bits (NIST's floor; OpenSSH refuses under 1024).
const MIN_RSA_BITS: usize = 2048;
/// OpenSSH's own maximum (`SSH_RSA_MAXIMUM_MODULUS_SIZE`): longer keys only cost storage and
/// answer size, and no ssh client makes them.
const MAX_RSA_BITS: usize = 16_384;

/// Parses an OpenSSH public key; returns it re-encoded and its SHA256 fingerprint. The git
/// gateway writes keys one per line into authorized_keys, so a line break or any other control
/// character (in the comment, say) is refused: it could smuggle in a line of its own. Keys
/// OpenSSH no longer accepts, or that are trivially broken, are refused too.
pub fn parse_public_key(text: &str) -> ApiResult<(String, String)> {
    let text = text.trim();
    if text.chars().any(char::is_control) {
        return Err(ApiError::bad_input(
            "a public key is one line: no line break or other control character",
        ));
    }
    let key = ::ssh_key::PublicKey::from_openssh(text).map_err(|err| {
        ApiError::bad_input(format!(
            "not an OpenSSH public key ({err}); paste the one line of your .pub file"
        ))
    })?;
    strong_enough(key.key_data()).map_err(ApiError::bad_input)?;
    let fingerprint = key.fingerprint(::ssh_key::HashAlg::Sha256).to_string();
    let encoded = key
        .to_openssh()
        .map_err(|err| ApiError::bad_input(format!("cannot encode this key: {err}")))?;
    Ok((encoded, fingerprint))
}

/// Refuses DSA keys (OpenSSH dropped them) and RSA keys that are short or have a degenerate
/// public exponent.
fn strong_enough(key: &::ssh_key::public::KeyData) -> Result<(), String> {
    use ::ssh_key::public::KeyData;
    match key {
        KeyData::Dsa(_) => {
            Err("DSA keys are no longer accepted by OpenSSH; use an ed25519 key".to_owned())
        }
        KeyData::Rsa(rsa) => {
            let bits = rsa.n.as_positive_bytes().map_or(0, |n| {
                n.first()
                    .map_or(0, |top| n.len() * 8 - top.leading_zeros() as usize)
            });
            if bits > MAX_RSA_BITS {
                return Err(format!(
                    "this RSA key has {bits} bits; OpenSSH accepts at most {MAX_RSA_BITS}"
                ));
            }
            if bits < MIN_RSA_BITS {
                return Err(format!(
                    "this RSA key has {bits} bits; at least {MIN_RSA_BITS} are needed (or use an ed25519 key)"
                ));
            }
            let e = rsa.e.as_positive_bytes().unwrap_or_default();
            let odd = e.last().is_some_and(|low| low % 2 == 1);
            let at_least_3 = e.len() > 1 || e.first().is_some_and(|&e| e >= 3);
            if !(odd && at_least_3) {
                return Err("this RSA key's public exponent is not a valid one".to_owned());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_parsed_and_fingerprinted_like_ssh_keygen() {
        let (key, fingerprint) = parse_public_key(
            " ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHduIfgV+f/CpNMnzn1jp+noIaDO1Cf70gGz0tfL8nU/ ana@laptop\n",
        )
        .expect("valid key");
        assert_eq!(
            fingerprint,
            "SHA256:3ksrEc+Wf/QeocT4U/7skSGxOPnz6cJMlbr1PEOo93g"
        );
        assert!(key.starts_with("ssh-ed25519 AAAA") && key.ends_with("ana@laptop"));
    }

    #[test]
    fn garbage_is_bad_user_input() {
        for bad in [
            "",
            "ssh-ed25519",
            "ssh-ed25519 AAAA",
            "not a key at all",
            "ssh-rsa AAAAB3NzaC1yc2E= x",
        ] {
            assert_eq!(
                parse_public_key(bad).unwrap_err().code(),
                "BAD_USER_INPUT",
                "{bad}"
            );
        }
    }
}
