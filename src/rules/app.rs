//! The rules of apps as a change sees them: who the actor is to an app (`AppRights`), and the
//! succession of technical contacts when developers come and go.

use entity::app;
use entity::enums::EventSubjectKind;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::access;
use crate::rules::change::{Change, Subject};

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
