//! The rules of apps: who the actor is to an app in a change (`AppRights`), the succession of
//! technical contacts when developers come and go, creating, changing and deleting apps, and
//! their environments (at least one per app, names unique within it, at most the quota).

use entity::enums::{EventSubjectKind, EventType};
use entity::{app, environment};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::access;
use crate::rules::change::{Change, NewEvent, Subject};

/// Gives every app among `apps` that has developers but no technical contact left its longest
/// connected developer as contact (docs/rules.md, "Technical contacts": nobody is blocked from
/// leaving for being one).
pub async fn ensure_technical_contacts(
    conn: &impl sea_orm::ConnectionTrait,
    apps: &[Uuid],
) -> ApiResult<()> {
    if apps.is_empty() {
        return Ok(());
    }
    let mut sql = crate::store::sql::Sql::new(conn.get_database_backend());
    sql.push(
        "INSERT INTO technical_contact (app_id, person_id, since) SELECT dc.app_id, dc.person_id, ",
    )
    .bind(chrono::Utc::now())
    .push(
        " FROM developer_connection dc WHERE dc.id = (SELECT d2.id FROM developer_connection d2 \
             WHERE d2.app_id = dc.app_id ORDER BY d2.connected_at, d2.id LIMIT 1) \
             AND NOT EXISTS (SELECT 1 FROM technical_contact tc WHERE tc.app_id = dc.app_id) \
             AND dc.app_id IN ",
    )
    .bind_list(apps.iter().copied());
    conn.execute_raw(sql.statement()).await?;
    Ok(())
}

/// Locks the rows of `apps` (PostgreSQL; SQLite write transactions exclude each other already),
/// in id order so that two changes never wait for each other in a cycle. Every change that adds
/// or ends developer connections takes it first, so the technical-contact succession of an app
/// (`ensure_technical_contacts`) runs one change at a time: two developers leaving together
/// cannot each count on the other to stay contact, and a newcomer cannot arrive unseen while the
/// last contact leaves.
pub async fn lock_developers_of(change: &Change, apps: &[Uuid]) -> ApiResult<()> {
    if apps.is_empty() || change.backend() != sea_orm::DbBackend::Postgres {
        return Ok(());
    }
    change
        .locked(
            app::Entity::find()
                .filter(app::Column::Id.is_in(apps.iter().copied()))
                .order_by_asc(app::Column::Id),
        )
        .all(&change.txn)
        .await?;
    Ok(())
}

/// Who the actor is to an app, as the change's transaction sees it. An app it cannot see is
/// NOT_FOUND; `refuse` turns a missing right into FORBIDDEN for an app it does see.
pub struct AppRights {
    pub app: app::Model,
    pub reach: crate::rules::access::Reach,
}

impl AppRights {
    pub async fn load(change: &Change, id: Uuid) -> ApiResult<AppRights> {
        let reach = change.reach().await?;
        let app = app::Entity::find_by_id(id)
            .one(&change.txn)
            .await?
            .filter(|_| reach.sees_app(id))
            .ok_or_else(|| ApiError::not_found("App"))?;
        Ok(AppRights { app, reach })
    }

    pub fn access(&self) -> access::AppAccess {
        self.reach.app_access(self.app.id)
    }

    pub fn require(&self, allowed: bool, refusal: &str) -> ApiResult<()> {
        if allowed {
            Ok(())
        } else {
            Err(ApiError::Forbidden(refusal.to_owned()))
        }
    }

    /// Technical rights: any developer connection.
    pub fn require_developer(&self, doing: &str) -> ApiResult<()> {
        self.require(
            self.access().developer,
            &format!("{doing} needs a developer connection to {}", self.app.name),
        )
    }

    /// Full developer rights or billing access.
    pub fn require_full_or_billing(&self, doing: &str) -> ApiResult<()> {
        let access = self.access();
        self.require(
            access.full || access.billing,
            &format!(
                "{doing} needs a full developer connection to {} or billing access to it",
                self.app.name
            ),
        )
    }

    pub fn subject(&self) -> Subject {
        Subject::new(EventSubjectKind::App, self.app.id, self.app.name.clone())
    }

    /// The app with its teams and payment method as they are now, for an event's subjects.
    pub async fn subjects_with_containers(&self, change: &Change) -> ApiResult<Vec<Subject>> {
        let mut subjects = vec![self.subject()];
        let teams = entity::team_app::Entity::find()
            .filter(entity::team_app::Column::AppId.eq(self.app.id))
            .find_also_related(entity::team::Entity)
            .all(&change.txn)
            .await?;
        subjects.extend(
            teams
                .into_iter()
                .filter_map(|(_, t)| t)
                .map(|t| Subject::new(EventSubjectKind::Team, t.id, t.name)),
        );
        if let Some(pm) = self.app.payment_method_id
            && let Some(pm) = entity::payment_method::Entity::find_by_id(pm)
                .one(&change.txn)
                .await?
        {
            subjects.push(Subject::new(
                EventSubjectKind::PaymentMethod,
                pm.id,
                pm.label,
            ));
        }
        Ok(subjects)
    }
}

/// A description as stored: trimmed, at most 2,000 characters, no control characters but
/// line breaks and tabs; empty is none.
pub fn clean_description(description: Option<String>) -> ApiResult<Option<String>> {
    let Some(description) = description else {
        return Ok(None);
    };
    let description = description.trim();
    if description.chars().count() > 2000 {
        return Err(ApiError::bad_input(
            "a description is at most 2,000 characters long",
        ));
    }
    // Line breaks and tabs are text; other control characters are not (PostgreSQL cannot
    // even store NUL).
    if description
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ApiError::bad_input(
            "a description holds no control characters other than line breaks and tabs",
        ));
    }
    Ok((!description.is_empty()).then(|| description.to_owned()))
}

/// The environment and the rights over its app, read inside the change.
async fn environment_in_change(
    change: &Change,
    id: Uuid,
) -> ApiResult<(environment::Model, AppRights)> {
    let env = environment::Entity::find_by_id(id)
        .one(&change.txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Environment"))?;
    let rights = AppRights::load(change, env.app_id)
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => ApiError::not_found("Environment"),
            other => other,
        })?;
    if !rights.reach.sees_app_internals(env.app_id) {
        return Err(ApiError::not_found("Environment"));
    }
    Ok((env, rights))
}

async fn environment_name_free(change: &Change, app: Uuid, name: &str) -> ApiResult<()> {
    let taken = environment::Entity::find()
        .filter(environment::Column::AppId.eq(app))
        .filter(environment::Column::Name.eq(name))
        .one(&change.txn)
        .await?;
    match taken {
        Some(env) => Err(ApiError::Conflict {
            message: format!("the app has an environment named {name} already"),
            ids: vec![env.id],
        }),
        None => Ok(()),
    }
}

/// Creates an app with a `main` environment: directly connected to its creator, or in a
/// team the creator belongs to (the creator subscribes through it). On a payment method
/// the creator bills to, or as a trial app. A CLIENT creates apps on a payment method only,
/// and gets no developer connection.
pub async fn create(
    change: &mut Change,
    name: String,
    description: Option<String>,
    team_id: Option<Uuid>,
    pm_id: Option<Uuid>,
) -> ApiResult<app::Model> {
    let reach = change.reach().await?;
    let client = change.actor.account_type == entity::enums::AccountType::Client;
    if client && (pm_id.is_none() || team_id.is_some()) {
        return Err(ApiError::Forbidden(
            "a client creates apps on a payment method it bills to, outside teams".to_owned(),
        ));
    }
    let payment_method = match pm_id {
        Some(pm) if reach.bills(pm) => {
            entity::payment_method::Entity::find_by_id(pm)
                .one(&change.txn)
                .await?
        }
        Some(_) => return Err(ApiError::not_found("PaymentMethod")),
        None => None,
    };
    let team = match team_id {
        Some(id) => {
            let (team, role) = crate::rules::team::team_in_change(change, id).await?;
            let role = role.ok_or_else(|| {
                ApiError::Forbidden(format!("only members create apps in team {}", team.name))
            })?;
            Some((team, role))
        }
        None => None,
    };
    let now = chrono::Utc::now();
    let app = app::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        description: Set(description),
        payment_method_id: Set(payment_method.as_ref().map(|p| p.id)),
        created_at: Set(now),
    }
    .insert(&change.txn)
    .await?;
    environment::ActiveModel {
        id: Set(Uuid::now_v7()),
        app_id: Set(app.id),
        name: Set("main".to_owned()),
        created_at: Set(now),
    }
    .insert(&change.txn)
    .await?;
    if let Some((team, role)) = &team {
        entity::team_app::ActiveModel {
            team_id: Set(team.id),
            app_id: Set(app.id),
            added_at: Set(now),
        }
        .insert(&change.txn)
        .await?;
        if *role == entity::enums::TeamRole::Limited {
            entity::app_grant::ActiveModel {
                team_id: Set(team.id),
                app_id: Set(app.id),
                person_id: Set(change.actor.id),
                created_at: Set(now),
            }
            .insert(&change.txn)
            .await?;
        }
    }
    if !client {
        entity::developer_connection::ActiveModel {
            id: Set(Uuid::now_v7()),
            person_id: Set(change.actor.id),
            app_id: Set(app.id),
            team_id: Set(team.as_ref().map(|(t, _)| t.id)),
            connected_at: Set(now),
        }
        .insert(&change.txn)
        .await?;
        entity::technical_contact::ActiveModel {
            app_id: Set(app.id),
            person_id: Set(change.actor.id),
            since: Set(now),
        }
        .insert(&change.txn)
        .await?;
    }
    let mut subjects = vec![Subject::new(
        EventSubjectKind::App,
        app.id,
        app.name.clone(),
    )];
    let mut summary = format!("{} created app {}", change.actor.name, app.name);
    if let Some((team, _)) = &team {
        subjects.push(Subject::new(
            EventSubjectKind::Team,
            team.id,
            team.name.clone(),
        ));
        summary.push_str(&format!(" in team {}", team.name));
    }
    if let Some(pm) = &payment_method {
        subjects.push(Subject::new(
            EventSubjectKind::PaymentMethod,
            pm.id,
            pm.label.clone(),
        ));
        summary.push_str(&format!(" on payment method {}", pm.label));
    }
    change.record(NewEvent {
        event_type: EventType::AppCreated,
        summary,
        subjects,
        payload: serde_json::json!({ "name": app.name, "trial": app.payment_method_id.is_none() }),
    });
    Ok(app)
}

/// Changes an app's name or description. Needs a developer connection.
pub async fn update(
    change: &mut Change,
    id: Uuid,
    name: Option<String>,
    description: Option<Option<String>>,
) -> ApiResult<app::Model> {
    let rights = AppRights::load(change, id).await?;
    rights.require_developer("changing settings")?;
    let before = rights.app.clone();
    let after = app::ActiveModel {
        id: Set(id),
        name: Set(name.unwrap_or_else(|| before.name.clone())),
        description: Set(description.unwrap_or_else(|| before.description.clone())),
        ..Default::default()
    }
    .update(&change.txn)
    .await?;
    let mut subjects = rights.subjects_with_containers(change).await?;
    subjects[0].name = after.name.clone();
    change.record(NewEvent {
        event_type: EventType::AppUpdated,
        summary: format!(
            "{} changed the settings of app {}",
            change.actor.name, after.name
        ),
        subjects,
        payload: serde_json::json!({
            "name": { "from": before.name, "to": after.name },
            "description": { "from": before.description, "to": after.description },
        }),
    });
    Ok(after)
}

/// Deletes an app with its environments, connections and grants; its events stay. Needs a
/// full developer connection or billing access.
pub async fn delete(change: &mut Change, id: Uuid) -> ApiResult<()> {
    let rights = AppRights::load(change, id).await?;
    rights.require_full_or_billing("deleting an app")?;
    let mut subjects = rights.subjects_with_containers(change).await?;
    // The people who lose the app hear about it.
    let developers = entity::developer_connection::Entity::find()
        .filter(entity::developer_connection::Column::AppId.eq(id))
        .find_also_related(entity::person::Entity)
        .all(&change.txn)
        .await?;
    subjects.extend(
        developers
            .into_iter()
            .filter_map(|(_, p)| p)
            .map(|p| Subject::person(&p)),
    );
    app::Entity::delete_by_id(id).exec(&change.txn).await?;
    change.record(NewEvent {
        event_type: EventType::AppDeleted,
        summary: format!("{} deleted app {}", change.actor.name, rights.app.name),
        subjects,
        payload: serde_json::json!({ "name": rights.app.name }),
    });
    Ok(())
}

/// Adds an environment to an app. Needs a developer connection.
pub async fn create_environment(
    change: &mut Change,
    id: Uuid,
    name: String,
    max_environments: u64,
) -> ApiResult<environment::Model> {
    let rights = AppRights::load(change, id).await?;
    rights.require_developer("creating an environment")?;
    use sea_orm::PaginatorTrait;
    // Locked, so that environments created at once by several developers count each other.
    change
        .locked(app::Entity::find_by_id(id))
        .one(&change.txn)
        .await?;
    let environments = environment::Entity::find()
        .filter(environment::Column::AppId.eq(id))
        .count(&change.txn)
        .await?;
    crate::rules::quotas::ensure_room(
        "environments",
        max_environments,
        environments,
        "environments per app",
    )?;
    environment_name_free(change, id, &name).await?;
    let env = environment::ActiveModel {
        id: Set(Uuid::now_v7()),
        app_id: Set(id),
        name: Set(name),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(&change.txn)
    .await?;
    let mut subjects = vec![Subject::new(
        EventSubjectKind::Environment,
        env.id,
        env.name.clone(),
    )];
    subjects.extend(rights.subjects_with_containers(change).await?);
    change.record(NewEvent {
        event_type: EventType::EnvironmentCreated,
        summary: format!(
            "{} created environment {} of app {}",
            change.actor.name, env.name, rights.app.name
        ),
        subjects,
        payload: serde_json::json!({ "name": env.name }),
    });
    Ok(env)
}

/// Renames an environment. Needs a developer connection.
pub async fn rename_environment(
    change: &mut Change,
    id: Uuid,
    name: String,
) -> ApiResult<environment::Model> {
    let (before, rights) = environment_in_change(change, id).await?;
    rights.require_developer("renaming an environment")?;
    if before.name != name {
        environment_name_free(change, before.app_id, &name).await?;
    }
    let after = environment::ActiveModel {
        id: Set(id),
        name: Set(name),
        ..Default::default()
    }
    .update(&change.txn)
    .await?;
    let mut subjects = vec![Subject::new(
        EventSubjectKind::Environment,
        id,
        after.name.clone(),
    )];
    subjects.extend(rights.subjects_with_containers(change).await?);
    change.record(NewEvent {
        event_type: EventType::EnvironmentRenamed,
        summary: format!(
            "{} renamed environment {} of app {} to {}",
            change.actor.name, before.name, rights.app.name, after.name
        ),
        subjects,
        payload: serde_json::json!({ "name": { "from": before.name, "to": after.name } }),
    });
    Ok(after)
}

/// Deletes an environment; the last one of an app stays (CONFLICT). Needs a developer
/// connection.
pub async fn delete_environment(change: &mut Change, id: Uuid) -> ApiResult<()> {
    use sea_orm::PaginatorTrait;
    let (env, rights) = environment_in_change(change, id).await?;
    rights.require_developer("deleting an environment")?;
    // Deletions of one app's environments queue on the app's row (PostgreSQL), so the
    // second counts after the first committed and cannot take the last one. Locking the
    // other environments instead would let two deletions lock each other's row: deadlock.
    change
        .locked(app::Entity::find_by_id(env.app_id))
        .one(&change.txn)
        .await?;
    let others = environment::Entity::find()
        .filter(environment::Column::AppId.eq(env.app_id))
        .filter(environment::Column::Id.ne(id));
    if others.count(&change.txn).await? == 0 {
        return Err(ApiError::Conflict {
            message: format!(
                "{} is the last environment of app {}; an app keeps at least one",
                env.name, rights.app.name
            ),
            ids: vec![id],
        });
    }
    environment::Entity::delete_by_id(id)
        .exec(&change.txn)
        .await?;
    let mut subjects = vec![Subject::new(
        EventSubjectKind::Environment,
        id,
        env.name.clone(),
    )];
    subjects.extend(rights.subjects_with_containers(change).await?);
    change.record(NewEvent {
        event_type: EventType::EnvironmentDeleted,
        summary: format!(
            "{} deleted environment {} of app {}",
            change.actor.name, env.name, rights.app.name
        ),
        subjects,
        payload: serde_json::json!({ "name": env.name }),
    });
    Ok(())
}
