//! The GraphQL schema: the query root, the `Node` interface and Relay plumbing. Building the
//! schema needs no database, so the SDL test can print it on its own.

pub mod admission;
pub mod connection;
pub mod context;
pub mod cursor;
pub mod limits;
pub mod mutation;
pub mod relay;
pub mod subscription;
pub mod types;
pub mod waves;

use std::sync::Arc;

use async_graphql::{
    Context, ErrorExtensions, ID, Interface, MergedObject, Object, Schema, SchemaBuilder,
};

use crate::api::context::{loader, scope};
use crate::api::cursor::Cursor;
use crate::api::cursor::lists::Events;
use crate::api::limits::Limits;
use crate::api::relay::{NodeKind, decode_global_id};
use crate::api::types::access_request::{self, AccessRequest};
use crate::api::types::app::{self, App, Environment};
use crate::api::types::event::filter::{self, EventFilter, EventFilterInput};
use crate::api::types::event::{self, Event, EventConnection};
use crate::api::types::invitation::{self as invitations, Invitation};
use crate::api::types::payment_method::{self, PaymentMethod};
use crate::api::types::person::{self, Person};
use crate::api::types::ssh_key::{self, SshKey};
use crate::api::types::team::{self, Team};
use crate::api::types::token::{self, PersonalAccessToken};
use crate::error::{ApiError, ApiResult};
use crate::rules::auth::hash_secret;
use crate::store::keys::InvitationBySecret;
use crate::store::page::PageArgs;

/// At most this many ids per `nodes(ids:)`.
pub const MAX_NODES: usize = 100;

pub type WarrenSchema = Schema<Query, Mutation, crate::api::subscription::EventSubscription>;

/// Every mutation: each takes one `input` and returns a nullable `<Name>Payload`, runs in one
/// transaction and records its events in it.
#[derive(MergedObject, Default)]
pub struct Mutation(
    crate::api::mutation::person::PersonMutation,
    crate::api::mutation::ssh_key::SshKeyMutation,
    crate::api::mutation::token::TokenMutation,
    crate::api::mutation::team::TeamMutation,
    crate::api::mutation::membership::MembershipMutation,
    crate::api::mutation::app::AppMutation,
    crate::api::mutation::developer::DeveloperMutation,
    crate::api::mutation::payment_method::PaymentMethodMutation,
    crate::api::mutation::invitation::InvitationMutation,
    crate::api::mutation::invitation::InvitationAnswerMutation,
    crate::api::mutation::access_request::AccessRequestMutation,
    crate::api::mutation::event_filter::EventFilterMutation,
);

/// The schema with the default request limits and quotas.
pub fn build_schema() -> WarrenSchema {
    build_schema_with(Limits::default(), crate::rules::quotas::Quotas::default())
}

/// The schema alone, with the parser's recursion bounded by `limits` and the mutations holding
/// people and objects to `quotas`; `api::Api` puts the other limits, the rate limit and
/// metrics in front of it.
pub fn build_schema_with(limits: Limits, quotas: crate::rules::quotas::Quotas) -> WarrenSchema {
    schema_builder()
        .data(quotas)
        // The parser's own recursion (nested selection sets, lists and objects in values).
        .limit_recursive_depth(limits.recursion)
        .finish()
}

fn schema_builder() -> SchemaBuilder<Query, Mutation, crate::api::subscription::EventSubscription> {
    use crate::api::connection::{
        AppDeveloperConnection, AppDeveloperEdge, Conn, PersonAppConnection, PersonAppEdge,
        PersonTeamConnection, PersonTeamEdge, TeamAppConnection, TeamAppEdge, TeamMemberConnection,
        TeamMemberEdge,
    };
    // async-graphql's connection types carry no description of their own; every type of the
    // schema has one (tests/it/schema.rs).
    Schema::build(Query, Mutation::default(), crate::api::subscription::EventSubscription)
        .override_output_type_description::<crate::api::types::access_request::AccessRequestConnection>(
            "A page of access requests, with how many there are in all.",
        )
        .override_output_type_description::<crate::api::types::app::AppConnection>(
            "A page of apps, with how many there are in all.",
        )
        .override_output_type_description::<crate::api::types::app::TeamConnection>(
            "A page of teams, with how many there are in all.",
        )
        .override_output_type_description::<
            Conn<Person, crate::api::types::person::DeveloperEdge, AppDeveloperConnection, AppDeveloperEdge>,
        >("A page of an app's developers; each edge tells how the developer is connected.")
        .override_output_type_description::<crate::api::types::event::EventConnection>(
            "A page of events, with how many the viewer may see in all.",
        )
        .override_output_type_description::<crate::api::types::invitation::InvitationConnection>(
            "A page of invitations, with how many there are in all.",
        )
        .override_output_type_description::<crate::api::types::payment_method::PaymentMethodConnection>(
            "A page of payment methods, with how many there are in all.",
        )
        .override_output_type_description::<
            Conn<App, crate::api::types::person::DeveloperEdge, PersonAppConnection, PersonAppEdge>,
        >("A page of a person's apps; each edge tells how the person is connected.")
        .override_output_type_description::<crate::api::types::payment_method::PersonConnection>(
            "A page of people, with how many there are in all.",
        )
        .override_output_type_description::<
            Conn<Team, crate::api::types::person::Membership, PersonTeamConnection, PersonTeamEdge>,
        >("A page of a person's teams; each edge carries the person's role.")
        .override_output_type_description::<crate::api::types::token::PersonalAccessTokenConnection>(
            "A page of personal access tokens, with how many there are in all.",
        )
        .override_output_type_description::<crate::api::types::ssh_key::SshKeyConnection>(
            "A page of SSH keys, with how many there are in all.",
        )
        .override_output_type_description::<
            Conn<App, crate::api::types::team::TeamApp, TeamAppConnection, TeamAppEdge>,
        >("A page of a team's apps; each edge tells whether the viewer subscribed to the app.")
        .override_output_type_description::<
            Conn<Person, crate::api::types::person::Membership, TeamMemberConnection, TeamMemberEdge>,
        >("A page of a team's members; each edge carries the member's role.")
}

/// The schema in SDL, as checked in at `schema.graphql`: types, fields, arguments and enum
/// values sorted, so that the file changes only when the schema does.
pub fn schema_sdl() -> String {
    build_schema().sdl_with_options(
        async_graphql::SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items(),
    )
}

/// An object with a global id.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The global id."))]
pub enum Node {
    Person(Person),
    Team(Team),
    App(App),
    Environment(Environment),
    PaymentMethod(PaymentMethod),
    Invitation(Invitation),
    AccessRequest(AccessRequest),
    SshKey(SshKey),
    PersonalAccessToken(PersonalAccessToken),
    Event(Event),
    EventFilter(EventFilter),
}

/// Loads any node the viewer may see; `None` for anything else, malformed ids included.
pub(crate) async fn load_node(ctx: &Context<'_>, id: &ID) -> ApiResult<Option<Node>> {
    let Some((kind, id)) = decode_global_id(id) else {
        return Ok(None);
    };
    Ok(match kind {
        NodeKind::Person => person::node(ctx, id).await?.map(Node::Person),
        NodeKind::Team => team::node(ctx, id).await?.map(Node::Team),
        NodeKind::App => app::node(ctx, id).await?.map(Node::App),
        NodeKind::Environment => app::environment_node(ctx, id).await?.map(Node::Environment),
        NodeKind::PaymentMethod => payment_method::node(ctx, id)
            .await?
            .map(Node::PaymentMethod),
        NodeKind::Invitation => invitations::node(ctx, id).await?.map(Node::Invitation),
        NodeKind::AccessRequest => access_request::node(ctx, id)
            .await?
            .map(Node::AccessRequest),
        NodeKind::SshKey => ssh_key::node(ctx, id).await?.map(Node::SshKey),
        NodeKind::PersonalAccessToken => token::node(ctx, id).await?.map(Node::PersonalAccessToken),
        NodeKind::Event => event::node(ctx, id).await?.map(Node::Event),
        NodeKind::EventFilter => filter::saved_filter(ctx, id).await?.map(Node::EventFilter),
    })
}

/// The entry points for reading.
pub struct Query;

/// A viewer's hourly budget of points (see the README, "Rate limit").
#[derive(async_graphql::SimpleObject)]
pub struct RateLimit {
    /// Points an hour.
    pub limit: u64,
    /// What this request cost.
    pub cost: u64,
    /// Points spent in the current hour, this request included.
    pub used: u64,
    /// Points left in it.
    pub remaining: u64,
    /// When a new hour, with the whole budget, begins.
    pub reset_at: chrono::DateTime<chrono::Utc>,
}

/// The entry points for reading.
#[Object]
impl Query {
    /// The authenticated person.
    async fn viewer(&self, ctx: &Context<'_>) -> ApiResult<Person> {
        Ok(Person(scope(ctx)?.viewer()?.person.clone()))
    }

    /// Any object by its global id; null when it does not exist or the viewer may not see it.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
        scope(ctx)?.viewer()?;
        load_node(ctx, &id).await
    }

    /// Several objects by global id, in the order asked; null for each one that does not exist
    /// or that the viewer may not see. At most 100 ids.
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> ApiResult<Vec<Option<Node>>> {
        scope(ctx)?.viewer()?;
        if ids.len() > MAX_NODES {
            return Err(ApiError::bad_input(format!(
                "at most {MAX_NODES} ids per request"
            )));
        }
        // Resolved concurrently so that the dataloader batches them.
        futures_util::future::try_join_all(ids.iter().map(|id| load_node(ctx, id))).await
    }

    /// Every event the viewer may see now, oldest first (`last:` gives the newest), optionally
    /// filtered.
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Cursor<Events>>,
        last: Option<i32>,
        before: Option<Cursor<Events>>,
        filter: Option<EventFilterInput>,
    ) -> ApiResult<EventConnection> {
        scope(ctx)?.viewer()?;
        let args = PageArgs::new(first, after, last, before)?;
        let criteria = filter::criteria(ctx, filter).await?;
        event::connection(ctx, args, criteria).await
    }

    /// What this request cost against the viewer's hourly budget, and what is left of it; null
    /// without a viewer, or when the server has no rate limit.
    async fn rate_limit(&self, ctx: &Context<'_>) -> Option<RateLimit> {
        let charged = ctx
            .data_opt::<Arc<crate::rules::rate_limit::Charged>>()?
            .get()?;
        Some(RateLimit {
            limit: charged.limit,
            cost: charged.cost,
            used: charged.used,
            remaining: charged.remaining,
            reset_at: charged.reset_at,
        })
    }

    /// The invitation behind a secret invitation link, to preview it before accepting.
    /// Anyone holding the link may see it; null for an unknown token.
    async fn invitation(&self, ctx: &Context<'_>, token: String) -> ApiResult<Option<Invitation>> {
        scope(ctx)?.viewer()?;
        let found = loader(ctx)?
            .load_one(InvitationBySecret(hash_secret(token.trim())))
            .await?;
        Ok(found.map(Invitation))
    }
}

/// What a client sees of an `ApiError`: its message and `extensions.code`, with the limit and
/// its maximum for OVER_LIMIT and the objects in the way for CONFLICT (docs/rules.md, "What an
/// error looks like").
impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        async_graphql::Error::new(err.message()).extend_with(|_, ext| {
            ext.set("code", err.code());
            if let ApiError::OverLimit { limit, max, .. } = &err {
                ext.set("limit", *limit);
                ext.set("max", *max);
            }
            if let ApiError::Conflict { ids, .. } = &err
                && !ids.is_empty()
            {
                ext.set(
                    "ids",
                    ids.iter().map(|id| id.to_string()).collect::<Vec<_>>(),
                );
            }
        })
    }
}
