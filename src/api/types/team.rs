//! Teams: groups of developers with UNLIMITED or LIMITED members. Members see the whole team;
//! people who share an app or a payment method with it see its id and name only.

use std::collections::HashMap;

use async_graphql::connection::EmptyFields;
use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::enums::{AccessRequestState, TeamRole};
use entity::enums::{EventSubjectKind, EventType};
use entity::{app, person, team};
use sea_orm::{DbErr, FromQueryResult, QueryResult};
use uuid::Uuid;

use crate::api::connection::{
    Conn, TeamAppConnection, TeamAppEdge, TeamMemberConnection, TeamMemberEdge, empty, page,
};
use crate::api::context::{Batch, EdgeFilter, Restrict, load_by_id, loader, reach, scope};
use crate::api::relay::{NodeKind, expect_global_id, global_id};
use crate::api::types::access_request::{AccessRequest, AccessRequestConnection};
use crate::api::types::app::App;
use crate::api::types::invitation::{Invitation, InvitationConnection};
use crate::api::types::payment_method::{DeletionImpact, PaymentMethod, PaymentMethodConnection};
use crate::api::types::person::{Membership, Person};
use crate::error::{ApiError, ApiResult};
use crate::rules::change::{Change, NewEvent, Subject};
use crate::rules::team::unlimited_team_in_change;
use crate::store::page::PageArgs;
use crate::store::sql::EdgeSql;

load_by_id!(TeamId, team);

// Whether the viewer may see a team: as a member, or by name through a shared app or
// payment method.
crate::api::context::visibility_by_id!(TeamVisible, visible_teams);

static MEMBERS: EdgeSql = EdgeSql {
    list: "Team.members",
    from: "team_member e",
    node: "JOIN person n ON n.id = e.person_id",
    parent: "e.team_id",
    key: "n.id",
    select: "n.*, e.role AS edge_role, e.joined_at AS edge_joined_at",
    condition: "",
};

static APPS: EdgeSql = EdgeSql {
    list: "Team.apps",
    from: "team_app e",
    node: "JOIN app n ON n.id = e.app_id",
    parent: "e.team_id",
    key: "n.id",
    select: "n.*",
    condition: "",
};

static PAYMENT_METHODS: EdgeSql = EdgeSql {
    list: "Team.paymentMethods",
    from: "payment_method_team e",
    node: "JOIN payment_method n ON n.id = e.payment_method_id",
    parent: "e.team_id",
    key: "n.id",
    select: "n.*",
    condition: "",
};

static INVITATIONS: EdgeSql = EdgeSql {
    list: "Team.invitations",
    from: "invitation n",
    node: "",
    parent: "n.team_id",
    key: "n.id",
    select: "n.*",
    condition: "n.kind = 'TEAM' AND n.state = 'PENDING'",
};

static ACCESS_REQUESTS: EdgeSql = EdgeSql {
    list: "Team.accessRequests",
    from: "access_request n",
    node: "",
    parent: "n.team_id",
    key: "n.id",
    select: "n.*",
    condition: "",
};

/// A group of developers. Free of charge; always at least one UNLIMITED member.
pub struct Team(pub team::Model);

/// A team app as one member sees it.
pub struct TeamApp {
    app: Uuid,
    team: Uuid,
}

/// A team app as one member sees it.
#[Object]
impl TeamApp {
    /// Whether the viewer is subscribed to this app through this team.
    async fn viewer_subscribed(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        Ok(reach(ctx).await?.subscribed_through(self.app, self.team))
    }
}

impl Team {
    pub fn read(row: &QueryResult) -> Result<(Team, EmptyFields), DbErr> {
        Ok((Team(team::Model::from_query_result(row, "")?), EmptyFields))
    }

    async fn role(&self, ctx: &Context<'_>) -> ApiResult<Option<TeamRole>> {
        Ok(reach(ctx).await?.role_in(self.0.id))
    }
}

/// A group of developers. Free of charge; always at least one UNLIMITED member.
#[Object]
impl Team {
    /// The global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Team, self.0.id)
    }

    /// The team's name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// When the team was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The viewer's role in the team; null when the viewer is not a member.
    async fn viewer_role(&self, ctx: &Context<'_>) -> ApiResult<Option<TeamRole>> {
        self.role(ctx).await
    }

    /// The events about this team that the viewer may see, oldest first (`last:` gives the
    /// newest), optionally filtered further.
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<crate::api::types::event::EventFilterInput>,
    ) -> ApiResult<crate::api::types::event::EventConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        crate::api::types::event::about(
            ctx,
            crate::api::types::event::About::Team(self.0.id),
            args,
            filter,
        )
        .await
    }

    /// The members with their roles. Members only; empty for anyone else.
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Conn<Person, Membership, TeamMemberConnection, TeamMemberEdge>> {
        let args = PageArgs::new(first, after, last, before)?;
        if self.role(ctx).await?.is_none() {
            return Ok(empty());
        }
        page(ctx, &MEMBERS, self.0.id, args, EdgeFilter::NONE, |row| {
            Ok((
                Person(person::Model::from_query_result(row, "")?),
                Membership {
                    role: row.try_get("", "edge_role")?,
                    joined_at: row.try_get("", "edge_joined_at")?,
                },
            ))
        })
        .await
    }

    /// The team's apps; the edge tells whether the viewer is subscribed through this team.
    /// Members only; empty for anyone else.
    async fn apps(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Conn<App, TeamApp, TeamAppConnection, TeamAppEdge>> {
        let args = PageArgs::new(first, after, last, before)?;
        if self.role(ctx).await?.is_none() {
            return Ok(empty());
        }
        let team = self.0.id;
        page(ctx, &APPS, team, args, EdgeFilter::NONE, |row| {
            let model = app::Model::from_query_result(row, "")?;
            let edge = TeamApp {
                app: model.id,
                team,
            };
            Ok((App(model), edge))
        })
        .await
    }

    /// The payment methods connected to the team. UNLIMITED members only; empty otherwise.
    async fn payment_methods(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<PaymentMethodConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        if self.role(ctx).await? != Some(TeamRole::Unlimited) {
            return Ok(empty());
        }
        page(
            ctx,
            &PAYMENT_METHODS,
            self.0.id,
            args,
            EdgeFilter::NONE,
            PaymentMethod::read,
        )
        .await
    }

    /// Pending invitations to join the team. UNLIMITED members only; empty otherwise.
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<InvitationConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        if self.role(ctx).await? != Some(TeamRole::Unlimited) {
            return Ok(empty());
        }
        page(
            ctx,
            &INVITATIONS,
            self.0.id,
            args,
            EdgeFilter::NONE,
            Invitation::read,
        )
        .await
    }

    /// Requests of LIMITED members for access to team apps, optionally in one state.
    /// UNLIMITED members only; empty otherwise.
    async fn access_requests(
        &self,
        ctx: &Context<'_>,
        state: Option<AccessRequestState>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<AccessRequestConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        if self.role(ctx).await? != Some(TeamRole::Unlimited) {
            return Ok(empty());
        }
        let edge_filter = EdgeFilter {
            restrict: Restrict::Nothing,
            equals: state.map(|s| ("n.state", crate::rules::access_request::state_value(s))),
        };
        page(
            ctx,
            &ACCESS_REQUESTS,
            self.0.id,
            args,
            edge_filter,
            AccessRequest::read,
        )
        .await
    }

    /// What deleting the team would delete: the payment methods only this team gives access
    /// to, with their apps, and the trial apps only this team gives access to. UNLIMITED
    /// members only; null otherwise.
    async fn deletion_impact(&self, ctx: &Context<'_>) -> ApiResult<Option<DeletionImpact>> {
        if self.role(ctx).await? != Some(TeamRole::Unlimited) {
            return Ok(None);
        }
        Ok(loader(ctx)?.load_one(TeamDeletionImpact(self.0.id)).await?)
    }
}

/// Loads a team the viewer may see, for `node(id:)` and edges.
pub async fn node(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Team>> {
    let loader = loader(ctx)?;
    if !loader.load_one(TeamVisible(id)).await?.unwrap_or(false) {
        return Ok(None);
    }
    Ok(loader.load_one(TeamId(id)).await?.map(Team))
}

/// What deleting one team would remove; batched like every other lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TeamDeletionImpact(pub Uuid);

/// Payment methods that only the team gives access to: no person directly, no other team.
const ORPHANED_PAYMENT_METHODS: &str = "SELECT pt.team_id AS parent, pt.payment_method_id AS id \
    FROM payment_method_team pt \
    WHERE NOT EXISTS (SELECT 1 FROM payment_method_person pp WHERE pp.payment_method_id = pt.payment_method_id) \
    AND NOT EXISTS (SELECT 1 FROM payment_method_team o WHERE o.payment_method_id = pt.payment_method_id AND o.team_id <> pt.team_id)";

impl Loader<TeamDeletionImpact> for Batch {
    type Value = DeletionImpact;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[TeamDeletionImpact],
    ) -> ApiResult<HashMap<TeamDeletionImpact, DeletionImpact>> {
        let teams: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut impacts = deletion_impacts(&self.0.db.conn, &teams).await?;
        Ok(keys
            .iter()
            .map(|k| (*k, impacts.remove(&k.0).unwrap_or_default()))
            .collect())
    }
}

/// What deleting each of `teams` would remove, in one statement; the deletion itself uses it
/// too, so what `deletionImpact` shows is exactly what goes.
pub async fn deletion_impacts(
    conn: &impl sea_orm::ConnectionTrait,
    teams: &[Uuid],
) -> ApiResult<HashMap<Uuid, DeletionImpact>> {
    use crate::store::sql::Sql;
    #[derive(FromQueryResult)]
    struct Row {
        kind: String,
        parent: Uuid,
        id: Uuid,
    }
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT 'P' AS kind, parent, id FROM (")
        .push(ORPHANED_PAYMENT_METHODS)
        .push(") o WHERE parent IN ")
        .bind_list(teams.iter().copied())
        // The apps of those payment methods go with them.
        .push(" UNION SELECT 'A', o.parent, a.id FROM (")
        .push(ORPHANED_PAYMENT_METHODS)
        .push(") o JOIN app a ON a.payment_method_id = o.id WHERE o.parent IN ")
        .bind_list(teams.iter().copied())
        // Trial apps reachable only through this team: no other team holds them and
        // nobody is connected directly.
        .push(
            " UNION SELECT 'A', ta.team_id, a.id FROM team_app ta JOIN app a ON a.id = ta.app_id \
             WHERE a.payment_method_id IS NULL \
             AND NOT EXISTS (SELECT 1 FROM team_app o WHERE o.app_id = ta.app_id AND o.team_id <> ta.team_id) \
             AND NOT EXISTS (SELECT 1 FROM developer_connection dc WHERE dc.app_id = ta.app_id AND dc.team_id IS NULL) \
             AND ta.team_id IN ",
        )
        .bind_list(teams.iter().copied());
    let rows = Row::find_by_statement(sql.statement()).all(conn).await?;
    let mut impacts: HashMap<Uuid, DeletionImpact> = teams
        .iter()
        .map(|t| (*t, DeletionImpact::default()))
        .collect();
    for row in rows {
        if let Some(impact) = impacts.get_mut(&row.parent) {
            match row.kind.as_str() {
                "P" => impact.payment_method_ids.push(row.id),
                _ => impact.app_ids.push(row.id),
            }
        }
    }
    for impact in impacts.values_mut() {
        impact.app_ids.sort();
        impact.payment_method_ids.sort();
    }
    Ok(impacts)
}

/// A new team; the viewer becomes its first UNLIMITED member.
#[derive(async_graphql::InputObject)]
pub struct CreateTeamInput {
    /// The team's name.
    pub name: String,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `createTeam`.
#[derive(async_graphql::SimpleObject)]
pub struct CreateTeamPayload {
    /// The new team.
    pub team: Team,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// A new name for a team.
#[derive(async_graphql::InputObject)]
pub struct RenameTeamInput {
    /// The team's global id.
    pub team_id: ID,
    /// The new name.
    pub name: String,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `renameTeam`.
#[derive(async_graphql::SimpleObject)]
pub struct RenameTeamPayload {
    /// The team as it is now.
    pub team: Team,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// A team to delete, with everything only it gives access to (see `Team.deletionImpact`).
#[derive(async_graphql::InputObject)]
pub struct DeleteTeamInput {
    /// The team's global id.
    pub team_id: ID,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `deleteTeam`.
#[derive(async_graphql::SimpleObject)]
pub struct DeleteTeamPayload {
    /// The id of the deleted team.
    pub deleted_team_id: ID,
    /// The apps deleted with it.
    pub deleted_app_ids: Vec<ID>,
    /// The payment methods deleted with it.
    pub deleted_payment_method_ids: Vec<ID>,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// Mutations of teams.
#[derive(Default)]
pub struct TeamMutation;

#[Object]
impl TeamMutation {
    /// Creates a team with the viewer as its UNLIMITED member. Developers only.
    async fn create_team(
        &self,
        ctx: &Context<'_>,
        input: CreateTeamInput,
    ) -> ApiResult<Option<CreateTeamPayload>> {
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let name = crate::naming::clean_name(&input.name, "a team name")?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        if change.actor.account_type != entity::enums::AccountType::Developer {
            return Err(ApiError::Forbidden(
                "clients cannot have teams; teams are for developers".to_owned(),
            ));
        }
        let now = Utc::now();
        let team = team::ActiveModel {
            id: Set(Uuid::now_v7()),
            name: Set(name),
            created_at: Set(now),
        }
        .insert(&change.txn)
        .await?;
        entity::team_member::ActiveModel {
            team_id: Set(team.id),
            person_id: Set(change.actor.id),
            role: Set(TeamRole::Unlimited),
            joined_at: Set(now),
        }
        .insert(&change.txn)
        .await?;
        change.record(NewEvent {
            event_type: EventType::TeamCreated,
            summary: format!("{} created team {}", change.actor.name, team.name),
            subjects: vec![
                Subject::new(EventSubjectKind::Team, team.id, team.name.clone()),
                Subject::person(&change.actor),
            ],
            payload: serde_json::json!({ "name": team.name }),
        });
        change.commit().await?;
        Ok(Some(CreateTeamPayload {
            team: Team(team),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Renames a team. UNLIMITED members only.
    async fn rename_team(
        &self,
        ctx: &Context<'_>,
        input: RenameTeamInput,
    ) -> ApiResult<Option<RenameTeamPayload>> {
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let id = expect_global_id(&input.team_id, NodeKind::Team)?;
        let name = crate::naming::clean_name(&input.name, "a team name")?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let before =
            unlimited_team_in_change(&change, id, "only UNLIMITED members rename a team").await?;
        let after = team::ActiveModel {
            id: Set(id),
            name: Set(name),
            ..Default::default()
        }
        .update(&change.txn)
        .await?;
        change.record(NewEvent {
            event_type: EventType::TeamRenamed,
            summary: format!(
                "{} renamed team {} to {}",
                change.actor.name, before.name, after.name
            ),
            subjects: vec![Subject::new(EventSubjectKind::Team, id, after.name.clone())],
            payload: serde_json::json!({ "name": { "from": before.name, "to": after.name } }),
        });
        change.commit().await?;
        Ok(Some(RenameTeamPayload {
            team: Team(after),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Deletes a team with the payment methods and trial apps only it gives access to, as
    /// `Team.deletionImpact` shows. UNLIMITED members only.
    async fn delete_team(
        &self,
        ctx: &Context<'_>,
        input: DeleteTeamInput,
    ) -> ApiResult<Option<DeleteTeamPayload>> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let id = expect_global_id(&input.team_id, NodeKind::Team)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let team =
            unlimited_team_in_change(&change, id, "only UNLIMITED members delete a team").await?;
        let impact = deletion_impacts(&change.txn, &[id])
            .await?
            .remove(&id)
            .unwrap_or_default();
        let team_apps: Vec<Uuid> = entity::team_app::Entity::find()
            .select_only()
            .column(entity::team_app::Column::AppId)
            .filter(entity::team_app::Column::TeamId.eq(id))
            .into_tuple()
            .all(&change.txn)
            .await?;
        // The connections through the team end with it.
        crate::rules::app::lock_developers_of(&change, &team_apps).await?;
        let members: Vec<person::Model> = entity::team_member::Entity::find()
            .filter(entity::team_member::Column::TeamId.eq(id))
            .find_also_related(person::Entity)
            .all(&change.txn)
            .await?
            .into_iter()
            .filter_map(|(_, person)| person)
            .collect();
        let apps = entity::app::Entity::find()
            .filter(entity::app::Column::Id.is_in(impact.app_ids.iter().copied()))
            .all(&change.txn)
            .await?;
        let payment_methods = entity::payment_method::Entity::find()
            .filter(
                entity::payment_method::Column::Id.is_in(impact.payment_method_ids.iter().copied()),
            )
            .all(&change.txn)
            .await?;
        // Apps first (their payment methods may own them), then payment methods, then the team;
        // foreign keys cascade to environments, connections, grants, contacts and invitations.
        entity::app::Entity::delete_many()
            .filter(entity::app::Column::Id.is_in(impact.app_ids.iter().copied()))
            .exec(&change.txn)
            .await?;
        entity::payment_method::Entity::delete_many()
            .filter(
                entity::payment_method::Column::Id.is_in(impact.payment_method_ids.iter().copied()),
            )
            .exec(&change.txn)
            .await?;
        team::Entity::delete_by_id(id).exec(&change.txn).await?;
        let surviving: Vec<Uuid> = team_apps
            .into_iter()
            .filter(|a| !impact.app_ids.contains(a))
            .collect();
        crate::rules::app::ensure_technical_contacts(&change.txn, &surviving).await?;

        let mut subjects = vec![Subject::new(EventSubjectKind::Team, id, team.name.clone())];
        subjects.extend(members.iter().map(Subject::person));
        subjects.extend(
            apps.iter()
                .map(|a| Subject::new(EventSubjectKind::App, a.id, a.name.clone())),
        );
        subjects.extend(
            payment_methods
                .iter()
                .map(|p| Subject::new(EventSubjectKind::PaymentMethod, p.id, p.label.clone())),
        );
        let mut summary = format!("{} deleted team {}", change.actor.name, team.name);
        if !apps.is_empty() || !payment_methods.is_empty() {
            summary.push_str(&format!(
                " with {} app(s) and {} payment method(s) only it gave access to",
                apps.len(),
                payment_methods.len()
            ));
        }
        change.record(NewEvent {
            event_type: EventType::TeamDeleted,
            summary,
            subjects,
            payload: serde_json::json!({
                "name": team.name,
                "deletedApps": apps.iter().map(|a| &a.name).collect::<Vec<_>>(),
                "deletedPaymentMethods": payment_methods.iter().map(|p| &p.label).collect::<Vec<_>>(),
            }),
        });
        change.commit().await?;
        Ok(Some(DeleteTeamPayload {
            deleted_team_id: input.team_id,
            deleted_app_ids: impact
                .app_ids
                .iter()
                .map(|a| global_id(NodeKind::App, *a))
                .collect(),
            deleted_payment_method_ids: impact
                .payment_method_ids
                .iter()
                .map(|p| global_id(NodeKind::PaymentMethod, *p))
                .collect(),
            client_mutation_id: input.client_mutation_id,
        }))
    }
}
