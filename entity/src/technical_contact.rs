//! `technical_contact`: a developer of an app who is also its technical contact.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "technical_contact")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub app_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub person_id: Uuid,
    pub since: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Only a connected developer can be a technical contact; losing the connection ends it.
    #[sea_orm(
        belongs_to = "super::developer_connection::Entity",
        from = "(Column::PersonId, Column::AppId)",
        to = "(super::developer_connection::Column::PersonId, super::developer_connection::Column::AppId)",
        on_delete = "Cascade"
    )]
    DeveloperConnection,
}

impl Related<super::developer_connection::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::DeveloperConnection.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
