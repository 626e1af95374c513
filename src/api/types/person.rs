//! People: the only actors. A person sees another's id, name and e-mail when they share a
//! team, an app or a payment method (see `access::Reach::visible_people`).

use std::collections::HashMap;

use async_graphql::connection::EmptyFields;
use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::enums::EventType;
use entity::enums::{AccountType, InvitationState, TeamRole};
use entity::{app, person, personal_access_token, ssh_key, team};
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QueryResult};
use uuid::Uuid;

use crate::api::connection::{
    Conn, PersonAppConnection, PersonAppEdge, PersonTeamConnection, PersonTeamEdge, empty, page,
};
use crate::api::context::{Batch, EdgeFilter, Restrict, load_by_id, loader, scope};
use crate::api::relay::{NodeKind, global_id};
use crate::api::types::app::App;
use crate::api::types::event::{EventFilter, PersonEventFilters};
use crate::api::types::invitation::{Invitation, InvitationConnection};
use crate::api::types::payment_method::{PaymentMethod, PaymentMethodConnection};
use crate::api::types::ssh_key::SshKey;
use crate::api::types::team::{Team, TeamId};
use crate::api::types::token::{PersonalAccessToken, PersonalAccessTokenConnection};
use crate::error::{ApiError, ApiResult};
use crate::rules::access::billing_paths;
use crate::rules::change::{Change, NewEvent, Subject};
use crate::store::page::PageArgs;
use crate::store::sql::EdgeSql;

load_by_id!(PersonId, person);

// Whether the viewer may see a person: it shares a team, an app or a payment method.
crate::api::context::visibility_by_id!(PersonVisible, visible_people);

/// Loads a person if the viewer may see it.
pub async fn visible_person(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Person>> {
    let loader = loader(ctx)?;
    if !loader.load_one(PersonVisible(id)).await?.unwrap_or(false) {
        return Ok(None);
    }
    Ok(loader.load_one(PersonId(id)).await?.map(Person))
}

/// The SSH keys of a batch of people, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PersonSshKeys(pub Uuid);

impl Loader<PersonSshKeys> for Batch {
    type Value = Vec<ssh_key::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[PersonSshKeys]) -> ApiResult<HashMap<PersonSshKeys, Self::Value>> {
        let rows = ssh_key::Entity::find()
            .filter(ssh_key::Column::PersonId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(ssh_key::Column::Id)
            .all(&self.0.db.conn)
            .await?;
        let mut out: HashMap<PersonSshKeys, Self::Value> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            out.entry(PersonSshKeys(row.person_id))
                .or_default()
                .push(row);
        }
        Ok(out)
    }
}

static TEAMS: EdgeSql = EdgeSql {
    list: "Person.teams",
    from: "team_member e",
    node: "JOIN team n ON n.id = e.team_id",
    parent: "e.person_id",
    key: "n.id",
    select: "n.*, e.role AS edge_role, e.joined_at AS edge_joined_at",
    condition: "",
};

static APPS: EdgeSql = EdgeSql {
    list: "Person.apps",
    from: "developer_connection e",
    node: "JOIN app n ON n.id = e.app_id",
    parent: "e.person_id",
    key: "n.id",
    select: "n.*, e.team_id AS edge_team_id, e.connected_at AS edge_connected_at",
    condition: "",
};

static PAYMENT_METHODS: EdgeSql = EdgeSql {
    list: "Person.paymentMethods",
    from: concat!("(", billing_paths!(), ") e"),
    node: "JOIN payment_method n ON n.id = e.payment_method_id",
    parent: "e.person_id",
    key: "n.id",
    select: "n.*",
    condition: "",
};

static INVITATIONS: EdgeSql = EdgeSql {
    list: "Person.invitations",
    from: "person e JOIN invitation n ON n.email = e.email",
    node: "",
    parent: "e.id",
    key: "n.id",
    select: "n.*",
    condition: "",
};

static TOKENS: EdgeSql = EdgeSql {
    list: "Person.personalAccessTokens",
    from: "personal_access_token n",
    node: "",
    parent: "n.person_id",
    key: "n.id",
    select: "n.*",
    condition: "n.revoked_at IS NULL",
};

/// A human being with an account. Accounts are personal and never shared.
pub struct Person(pub person::Model);

/// How a person belongs to a team.
#[derive(SimpleObject)]
pub struct Membership {
    /// The person's role in the team.
    pub role: TeamRole,
    /// When the person joined the team.
    pub joined_at: DateTime<Utc>,
}

/// The fields a developer connection gives an edge between a person and an app (`App.developers`,
/// `Person.apps`).
pub struct DeveloperEdge {
    pub team: Option<Uuid>,
    pub connected_at: DateTime<Utc>,
}

/// How a person is connected to an app as a developer.
#[Object]
impl DeveloperEdge {
    /// The team the connection goes through; null for a direct connection.
    async fn team(&self, ctx: &Context<'_>) -> ApiResult<Option<Team>> {
        match self.team {
            None => Ok(None),
            Some(id) => Ok(loader(ctx)?.load_one(TeamId(id)).await?.map(Team)),
        }
    }

    /// When the connection was made.
    async fn connected_at(&self) -> DateTime<Utc> {
        self.connected_at
    }
}

fn read_membership(row: &QueryResult) -> Result<(Team, Membership), sea_orm::DbErr> {
    Ok((
        Team(team::Model::from_query_result(row, "")?),
        Membership {
            role: row.try_get("", "edge_role")?,
            joined_at: row.try_get("", "edge_joined_at")?,
        },
    ))
}

fn read_connection(row: &QueryResult) -> Result<(App, DeveloperEdge), sea_orm::DbErr> {
    Ok((
        App(app::Model::from_query_result(row, "")?),
        DeveloperEdge {
            team: row.try_get("", "edge_team_id")?,
            connected_at: row.try_get("", "edge_connected_at")?,
        },
    ))
}

impl Person {
    /// Lists about another person show only what the viewer can see anyway.
    fn restrict(&self, ctx: &Context<'_>, restrict: Restrict) -> ApiResult<EdgeFilter> {
        let own = scope(ctx)?.viewer()?.id() == self.0.id;
        Ok(EdgeFilter::restrict(if own {
            Restrict::Nothing
        } else {
            restrict
        }))
    }

    fn is_viewer(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        Ok(scope(ctx)?.viewer()?.id() == self.0.id)
    }
}

/// A human being with an account. Accounts are personal and never shared.
#[Object]
impl Person {
    /// The global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Person, self.0.id)
    }

    /// The person's name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The person's e-mail address, visible to everyone who may see the person.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// DEVELOPER or CLIENT.
    async fn account_type(&self) -> AccountType {
        self.0.account_type
    }

    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The events about this person that the viewer may see, oldest first (`last:` gives the
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
            crate::api::types::event::About::Person(self.0.id),
            args,
            filter,
        )
        .await
    }

    /// The teams the person belongs to, as far as the viewer belongs to them too; the edge
    /// carries the person's role.
    async fn teams(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Conn<Team, Membership, PersonTeamConnection, PersonTeamEdge>> {
        let args = PageArgs::new(first, after, last, before)?;
        let edge_filter = self.restrict(ctx, Restrict::ViewerTeams("n.id"))?;
        page(ctx, &TEAMS, self.0.id, args, edge_filter, read_membership).await
    }

    /// The apps the person has a developer connection to, as far as the viewer may see the
    /// app's developers (a developer connection of its own, or UNLIMITED membership of one of
    /// the app's teams: the rule of `App.developers`, so that neither shows what the other
    /// hides); the edge tells through which team (null for a direct connection).
    async fn apps(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Conn<App, DeveloperEdge, PersonAppConnection, PersonAppEdge>> {
        let args = PageArgs::new(first, after, last, before)?;
        let edge_filter = self.restrict(ctx, Restrict::AppsWithVisibleDevelopers("n.id"))?;
        page(ctx, &APPS, self.0.id, args, edge_filter, read_connection).await
    }

    /// The payment methods the person has billing access to, directly or as an UNLIMITED team
    /// member, as far as the viewer has billing access to them too.
    async fn payment_methods(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<PaymentMethodConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        let edge_filter = self.restrict(ctx, Restrict::BilledPaymentMethods("n.id"))?;
        page(
            ctx,
            &PAYMENT_METHODS,
            self.0.id,
            args,
            edge_filter,
            PaymentMethod::read,
        )
        .await
    }

    /// Invitations addressed to the person's e-mail, optionally in one state. The viewer's own
    /// only; empty for anyone else.
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        state: Option<InvitationState>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<InvitationConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        if !self.is_viewer(ctx)? {
            return Ok(empty());
        }
        let edge_filter = EdgeFilter {
            restrict: Restrict::Nothing,
            equals: state.map(|s| ("n.state", crate::api::types::invitation::state_value(s))),
        };
        page(
            ctx,
            &INVITATIONS,
            self.0.id,
            args,
            edge_filter,
            Invitation::read,
        )
        .await
    }

    /// The person's SSH public keys. The viewer's own only; empty for anyone else.
    async fn ssh_keys(&self, ctx: &Context<'_>) -> ApiResult<Vec<SshKey>> {
        if !self.is_viewer(ctx)? {
            return Ok(Vec::new());
        }
        let keys = loader(ctx)?.load_one(PersonSshKeys(self.0.id)).await?;
        Ok(keys.unwrap_or_default().into_iter().map(SshKey).collect())
    }

    /// The person's saved event filters. The viewer's own only; empty for anyone else.
    async fn event_filters(&self, ctx: &Context<'_>) -> ApiResult<Vec<EventFilter>> {
        if !self.is_viewer(ctx)? {
            return Ok(Vec::new());
        }
        let filters = loader(ctx)?.load_one(PersonEventFilters(self.0.id)).await?;
        Ok(filters
            .unwrap_or_default()
            .into_iter()
            .map(EventFilter)
            .collect())
    }

    /// The person's personal access tokens that are not revoked (secrets are never shown
    /// again). The viewer's own only; empty for anyone else.
    async fn personal_access_tokens(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<PersonalAccessTokenConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        if !self.is_viewer(ctx)? {
            return Ok(empty());
        }
        page(ctx, &TOKENS, self.0.id, args, EdgeFilter::NONE, |row| {
            Ok((
                PersonalAccessToken(personal_access_token::Model::from_query_result(row, "")?),
                EmptyFields,
            ))
        })
        .await
    }
}

/// Loads the person a viewer may see, for `node(id:)`.
pub async fn node(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Person>> {
    visible_person(ctx, id).await
}

/// The canonical form of an e-mail address: trimmed and lower-cased, after checking it is one.
/// A bare address only: no display name (`Name <address>` would put the sender's words in a
/// mail's `To:` header and never equal an account's address) and no domain literal
/// (`user@[…]`), which no one signs up with.
pub fn normalize_email(email: &str) -> ApiResult<String> {
    let email = email.trim().to_lowercase();
    let options = email_address::Options::default()
        .without_display_text()
        .without_domain_literal();
    if email.len() > 254
        || email_address::EmailAddress::parse_with_options(&email, options).is_err()
    {
        return Err(ApiError::bad_input(format!(
            "`{email}` is not a valid e-mail address"
        )));
    }
    Ok(email)
}

/// Creates a person. An e-mail address already in use is CONFLICT.
pub async fn create(
    conn: &impl sea_orm::ConnectionTrait,
    email: &str,
    name: &str,
    account_type: AccountType,
) -> ApiResult<person::Model> {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let email = normalize_email(email)?;
    let name = crate::naming::clean_name(name, "a name")?;
    if let Some(existing) = find_by_email(conn, &email).await? {
        return Err(ApiError::Conflict {
            message: format!("{email} already has an account"),
            ids: vec![existing.id],
        });
    }
    Ok(person::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email),
        name: Set(name),
        account_type: Set(account_type),
        created_at: Set(Utc::now()),
        cancelled_at: Set(None),
    }
    .insert(conn)
    .await?)
}

pub async fn find_by_email(
    conn: &impl sea_orm::ConnectionTrait,
    email: &str,
) -> ApiResult<Option<person::Model>> {
    let email = email.trim().to_lowercase();
    Ok(person::Entity::find()
        .filter(person::Column::Email.eq(email))
        .one(conn)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            normalize_email(" Ana@Example.COM ").ok().as_deref(),
            Some("ana@example.com")
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "a b@example.com",
            "ana@@example.com",
        ] {
            assert_eq!(
                normalize_email(bad).unwrap_err().code(),
                "BAD_USER_INPUT",
                "{bad}"
            );
        }
    }
}

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

/// What keeps `person` from cancelling: teams it is the only member or the last UNLIMITED member
/// of, payment methods it is the last billing path of. The rows of those teams and payment
/// methods are locked first (PostgreSQL), in id order, as leaving a team or removing a billing
/// person does: a concurrent departure of the other UNLIMITED member or biller waits, and one
/// of the two then sees it would strand the team or payment method.
async fn cancellation_blockers(
    change: &Change,
    person: Uuid,
) -> ApiResult<(Vec<String>, Vec<Uuid>)> {
    use entity::{payment_method, payment_method_person, team, team_member};
    use sea_orm::{PaginatorTrait, QueryOrder};
    let (mut reasons, mut ids) = (Vec::new(), Vec::new());
    let memberships = team_member::Entity::find()
        .filter(team_member::Column::PersonId.eq(person))
        .order_by_asc(team_member::Column::TeamId)
        .find_also_related(team::Entity)
        .all(&change.txn)
        .await?;
    for (membership, team) in memberships {
        let Some(team) = team else { continue };
        crate::rules::team::team_in_change(change, team.id).await?;
        let others = team_member::Entity::find()
            .filter(team_member::Column::TeamId.eq(team.id))
            .filter(team_member::Column::PersonId.ne(person));
        if others.clone().count(&change.txn).await? == 0 {
            reasons.push(format!(
                "you are the only member of team {} (delete it)",
                team.name
            ));
            ids.push(team.id);
        } else if membership.role == TeamRole::Unlimited
            && others
                .filter(team_member::Column::Role.eq(TeamRole::Unlimited))
                .count(&change.txn)
                .await?
                == 0
        {
            reasons.push(format!(
                "you are the last UNLIMITED member of team {} (promote someone)",
                team.name
            ));
            ids.push(team.id);
        }
    }
    let billed = payment_method_person::Entity::find()
        .filter(payment_method_person::Column::PersonId.eq(person))
        .order_by_asc(payment_method_person::Column::PaymentMethodId)
        .find_also_related(payment_method::Entity)
        .all(&change.txn)
        .await?;
    for (_, pm) in billed {
        let Some(pm) = pm else { continue };
        change
            .locked(payment_method::Entity::find_by_id(pm.id))
            .one(&change.txn)
            .await?;
        if !crate::api::types::payment_method::has_other_billing_path(
            change,
            pm.id,
            Some(person),
            None,
        )
        .await?
        {
            reasons.push(format!(
                "you are the last billing path of payment method {} (invite someone or delete it)",
                pm.label
            ));
            ids.push(pm.id);
        }
    }
    Ok((reasons, ids))
}

/// What stands in the way of becoming a CLIENT: memberships, connections, keys.
async fn developer_belongings(
    conn: &impl sea_orm::ConnectionTrait,
    person: Uuid,
) -> ApiResult<Vec<Uuid>> {
    use entity::{developer_connection, team_member};
    use sea_orm::QuerySelect;
    let mut ids: Vec<Uuid> = team_member::Entity::find()
        .select_only()
        .column(team_member::Column::TeamId)
        .filter(team_member::Column::PersonId.eq(person))
        .into_tuple()
        .all(conn)
        .await?;
    let apps: Vec<Uuid> = developer_connection::Entity::find()
        .select_only()
        .column(developer_connection::Column::AppId)
        .filter(developer_connection::Column::PersonId.eq(person))
        .into_tuple()
        .all(conn)
        .await?;
    let keys: Vec<Uuid> = ssh_key::Entity::find()
        .select_only()
        .column(ssh_key::Column::Id)
        .filter(ssh_key::Column::PersonId.eq(person))
        .into_tuple()
        .all(conn)
        .await?;
    ids.extend(apps);
    ids.extend(keys);
    Ok(ids)
}

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
        use entity::{access_request, developer_connection, payment_method_person, team_member};
        use sea_orm::{ActiveModelTrait, ActiveValue::Set, QuerySelect};
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let me = viewer.id();
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let (reasons, ids) = cancellation_blockers(&change, me).await?;
        if !reasons.is_empty() {
            return Err(ApiError::Conflict {
                message: format!(
                    "your account cannot be cancelled yet: {}",
                    reasons.join("; ")
                ),
                ids,
            });
        }
        let reach = change.reach().await?;
        let mut subjects = vec![Subject::person(&change.actor)];
        subjects.extend(
            reach
                .team_ids()
                .into_iter()
                .map(|t| Subject::new(entity::enums::EventSubjectKind::Team, t, String::new())),
        );
        let apps: Vec<Uuid> = developer_connection::Entity::find()
            .select_only()
            .column(developer_connection::Column::AppId)
            .filter(developer_connection::Column::PersonId.eq(me))
            .into_tuple()
            .all(&change.txn)
            .await?;
        crate::rules::app::lock_developers_of(&change, &apps).await?;
        team_member::Entity::delete_many()
            .filter(team_member::Column::PersonId.eq(me))
            .exec(&change.txn)
            .await?;
        developer_connection::Entity::delete_many()
            .filter(developer_connection::Column::PersonId.eq(me))
            .exec(&change.txn)
            .await?;
        payment_method_person::Entity::delete_many()
            .filter(payment_method_person::Column::PersonId.eq(me))
            .exec(&change.txn)
            .await?;
        ssh_key::Entity::delete_many()
            .filter(ssh_key::Column::PersonId.eq(me))
            .exec(&change.txn)
            .await?;
        let now = Utc::now();
        personal_access_token::Entity::update_many()
            .col_expr(
                personal_access_token::Column::RevokedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(personal_access_token::Column::PersonId.eq(me))
            .filter(personal_access_token::Column::RevokedAt.is_null())
            .exec(&change.txn)
            .await?;
        crate::rules::session::end_all_of(&change.txn, me).await?;
        access_request::Entity::update_many()
            .col_expr(
                access_request::Column::State,
                sea_orm::sea_query::Expr::value("CANCELLED"),
            )
            .filter(access_request::Column::RequesterId.eq(me))
            .filter(access_request::Column::State.eq(entity::enums::AccessRequestState::Pending))
            .exec(&change.txn)
            .await?;
        crate::rules::app::ensure_technical_contacts(&change.txn, &apps).await?;
        person::ActiveModel {
            id: Set(me),
            cancelled_at: Set(Some(now)),
            ..Default::default()
        }
        .update(&change.txn)
        .await?;
        // Team names, for the teams' members who read the event.
        for subject in subjects.iter_mut().skip(1) {
            if let Some(team) = entity::team::Entity::find_by_id(subject.id)
                .one(&change.txn)
                .await?
            {
                subject.name = team.name;
            }
        }
        change.record(NewEvent {
            event_type: EventType::AccountCancelled,
            summary: format!("{} cancelled their account", change.actor.name),
            subjects,
            payload: serde_json::json!({ "endedConnections": apps.len() }),
        });
        change.commit().await?;
        Ok(Some(CancelAccountPayload {
            cancelled_person_id: global_id(NodeKind::Person, me),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Changes the viewer's name or account type.
    async fn update_viewer(
        &self,
        ctx: &Context<'_>,
        input: UpdateViewerInput,
    ) -> ApiResult<Option<UpdateViewerPayload>> {
        use sea_orm::{ActiveEnum, ActiveModelTrait, ActiveValue::Set};
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let name = input
            .name
            .as_deref()
            .map(|n| crate::naming::clean_name(n, "a name"))
            .transpose()?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        // As the transaction reads it (locked), not as the request found it.
        let before = change.actor.clone();
        let account_type = input.account_type.unwrap_or(before.account_type);
        if before.account_type == AccountType::Developer && account_type == AccountType::Client {
            let in_the_way = developer_belongings(&change.txn, before.id).await?;
            if !in_the_way.is_empty() {
                return Err(ApiError::Conflict {
                    message: format!(
                        "a client has no teams, developer connections or SSH keys: leave your teams, end your connections and remove your keys first ({} in the way)",
                        in_the_way.len()
                    ),
                    ids: in_the_way,
                });
            }
        }
        let after = person::ActiveModel {
            id: Set(before.id),
            name: Set(name.clone().unwrap_or_else(|| before.name.clone())),
            account_type: Set(account_type),
            ..Default::default()
        }
        .update(&change.txn)
        .await?;
        let mut changes = Vec::new();
        if after.name != before.name {
            changes.push(format!("renamed themselves to {}", after.name));
        }
        if after.account_type != before.account_type {
            changes.push(format!(
                "became a {} account",
                after.account_type.to_value()
            ));
        }
        if !changes.is_empty() {
            change.record(NewEvent {
                event_type: EventType::AccountUpdated,
                summary: format!("{} {}", before.name, changes.join(" and ")),
                subjects: vec![Subject::person(&after)],
                payload: serde_json::json!({
                    "name": { "from": before.name, "to": after.name },
                    "accountType": {
                        "from": before.account_type.to_value(),
                        "to": after.account_type.to_value(),
                    },
                }),
            });
        }
        change.commit().await?;
        Ok(Some(UpdateViewerPayload {
            viewer: Person(after),
            client_mutation_id: input.client_mutation_id,
        }))
    }
}
