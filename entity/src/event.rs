//! `event`: an entry in the append-only event log, ordered by `sequence`. Deliberately without
//! foreign keys: events outlive what they describe, hence the copied `actor_name`.

use sea_orm::entity::prelude::*;

use crate::enums::EventCategory;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub sequence: i64,
    #[sea_orm(column_type = "Text")]
    pub event_type: String,
    pub category: EventCategory,
    pub occurred_at: DateTimeUtc,
    pub actor_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub actor_name: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub summary: String,
    pub payload: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
