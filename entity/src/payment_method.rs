//! `payment_method`: a way to pay for apps.

use sea_orm::entity::prelude::*;

use crate::enums::PaymentType;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_method")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub label: String,
    pub payment_type: PaymentType,
    #[sea_orm(column_type = "Text")]
    pub invoice_email: String,
    #[sea_orm(column_type = "Text")]
    pub invoice_address: String,
    #[sea_orm(column_type = "Text")]
    pub vat_id: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
