//! `createTeam`, `renameTeam` and `deleteTeam`: decode the input, begin the change, apply the
//! rule (`rules::team`), commit, build the payload.

use async_graphql::{Context, ID, Object};

use crate::api::context::scope;
use crate::api::relay::{NodeKind, expect_global_id, global_id};
use crate::api::types::team::Team;
use crate::error::ApiResult;
use crate::rules::change::Change;
use crate::rules::team;

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
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let name = crate::naming::clean_name(&input.name, "a team name")?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let team = team::create(&mut change, name).await?;
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
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let id = expect_global_id(&input.team_id, NodeKind::Team)?;
        let name = crate::naming::clean_name(&input.name, "a team name")?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let after = team::rename(&mut change, id, name).await?;
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
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let id = expect_global_id(&input.team_id, NodeKind::Team)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let impact = team::delete(&mut change, id).await?;
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
