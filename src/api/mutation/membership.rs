//! `changeTeamMemberRole`, `removeTeamMember` and `leaveTeam`: decode the input, begin the
//! change, apply the rule (`rules::membership`), commit, build the payload.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use entity::enums::TeamRole;

use crate::api::context::{scope, writer};
use crate::api::relay::{NodeKind, expect_global_id};
use crate::api::types::person::Person;
use crate::api::types::team::Team;
use crate::error::ApiResult;
use crate::rules::change::Change;
use crate::rules::membership;

/// A member's new role.
#[derive(InputObject)]
pub struct ChangeTeamMemberRoleInput {
    /// The team's global id.
    pub team_id: ID,
    /// The member's global id.
    pub person_id: ID,
    /// The new role.
    pub role: TeamRole,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `changeTeamMemberRole`.
#[derive(SimpleObject)]
pub struct ChangeTeamMemberRolePayload {
    /// The team.
    pub team: Team,
    /// The member.
    pub member: Person,
    /// The member's role now.
    pub role: TeamRole,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// A member to remove from a team.
#[derive(InputObject)]
pub struct RemoveTeamMemberInput {
    /// The team's global id.
    pub team_id: ID,
    /// The member's global id.
    pub person_id: ID,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `removeTeamMember`.
#[derive(SimpleObject)]
pub struct RemoveTeamMemberPayload {
    /// The team.
    pub team: Team,
    /// The id of the removed member.
    pub removed_person_id: ID,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// A team the viewer leaves.
#[derive(InputObject)]
pub struct LeaveTeamInput {
    /// The team's global id.
    pub team_id: ID,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `leaveTeam`.
#[derive(SimpleObject)]
pub struct LeaveTeamPayload {
    /// The id of the team left.
    pub left_team_id: ID,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// Mutations of team membership.
#[derive(Default)]
pub struct MembershipMutation;

#[Object]
impl MembershipMutation {
    /// Changes a member's role. UNLIMITED members only; the last UNLIMITED member cannot be
    /// demoted. Demoting keeps the member's subscriptions through the team as grants;
    /// promoting makes grants unnecessary.
    async fn change_team_member_role(
        &self,
        ctx: &Context<'_>,
        input: ChangeTeamMemberRoleInput,
    ) -> ApiResult<Option<ChangeTeamMemberRolePayload>> {
        let scope = scope(ctx)?;
        let viewer = writer(ctx)?;
        let team_id = expect_global_id(&input.team_id, NodeKind::Team)?;
        let person_id = expect_global_id(&input.person_id, NodeKind::Person)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let (team, person) =
            membership::change_role(&mut change, team_id, person_id, input.role).await?;
        change.commit().await?;
        Ok(Some(ChangeTeamMemberRolePayload {
            team: Team(team),
            member: Person(person),
            role: input.role,
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Removes a member from a team. UNLIMITED members only; the last UNLIMITED member cannot
    /// be removed. The member's connections, grants and billing access through the team end.
    async fn remove_team_member(
        &self,
        ctx: &Context<'_>,
        input: RemoveTeamMemberInput,
    ) -> ApiResult<Option<RemoveTeamMemberPayload>> {
        let scope = scope(ctx)?;
        let viewer = writer(ctx)?;
        let team_id = expect_global_id(&input.team_id, NodeKind::Team)?;
        let person_id = expect_global_id(&input.person_id, NodeKind::Person)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let team = membership::remove_member(&mut change, team_id, person_id).await?;
        change.commit().await?;
        Ok(Some(RemoveTeamMemberPayload {
            team: Team(team),
            removed_person_id: input.person_id,
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// The viewer leaves a team; its connections, grants and billing access through the team
    /// end. The last UNLIMITED member cannot leave (promote someone or delete the team).
    async fn leave_team(
        &self,
        ctx: &Context<'_>,
        input: LeaveTeamInput,
    ) -> ApiResult<Option<LeaveTeamPayload>> {
        let scope = scope(ctx)?;
        let viewer = writer(ctx)?;
        let team_id = expect_global_id(&input.team_id, NodeKind::Team)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        membership::leave(&mut change, team_id).await?;
        change.commit().await?;
        Ok(Some(LeaveTeamPayload {
            left_team_id: input.team_id,
            client_mutation_id: input.client_mutation_id,
        }))
    }
}
