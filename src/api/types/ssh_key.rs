//! SSH public keys of developers: the owner's alone, and the keys authorized on the
//! environments of the apps the owner is connected to. Their mutations are in
//! `api::mutation::ssh_key`, their rules in `rules::ssh_key`.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::ssh_key;
use uuid::Uuid;

use crate::api::connection::TotalCount;
use crate::api::context::{loader, scope};
use crate::api::relay::{NodeKind, global_id};
use crate::error::ApiResult;
use crate::store::keys::SshKeyId;

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

/// Loads an SSH key of the viewer's own.
pub async fn node(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<SshKey>> {
    let viewer = scope(ctx)?.viewer()?.id();
    Ok(loader(ctx)?
        .load_one(SshKeyId(id))
        .await?
        .filter(|key| key.person_id == viewer)
        .map(SshKey))
}
