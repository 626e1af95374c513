//! `event_subject`: an object an event concerns, with its name at that moment. `sequence`,
//! `category` and `event_type` repeat the event's, so an object's history is read from one
//! index, and whether a viewer sees an event found there is decided without the event's row.

use sea_orm::entity::prelude::*;

use crate::enums::EventCategory;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_subject")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: Uuid,
    pub sequence: i64,
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub kind: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub object_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    /// The event's category (events are never rewritten, so the copy cannot drift).
    pub category: EventCategory,
    /// The event's type.
    #[sea_orm(column_type = "Text")]
    pub event_type: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::event::Entity",
        from = "Column::EventId",
        to = "super::event::Column::Id",
        on_delete = "Cascade"
    )]
    Event,
}

impl Related<super::event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Event.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
