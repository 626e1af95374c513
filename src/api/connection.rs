//! Relay cursor connections built from batched pages.

use async_graphql::connection::{Connection, ConnectionNameType, Edge, EdgeNameType};
use async_graphql::{Context, Object, ObjectType, OutputType};
use sea_orm::{DbErr, QueryResult};
use uuid::Uuid;

use crate::api::context::loader;
use crate::error::{ApiError, ApiResult};
use crate::store::keys::{CountKey, EdgeFilter, EdgeRef, PageKey};
use crate::store::page::PageArgs;
use crate::store::sql::EdgeSql;

/// Fields every connection has besides its edges.
pub struct TotalCount {
    /// `None` when the edge is gated away from the viewer: the count is then 0, like the list.
    key: Option<CountKey>,
}

/// Fields every connection has besides its edges.
#[Object]
impl TotalCount {
    /// The number of nodes in the whole connection, across all pages, as far as the viewer may
    /// see them. Only computed when asked for.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        match &self.key {
            None => Ok(0),
            Some(key) => Ok(loader(ctx)?.load_one(key.clone()).await?.unwrap_or(0)),
        }
    }
}

/// Declares the GraphQL names of a connection and its edge type.
macro_rules! connection_names {
    ($($connection:ident / $edge:ident),* $(,)?) => {$(
        pub struct $connection;
        impl ConnectionNameType for $connection {
            fn type_name<T: OutputType>() -> String {
                stringify!($connection).to_owned()
            }
        }
        pub struct $edge;
        impl EdgeNameType for $edge {
            fn type_name<T: OutputType>() -> String {
                stringify!($edge).to_owned()
            }
        }
    )*};
}

connection_names!(
    PersonTeamConnection / PersonTeamEdge,
    PersonAppConnection / PersonAppEdge,
    TeamMemberConnection / TeamMemberEdge,
    TeamAppConnection / TeamAppEdge,
    AppDeveloperConnection / AppDeveloperEdge,
);

/// A connection of `N` whose edges carry `E`, named by `C`/`EN`.
pub type Conn<N, E, C, EN> = Connection<String, N, TotalCount, E, C, EN>;

/// The connection a gated field shows: empty, with a count of 0.
pub fn empty<N, E, C, EN>() -> Conn<N, E, C, EN>
where
    N: OutputType,
    E: ObjectType,
    C: ConnectionNameType,
    EN: EdgeNameType,
{
    Connection::with_additional_fields(false, false, TotalCount { key: None })
}

/// Loads one page of `edge` below `parent` and turns each row into a node and its edge fields.
pub async fn page<N, E, C, EN>(
    ctx: &Context<'_>,
    edge: &'static EdgeSql,
    parent: Uuid,
    args: PageArgs,
    edge_filter: EdgeFilter,
    read: impl Fn(&QueryResult) -> Result<(N, E), DbErr>,
) -> ApiResult<Conn<N, E, C, EN>>
where
    N: OutputType,
    E: ObjectType,
    C: ConnectionNameType,
    EN: EdgeNameType,
{
    // The family of the resolver's cursors (`api::cursor::lists`) must be this edge's: a
    // resolver paging one edge with another's family is refused rather than misread.
    args.expect_list(edge.list)?;
    let key = PageKey {
        edge: EdgeRef(edge),
        parent,
        args,
        edge_filter,
        sequence_key: false,
    };
    let page = loader(ctx)?
        .load_one(key)
        .await?
        .ok_or_else(|| ApiError::internal("page loader returned nothing"))?;
    let mut connection = Connection::with_additional_fields(
        page.has_previous,
        page.has_next,
        TotalCount {
            key: Some(CountKey {
                edge: EdgeRef(edge),
                parent,
                edge_filter,
            }),
        },
    );
    for row in &page.rows {
        let (node, fields) = read(&row.row)?;
        connection.edges.push(Edge::with_additional_fields(
            crate::api::cursor::encode(edge.list, row.key),
            node,
            fields,
        ));
    }
    Ok(connection)
}
