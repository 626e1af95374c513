//! SSH public keys of developers: the owner's alone, and the keys authorized on the
//! environments of the apps the owner is connected to.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::enums::{EventSubjectKind, EventType};
use entity::ssh_key;

use uuid::Uuid;

use entity::enums::AccountType;

use crate::api::connection::TotalCount;
use crate::api::context::{load_by_id, loader, scope};
use crate::api::relay::{NodeKind, expect_global_id, global_id};
use crate::error::{ApiError, ApiResult};
use crate::rules::change::{Change, NewEvent, Subject};

/// A connection of SSH keys.
pub type SshKeyConnection = async_graphql::connection::Connection<String, SshKey, TotalCount>;

/// A developer's OpenSSH public key.
pub struct SshKey(pub ssh_key::Model);

/// A developer's OpenSSH public key.
#[Object]
impl SshKey {
    /// The global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::SshKey, self.0.id)
    }

    /// A title to recognise the key by.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// The public key in OpenSSH format.
    async fn public_key(&self) -> &str {
        &self.0.public_key
    }

    /// The SHA256 fingerprint, as `ssh-keygen -l` prints it.
    async fn fingerprint(&self) -> &str {
        &self.0.fingerprint
    }

    /// When the key was added.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

load_by_id!(SshKeyId, ssh_key);

/// Loads an SSH key of the viewer's own.
pub async fn node(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<SshKey>> {
    let viewer = scope(ctx)?.viewer()?.id();
    Ok(loader(ctx)?
        .load_one(SshKeyId(id))
        .await?
        .filter(|key| key.person_id == viewer)
        .map(SshKey))
}

/// A public key to add to the viewer's account.
#[derive(async_graphql::InputObject)]
pub struct AddSshKeyInput {
    /// A title to recognise the key by.
    pub title: String,
    /// The public key in OpenSSH format (`ssh-ed25519 AAAA... comment`).
    pub public_key: String,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `addSshKey`.
#[derive(async_graphql::SimpleObject)]
pub struct AddSshKeyPayload {
    /// The key as stored.
    pub ssh_key: SshKey,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// A key to remove from the viewer's account.
#[derive(async_graphql::InputObject)]
pub struct RemoveSshKeyInput {
    /// The key's global id.
    pub ssh_key_id: ID,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `removeSshKey`.
#[derive(async_graphql::SimpleObject)]
pub struct RemoveSshKeyPayload {
    /// The id of the removed key.
    pub deleted_ssh_key_id: ID,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
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

/// Mutations of SSH keys.
#[derive(Default)]
pub struct SshKeyMutation;

#[Object]
impl SshKeyMutation {
    /// Adds a public key to the viewer's account. Developers only; a key belongs to one person.
    async fn add_ssh_key(
        &self,
        ctx: &Context<'_>,
        input: AddSshKeyInput,
    ) -> ApiResult<Option<AddSshKeyPayload>> {
        use sea_orm::{
            ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait,
            QueryFilter,
        };
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let title = crate::naming::clean_name(&input.title, "a key title")?;
        let (public_key, fingerprint) = parse_public_key(&input.public_key)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        if change.actor.account_type != AccountType::Developer {
            return Err(ApiError::Forbidden(
                "only developer accounts have SSH keys".to_owned(),
            ));
        }
        let held = ssh_key::Entity::find()
            .filter(ssh_key::Column::PersonId.eq(change.actor.id))
            .count(&change.txn)
            .await?;
        crate::rules::quotas::ensure_room(
            "sshKeys",
            crate::api::context::quotas(ctx)?.ssh_keys,
            held,
            "SSH keys per person",
        )?;
        let taken = ssh_key::Entity::find()
            .filter(ssh_key::Column::Fingerprint.eq(&fingerprint))
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
            title: Set(title),
            public_key: Set(public_key),
            fingerprint: Set(fingerprint),
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
        change.commit().await?;
        Ok(Some(AddSshKeyPayload {
            ssh_key: SshKey(key),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Removes one of the viewer's keys.
    async fn remove_ssh_key(
        &self,
        ctx: &Context<'_>,
        input: RemoveSshKeyInput,
    ) -> ApiResult<Option<RemoveSshKeyPayload>> {
        use sea_orm::{EntityTrait, ModelTrait};
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let id = expect_global_id(&input.ssh_key_id, NodeKind::SshKey)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let key = ssh_key::Entity::find_by_id(id)
            .one(&change.txn)
            .await?
            .filter(|k| k.person_id == viewer.id())
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
                Subject::person(&viewer.person),
                Subject::new(EventSubjectKind::SshKey, id, title.clone()),
            ],
            payload: serde_json::json!({ "title": title, "fingerprint": fingerprint }),
        });
        change.commit().await?;
        Ok(Some(RemoveSshKeyPayload {
            deleted_ssh_key_id: input.ssh_key_id,
            client_mutation_id: input.client_mutation_id,
        }))
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
