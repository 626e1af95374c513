//! `addSshKey` and `removeSshKey`: decode the input, begin the change, apply the rule
//! (`rules::ssh_key`), commit, build the payload.

use async_graphql::{Context, ID, Object};

use crate::api::context::{quotas, scope, writer};
use crate::api::relay::{NodeKind, expect_global_id};
use crate::api::types::ssh_key::SshKey;
use crate::error::ApiResult;
use crate::rules::change::Change;
use crate::rules::ssh_key::{self, NewSshKey};

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
        let scope = scope(ctx)?;
        let viewer = writer(ctx)?;
        let key = NewSshKey::parse(&input.title, &input.public_key)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let key = ssh_key::add(&mut change, key, quotas(ctx)?.ssh_keys).await?;
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
        let scope = scope(ctx)?;
        let viewer = writer(ctx)?;
        let id = expect_global_id(&input.ssh_key_id, NodeKind::SshKey)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        ssh_key::remove(&mut change, id).await?;
        change.commit().await?;
        Ok(Some(RemoveSshKeyPayload {
            deleted_ssh_key_id: input.ssh_key_id,
            client_mutation_id: input.client_mutation_id,
        }))
    }
}
