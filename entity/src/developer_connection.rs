//! `developer_connection`: a person's developer access to an app, direct (`team_id` is None)
//! or through a team. At most one per person and app.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "developer_connection")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub person_id: Uuid,
    pub app_id: Uuid,
    pub team_id: Option<Uuid>,
    pub connected_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::person::Entity",
        from = "Column::PersonId",
        to = "super::person::Column::Id",
        on_delete = "Cascade"
    )]
    Person,
    #[sea_orm(
        belongs_to = "super::app::Entity",
        from = "Column::AppId",
        to = "super::app::Column::Id",
        on_delete = "Cascade"
    )]
    App,
    #[sea_orm(
        belongs_to = "super::team::Entity",
        from = "Column::TeamId",
        to = "super::team::Column::Id",
        on_delete = "Cascade"
    )]
    Team,
    /// The team's link to the app a team connection goes through.
    #[sea_orm(
        belongs_to = "super::team_app::Entity",
        from = "(Column::TeamId, Column::AppId)",
        to = "(super::team_app::Column::TeamId, super::team_app::Column::AppId)",
        on_delete = "Cascade"
    )]
    TeamApp,
    /// The membership a team connection goes through.
    #[sea_orm(
        belongs_to = "super::team_member::Entity",
        from = "(Column::TeamId, Column::PersonId)",
        to = "(super::team_member::Column::TeamId, super::team_member::Column::PersonId)",
        on_delete = "Cascade"
    )]
    TeamMember,
}

impl Related<super::person::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Person.def()
    }
}

impl Related<super::app::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::App.def()
    }
}

impl Related<super::team::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Team.def()
    }
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
