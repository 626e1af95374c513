//! `updateViewer` and `cancelAccount`: decode the input, begin the change, apply the rule
//! (`rules::person`), commit, build the payload.

use async_graphql::{Context, ID, Object};
use entity::enums::AccountType;

use crate::api::context::scope;
use crate::api::relay::{NodeKind, global_id};
use crate::api::types::person::Person;
use crate::error::ApiResult;
use crate::rules::change::Change;
use crate::rules::person;

/// Changes to the viewer's own account.
#[derive(async_graphql::InputObject)]
pub struct UpdateViewerInput {
    /// A new name.
    pub name: Option<String>,
    /// A new account type. Becoming a CLIENT is refused while the viewer still has team
    /// memberships, developer connections or SSH keys.
    pub account_type: Option<AccountType>,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `updateViewer`.
#[derive(async_graphql::SimpleObject)]
pub struct UpdateViewerPayload {
    /// The viewer as it is now.
    pub viewer: Person,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// The viewer's request to cancel its own account.
#[derive(async_graphql::InputObject)]
pub struct CancelAccountInput {
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `cancelAccount`.
#[derive(async_graphql::SimpleObject)]
pub struct CancelAccountPayload {
    /// The id of the cancelled account.
    pub cancelled_person_id: ID,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// Mutations of people.
#[derive(Default)]
pub struct PersonMutation;

#[Object]
impl PersonMutation {
    /// Cancels the viewer's account: it leaves every team, its connections, billing access,
    /// SSH keys and tokens end, and it can no longer sign in; its past events stay. Refused
    /// (CONFLICT, listing what is in the way) while it is the only or last UNLIMITED member of
    /// a team or the last billing path of a payment method.
    async fn cancel_account(
        &self,
        ctx: &Context<'_>,
        input: CancelAccountInput,
    ) -> ApiResult<Option<CancelAccountPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        person::cancel(&mut change).await?;
        change.commit().await?;
        Ok(Some(CancelAccountPayload {
            cancelled_person_id: global_id(NodeKind::Person, viewer.id()),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Changes the viewer's name or account type.
    async fn update_viewer(
        &self,
        ctx: &Context<'_>,
        input: UpdateViewerInput,
    ) -> ApiResult<Option<UpdateViewerPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let name = input
            .name
            .as_deref()
            .map(|n| crate::naming::clean_name(n, "a name"))
            .transpose()?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let after = person::update(&mut change, name, input.account_type).await?;
        change.commit().await?;
        Ok(Some(UpdateViewerPayload {
            viewer: Person(after),
            client_mutation_id: input.client_mutation_id,
        }))
    }
}
