//! `invitation`: an invitation sent to an email address; only a hash of the secret is stored.
//! Which of `team_id`, `app_id` and `payment_method_id` is set depends on the kind.

use sea_orm::entity::prelude::*;

use crate::enums::{InvitationKind, InvitationState, TeamRole};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: InvitationKind,
    pub state: InvitationState,
    #[sea_orm(column_type = "Text")]
    pub email: String,
    pub role: Option<TeamRole>,
    pub inviter_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub app_id: Option<Uuid>,
    pub payment_method_id: Option<Uuid>,
    #[sea_orm(column_type = "Text", unique)]
    pub secret_hash: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    pub decided_by_id: Option<Uuid>,
}

// Two relations lead to `person`, so there is no `Related<person::Entity>`: join through
// `Relation::Inviter` or `Relation::DecidedBy` explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::person::Entity",
        from = "Column::InviterId",
        to = "super::person::Column::Id",
        on_delete = "SetNull"
    )]
    Inviter,
    #[sea_orm(
        belongs_to = "super::person::Entity",
        from = "Column::DecidedById",
        to = "super::person::Column::Id",
        on_delete = "SetNull"
    )]
    DecidedBy,
    #[sea_orm(
        belongs_to = "super::team::Entity",
        from = "Column::TeamId",
        to = "super::team::Column::Id",
        on_delete = "Cascade"
    )]
    Team,
    #[sea_orm(
        belongs_to = "super::app::Entity",
        from = "Column::AppId",
        to = "super::app::Column::Id",
        on_delete = "Cascade"
    )]
    App,
    #[sea_orm(
        belongs_to = "super::payment_method::Entity",
        from = "Column::PaymentMethodId",
        to = "super::payment_method::Column::Id",
        on_delete = "Cascade"
    )]
    PaymentMethod,
}

impl Related<super::team::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Team.def()
    }
}

impl Related<super::app::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::App.def()
    }
}

impl Related<super::payment_method::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PaymentMethod.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
