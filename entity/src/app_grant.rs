//! `app_grant`: a team member's standing right to one of the team's apps.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "app_grant")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub team_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub app_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub person_id: Uuid,
    pub created_at: DateTimeUtc,
}

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
        belongs_to = "super::team_member::Entity",
        from = "(Column::TeamId, Column::PersonId)",
        to = "(super::team_member::Column::TeamId, super::team_member::Column::PersonId)",
        on_delete = "Cascade"
    )]
    TeamMember,
}

impl Related<super::team_app::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TeamApp.def()
    }
}

impl Related<super::team_member::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TeamMember.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
