//! What a request's loader reads by key, and the one statement per batch of keys that answers
//! each: rows by id, an object's children (environments, keys, saved filters…), and the keys of
//! edge pages and counts. The API's dataloader answers every `BatchRead` key through `read`
//! (`api::context`); pages and counts of edges, and the keys that need the viewer's reach
//! (access checks), are answered there, with the reach resolved first.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;

use entity::{
    environment, event_filter, event_subject, invitation, invitation_app, person, ssh_key,
};
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::store::db::Db;
use crate::store::page::PageArgs;
use crate::store::sql::{EdgeSql, Sql};

/// A key the request's loader batches: every key of a batch is answered by one statement.
pub trait BatchRead: Sized + Clone + Eq + Hash + Send + Sync + 'static {
    type Value: Clone + Send + Sync + 'static;

    /// The values of `keys`; a key with nothing to show may be left out, or map to an empty list.
    fn read(
        db: &Db,
        keys: &[Self],
    ) -> impl Future<Output = ApiResult<HashMap<Self, Self::Value>>> + Send;
}

/// Declares `$key`, rows of one table by id, one `IN (...)` statement per batch.
macro_rules! rows_by_id {
    ($($key:ident => $table:ident),* $(,)?) => {$(
        #[doc = concat!("A `", stringify!($table), "` row by id.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub Uuid);

        impl BatchRead for $key {
            type Value = entity::$table::Model;

            async fn read(db: &Db, keys: &[Self]) -> ApiResult<HashMap<Self, Self::Value>> {
                let rows = entity::$table::Entity::find()
                    .filter(entity::$table::Column::Id.is_in(keys.iter().map(|k| k.0)))
                    .all(&db.conn)
                    .await?;
                Ok(rows.into_iter().map(|row| ($key(row.id), row)).collect())
            }
        }
    )*};
}

rows_by_id!(
    AccessRequestId => access_request,
    AppId => app,
    EnvironmentId => environment,
    EventFilterId => event_filter,
    InvitationId => invitation,
    PaymentMethodId => payment_method,
    PersonId => person,
    PersonalAccessTokenId => personal_access_token,
    SshKeyId => ssh_key,
    TeamId => team,
);

/// Rows grouped under their parent's key, in the order read; every key gets a list, empty when
/// nothing was read for it, so that the loader remembers it.
fn grouped<K: Copy + Eq + Hash, V>(
    keys: &[K],
    rows: impl IntoIterator<Item = V>,
    parent: impl Fn(&V) -> K,
) -> HashMap<K, Vec<V>> {
    let mut out: HashMap<K, Vec<V>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for row in rows {
        out.entry(parent(&row)).or_default().push(row);
    }
    out
}

/// Declares `$key`, the rows of `$table` below one parent (column `$parent`, field `$field`),
/// oldest first, one `IN (...)` statement per batch.
macro_rules! children_by_parent {
    ($($(#[$doc:meta])* $key:ident => $table:ident . $parent:ident / $field:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub Uuid);

        impl BatchRead for $key {
            type Value = Vec<$table::Model>;

            async fn read(db: &Db, keys: &[Self]) -> ApiResult<HashMap<Self, Self::Value>> {
                let rows = $table::Entity::find()
                    .filter($table::Column::$parent.is_in(keys.iter().map(|k| k.0)))
                    .order_by_asc($table::Column::Id)
                    .all(&db.conn)
                    .await?;
                Ok(grouped(keys, rows, |row| $key(row.$field)))
            }
        }
    )*};
}

children_by_parent!(
    /// The environments of an app, in creation order.
    AppEnvironments => environment.AppId / app_id,
    /// The SSH keys of a person, oldest first.
    PersonSshKeys => ssh_key.PersonId / person_id,
    /// The saved event filters of a person, oldest first.
    PersonEventFilters => event_filter.PersonId / person_id,
);

/// The technical contacts of an app, in id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AppTechnicalContacts(pub Uuid);

impl BatchRead for AppTechnicalContacts {
    type Value = Vec<person::Model>;

    async fn read(db: &Db, keys: &[Self]) -> ApiResult<HashMap<Self, Self::Value>> {
        let mut sql = Sql::new(db.backend());
        sql.push(
            "SELECT tc.app_id AS contact_app_id, p.* FROM technical_contact tc \
             JOIN person p ON p.id = tc.person_id WHERE tc.app_id IN ",
        )
        .bind_list(keys.iter().map(|k| k.0))
        .push(" ORDER BY tc.app_id, p.id");
        let mut rows = Vec::new();
        for row in sea_orm::ConnectionTrait::query_all_raw(&db.conn, sql.statement()).await? {
            let app: Uuid = row.try_get("", "contact_app_id")?;
            rows.push((app, person::Model::from_query_result(&row, "")?));
        }
        Ok(grouped(keys, rows, |(app, _)| AppTechnicalContacts(*app))
            .into_iter()
            .map(|(key, rows)| (key, rows.into_iter().map(|(_, p)| p).collect()))
            .collect())
    }
}

/// The apps an invitation lists (a TAKE_OVER_BILLING invitation's), in id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvitationApps(pub Uuid);

impl BatchRead for InvitationApps {
    type Value = Vec<Uuid>;

    async fn read(db: &Db, keys: &[Self]) -> ApiResult<HashMap<Self, Self::Value>> {
        let rows = invitation_app::Entity::find()
            .filter(invitation_app::Column::InvitationId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(invitation_app::Column::AppId)
            .all(&db.conn)
            .await?;
        let rows = rows.into_iter().map(|row| (row.invitation_id, row.app_id));
        Ok(
            grouped(keys, rows, |(invitation, _)| InvitationApps(*invitation))
                .into_iter()
                .map(|(key, rows)| (key, rows.into_iter().map(|(_, app)| app).collect()))
                .collect(),
        )
    }
}

/// An invitation by the hash of its secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InvitationBySecret(pub String);

impl BatchRead for InvitationBySecret {
    type Value = invitation::Model;

    async fn read(db: &Db, keys: &[Self]) -> ApiResult<HashMap<Self, Self::Value>> {
        let rows = invitation::Entity::find()
            .filter(invitation::Column::SecretHash.is_in(keys.iter().map(|k| k.0.clone())))
            .all(&db.conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (InvitationBySecret(row.secret_hash.clone()), row))
            .collect())
    }
}

/// The ids of the apps a payment method owns, in id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PaymentMethodAppIds(pub Uuid);

impl BatchRead for PaymentMethodAppIds {
    type Value = Vec<Uuid>;

    async fn read(db: &Db, keys: &[Self]) -> ApiResult<HashMap<Self, Self::Value>> {
        let rows: Vec<(Uuid, Option<Uuid>)> = entity::app::Entity::find()
            .select_only()
            .column(entity::app::Column::Id)
            .column(entity::app::Column::PaymentMethodId)
            .filter(entity::app::Column::PaymentMethodId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(entity::app::Column::Id)
            .into_tuple()
            .all(&db.conn)
            .await?;
        let rows = rows
            .into_iter()
            .filter_map(|(app, owner)| owner.map(|owner| (owner, app)));
        Ok(
            grouped(keys, rows, |(owner, _)| PaymentMethodAppIds(*owner))
                .into_iter()
                .map(|(key, rows)| (key, rows.into_iter().map(|(_, app)| app).collect()))
                .collect(),
        )
    }
}

/// The subjects of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventSubjects(pub Uuid);

impl BatchRead for EventSubjects {
    type Value = Vec<event_subject::Model>;

    async fn read(db: &Db, keys: &[Self]) -> ApiResult<HashMap<Self, Self::Value>> {
        let mut subjects =
            crate::store::event_log::subjects_of(&db.conn, keys.iter().map(|k| k.0)).await?;
        Ok(keys
            .iter()
            .map(|key| (*key, subjects.remove(&key.0).unwrap_or_default()))
            .collect())
    }
}

/// An edge, compared by identity: each edge is one `static EdgeSql` (`store::edges`).
#[derive(Clone, Copy)]
pub struct EdgeRef(pub &'static EdgeSql);

impl PartialEq for EdgeRef {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}
impl Eq for EdgeRef {}
impl Hash for EdgeRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(self.0, state)
    }
}

/// Which of the viewer's sets an edge's nodes must belong to, by the column that holds their
/// ids. Named here and resolved into ids against the viewer's reach once per batch
/// (`Reach::edge_filter_values`), so keys stay small and all parents of a batch share one
/// statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Restrict {
    Nothing,
    /// The apps whose developers the viewer may see (`Reach::sees_app_internals`).
    AppsWithVisibleDevelopers(&'static str),
    ViewerTeams(&'static str),
    BilledPaymentMethods(&'static str),
}

/// What a resolver asks of an edge beyond its parents and page: an access restriction and an
/// optional equality (a state argument, say). Part of the loader key, so batches group by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EdgeFilter {
    pub restrict: Restrict,
    pub equals: Option<(&'static str, &'static str)>,
}

impl EdgeFilter {
    pub const NONE: EdgeFilter = EdgeFilter {
        restrict: Restrict::Nothing,
        equals: None,
    };

    pub fn restrict(restrict: Restrict) -> Self {
        EdgeFilter {
            restrict,
            equals: None,
        }
    }
}

/// One page of an edge below one parent.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub edge: EdgeRef,
    pub parent: Uuid,
    pub args: PageArgs,
    pub edge_filter: EdgeFilter,
    /// Edges ordered by event sequence rather than by id.
    pub sequence_key: bool,
}

/// The number of nodes of an edge below one parent.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CountKey {
    pub edge: EdgeRef,
    pub parent: Uuid,
    pub edge_filter: EdgeFilter,
}
