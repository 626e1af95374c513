//! What one GraphQL request carries: the viewer, its reach (loaded once, lazily), and the
//! request's dataloader, through which every edge, node and access check is batched.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::api::waves::Waves;
use crate::error::{ApiError, ApiResult};
use crate::rules::access::Reach;
use crate::rules::auth::{Credential, Viewer};
use crate::store::db::Db;
use crate::store::keys::{BatchRead, CountKey, EdgeFilter, PageKey, Restrict};
use crate::store::sql::{EdgeFilterValues, Page};
use entity::enums::TokenScope;

/// The state of one request.
pub struct RequestScope {
    pub db: Db,
    pub viewer: Option<Viewer>,
    /// Where people reach the service, for links such as invitations'.
    pub public_url: Arc<str>,
    /// Loaded on first use; forgotten when a mutation starts, since it may change it.
    reach: Mutex<Option<Arc<Reach>>>,
}

impl RequestScope {
    pub fn new(db: Db, viewer: Option<Viewer>, public_url: Arc<str>) -> Arc<Self> {
        Arc::new(RequestScope {
            db,
            viewer,
            public_url,
            reach: Mutex::new(None),
        })
    }

    pub fn viewer(&self) -> ApiResult<&Viewer> {
        self.viewer.as_ref().ok_or(ApiError::Unauthenticated(
            "authentication required: send `Authorization: Bearer <token>`",
        ))
    }

    /// The viewer, if its credential may change things: a READ token may not.
    pub fn writer(&self) -> ApiResult<&Viewer> {
        let viewer = self.viewer()?;
        match viewer.credential {
            Credential::PersonalAccessToken {
                scope: TokenScope::Read,
                ..
            } => Err(ApiError::Forbidden(
                "this personal access token has the READ scope; mutations need a WRITE token"
                    .to_owned(),
            )),
            Credential::PersonalAccessToken { .. } | Credential::Session { .. } => Ok(viewer),
        }
    }

    /// Drops the remembered reach; the next `reach` loads it again. Mutations do it as they
    /// start, live subscriptions when an event may have changed it.
    pub fn forget_reach(&self) {
        if let Ok(mut reach) = self.reach.try_lock() {
            *reach = None;
        }
    }

    /// The viewer's reach, loaded on first use and shared until a mutation starts. The lock is
    /// held while loading, so batches that need it at once load it once.
    pub async fn reach(&self) -> ApiResult<Arc<Reach>> {
        let viewer = self.viewer()?.id();
        let mut reach = self.reach.lock().await;
        if let Some(reach) = reach.as_ref() {
            return Ok(reach.clone());
        }
        let loaded = Arc::new(Reach::load(&self.db.conn, viewer).await?);
        *reach = Some(loaded.clone());
        Ok(loaded)
    }

    /// A dataloader for this request, caching for the request's life. Its batches run in
    /// `waves`, which must drive the request's execution.
    pub fn loader(self: &Arc<Self>, waves: &Waves) -> RequestLoader {
        DataLoader::with_cache(
            Batch(self.clone()),
            waves.spawner(),
            HashMapCache::default(),
        )
        .delay(Duration::ZERO)
    }

    /// The loader of a long-lived subscription: its batches run as tasks (there is no request
    /// to drive them in waves) and nothing is cached, since the data changes while it lives.
    pub fn streaming_loader(self: &Arc<Self>) -> RequestLoader {
        let loader = DataLoader::with_cache(
            Batch(self.clone()),
            |batch| {
                tokio::spawn(batch);
            },
            HashMapCache::default(),
        );
        loader.enable_all_cache(false);
        loader
    }
}

/// The loader behind every batched lookup of a request. Each domain module implements
/// `Loader<K>` for its own key types on it.
pub struct Batch(pub Arc<RequestScope>);

pub type RequestLoader = DataLoader<Batch, HashMapCache>;

/// The viewer of a mutation, if its credential may change things (see `RequestScope::writer`).
/// What the request loaded so far may be outdated by the mutations before this one in the same
/// request, so the reach is forgotten and the dataloader stops caching: the payload reads the
/// state as this mutation leaves it.
pub fn writer<'a>(ctx: &Context<'a>) -> ApiResult<&'a Viewer> {
    let scope = scope(ctx)?;
    let viewer = scope.writer()?;
    scope.forget_reach();
    loader(ctx)?.enable_all_cache(false);
    Ok(viewer)
}

/// How many objects people and objects may hold (`quotas`), as the server was started with.
pub fn quotas(ctx: &Context<'_>) -> ApiResult<crate::rules::quotas::Quotas> {
    ctx.data::<crate::rules::quotas::Quotas>()
        .copied()
        .map_err(|_| ApiError::internal("quotas missing from the schema"))
}

/// Charges a list nothing bounds ahead (`limits::Size::Metered`) that returns `len` objects to
/// the request's complexity limit, before its objects load; refused (BAD_USER_INPUT) when the
/// request would go over it.
pub fn metered_list(ctx: &Context<'_>, len: usize) -> ApiResult<()> {
    match ctx.data_opt::<Arc<crate::api::limits::ListMeter>>() {
        Some(meter) => meter.charge(ctx.item.pos, len),
        None => Ok(()),
    }
}

pub fn scope<'a>(ctx: &Context<'a>) -> ApiResult<&'a Arc<RequestScope>> {
    ctx.data::<Arc<RequestScope>>()
        .map_err(|_| ApiError::internal("request scope missing"))
}

pub fn loader<'a>(ctx: &Context<'a>) -> ApiResult<&'a RequestLoader> {
    ctx.data::<RequestLoader>()
        .map_err(|_| ApiError::internal("request loader missing"))
}

/// The viewer's reach, for resolvers. It goes through the dataloader so that its statements
/// run in a wave like every other lookup (see `waves`).
pub async fn reach(ctx: &Context<'_>) -> ApiResult<Arc<Reach>> {
    loader(ctx)?
        .load_one(ViewerReach)
        .await?
        .ok_or_else(|| ApiError::internal("reach loader returned nothing"))
}

/// The key of the viewer's reach: there is one per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ViewerReach;

impl Loader<ViewerReach> for Batch {
    type Value = Arc<Reach>;
    type Error = ApiError;

    async fn load(&self, _: &[ViewerReach]) -> ApiResult<HashMap<ViewerReach, Arc<Reach>>> {
        Ok(HashMap::from([(ViewerReach, self.0.reach().await?)]))
    }
}

fn group<K, G: std::hash::Hash + Eq>(keys: &[K], by: impl Fn(&K) -> G) -> HashMap<G, Vec<&K>> {
    let mut groups: HashMap<G, Vec<&K>> = HashMap::new();
    for key in keys {
        groups.entry(by(key)).or_default().push(key);
    }
    groups
}

impl Batch {
    async fn filter_values(&self, edge_filter: &EdgeFilter) -> ApiResult<EdgeFilterValues> {
        if edge_filter.restrict == Restrict::Nothing {
            return Ok(EdgeFilterValues {
                only_ids: None,
                equals: edge_filter.equals,
            });
        }
        Ok(self.0.reach().await?.edge_filter_values(edge_filter))
    }
}

impl Loader<PageKey> for Batch {
    type Value = Page;
    type Error = ApiError;

    async fn load(&self, keys: &[PageKey]) -> ApiResult<HashMap<PageKey, Page>> {
        let mut out = HashMap::new();
        for ((edge, args, edge_filter, sequence_key), keys) in
            group(keys, |k| (k.edge, k.args, k.edge_filter, k.sequence_key))
        {
            let parents: Vec<Uuid> = keys.iter().map(|k| k.parent).collect();
            let filter_values = self.filter_values(&edge_filter).await?;
            let mut pages = edge
                .0
                .pages(&self.0.db, &parents, &args, &filter_values, sequence_key)
                .await?;
            for key in keys {
                let page = pages.remove(&key.parent).unwrap_or_else(|| Page {
                    has_previous: args.after.is_some() && !args.backward,
                    has_next: args.before.is_some() && args.backward,
                    ..Page::default()
                });
                out.insert(key.clone(), page);
            }
        }
        Ok(out)
    }
}

impl Loader<CountKey> for Batch {
    type Value = i64;
    type Error = ApiError;

    async fn load(&self, keys: &[CountKey]) -> ApiResult<HashMap<CountKey, i64>> {
        let mut out = HashMap::new();
        for ((edge, edge_filter), keys) in group(keys, |k| (k.edge, k.edge_filter)) {
            let parents: Vec<Uuid> = keys.iter().map(|k| k.parent).collect();
            let filter_values = self.filter_values(&edge_filter).await?;
            let counts = edge.0.counts(&self.0.db, &parents, &filter_values).await?;
            for key in keys {
                out.insert(key.clone(), counts.get(&key.parent).copied().unwrap_or(0));
            }
        }
        Ok(out)
    }
}

/// Every key the store reads by itself (`store::keys::BatchRead`): rows by id, children of an
/// object. One statement per batch, read through the request's scope.
impl<K: BatchRead> Loader<K> for Batch {
    type Value = K::Value;
    type Error = ApiError;

    async fn load(&self, keys: &[K]) -> ApiResult<HashMap<K, K::Value>> {
        K::read(&self.0.db, keys).await
    }
}

/// Declares `$key`, a batched "may the viewer see this object?" lookup answered by the
/// viewer's `Reach` method `$rule` (one statement per batch).
macro_rules! visibility_by_id {
    ($key:ident, $rule:ident) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $key(pub uuid::Uuid);

        impl async_graphql::dataloader::Loader<$key> for $crate::api::context::Batch {
            type Value = bool;
            type Error = $crate::error::ApiError;

            async fn load(
                &self,
                keys: &[$key],
            ) -> Result<std::collections::HashMap<$key, bool>, Self::Error> {
                let reach = self.0.reach().await?;
                let ids: Vec<uuid::Uuid> = keys.iter().map(|k| k.0).collect();
                let visible = reach.$rule(&self.0.db.conn, &ids).await?;
                Ok(keys.iter().map(|k| (*k, visible.contains(&k.0))).collect())
            }
        }
    };
}
pub(crate) use visibility_by_id;
