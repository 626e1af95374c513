//! `access_request`: a team member's request for access to one of the team's apps.

use sea_orm::entity::prelude::*;

use crate::enums::AccessRequestState;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "access_request")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub team_id: Uuid,
    pub app_id: Uuid,
    pub requester_id: Uuid,
    pub state: AccessRequestState,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    pub decided_by_id: Option<Uuid>,
}

// Two relations lead to `person`, so there is no `Related<person::Entity>`: join through
// `Relation::Requester` or `Relation::DecidedBy` explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::team_app::Entity",
        from = "(Column::TeamId, Column::AppId)",
        to = "(super::team_app::Column::TeamId, super::team_app::Column::AppId)",
        on_delete = "Cascade"
    )]
    TeamApp,
    #[sea_orm(
        belongs_to = "super::person::Entity",
        from = "Column::RequesterId",
        to = "super::person::Column::Id",
        on_delete = "Cascade"
    )]
    Requester,
    #[sea_orm(
        belongs_to = "super::person::Entity",
        from = "Column::DecidedById",
        to = "super::person::Column::Id",
        on_delete = "SetNull"
    )]
    DecidedBy,
}

impl Related<super::team_app::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TeamApp.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
