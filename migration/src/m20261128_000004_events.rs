//! The event log and saved filters on it: `event`, `event_subject`, `event_filter`.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_people::Person;
use crate::{drop_tables, index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // No foreign keys on event: events outlive the people and objects they describe.
        manager
            .create_table(
                Table::create()
                    .table(Event::Table)
                    .col(pk_uuid(Event::Id))
                    .col(big_integer(Event::Sequence))
                    .col(text(Event::EventType))
                    .col(text(Event::Category))
                    .col(timestamp_with_time_zone(Event::OccurredAt))
                    .col(uuid_null(Event::ActorId))
                    .col(text_null(Event::ActorName))
                    .col(text(Event::Summary))
                    .col(json(Event::Payload))
                    .take(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "uq_event_sequence",
                Event::Table,
                [Event::Sequence],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_event_actor_sequence",
                Event::Table,
                [Event::ActorId, Event::Sequence],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EventSubject::Table)
                    .col(uuid(EventSubject::EventId))
                    .col(big_integer(EventSubject::Sequence))
                    .col(text(EventSubject::Kind))
                    .col(uuid(EventSubject::ObjectId))
                    .col(text(EventSubject::Name))
                    .primary_key(
                        Index::create()
                            .col(EventSubject::EventId)
                            .col(EventSubject::Kind)
                            .col(EventSubject::ObjectId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_event_subject_event")
                            .from(EventSubject::Table, EventSubject::EventId)
                            .to(Event::Table, Event::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_event_subject_kind_object_sequence",
                EventSubject::Table,
                [
                    EventSubject::Kind,
                    EventSubject::ObjectId,
                    EventSubject::Sequence,
                ],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EventFilter::Table)
                    .col(pk_uuid(EventFilter::Id))
                    .col(uuid(EventFilter::PersonId))
                    .col(text(EventFilter::Name))
                    .col(json(EventFilter::Filter))
                    .col(timestamp_with_time_zone(EventFilter::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_event_filter_person")
                            .from(EventFilter::Table, EventFilter::PersonId)
                            .to(Person::Table, Person::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "uq_event_filter_person_name",
                EventFilter::Table,
                [EventFilter::PersonId, EventFilter::Name],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            [
                EventFilter::Table.into_iden(),
                EventSubject::Table.into_iden(),
                Event::Table.into_iden(),
            ],
        )
        .await
    }
}

// `EventType` names the `event_type` column; the enum's name prefix is the column's, not noise.
#[allow(clippy::enum_variant_names)]
#[derive(DeriveIden)]
enum Event {
    Table,
    Id,
    Sequence,
    EventType,
    Category,
    OccurredAt,
    ActorId,
    ActorName,
    Summary,
    Payload,
}

#[derive(DeriveIden)]
enum EventSubject {
    Table,
    EventId,
    Sequence,
    Kind,
    ObjectId,
    Name,
}

#[derive(DeriveIden)]
enum EventFilter {
    Table,
    Id,
    PersonId,
    Name,
    Filter,
    CreatedAt,
}
