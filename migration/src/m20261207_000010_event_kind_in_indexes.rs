//! Each event subject carries its event's category and type, and both the subjects' index and
//! the actor index end with them (docs/data-model.md).
//!
//! Which events a viewer sees is decided from candidates found in those two indexes
//! (docs/architecture.md, "Reads that follow the viewer's share"): the sequences of the events
//! the viewer did and of those about an object it reaches. The rule then needs each candidate's
//! category and type; without them in the index, a count read every candidate's event row, so
//! its cost grew with the size of the log's B-tree rather than with the viewer's share. An
//! event is never rewritten, so the copies cannot drift from the event's own columns.

use sea_orm_migration::prelude::*;

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD_SUBJECT_INDEX: &str = "idx_event_subject_kind_object_sequence";
const SUBJECT_INDEX: &str = "idx_event_subject_kind_object_sequence_category_type";
const OLD_ACTOR_INDEX: &str = "idx_event_actor_sequence";
const ACTOR_INDEX: &str = "idx_event_actor_sequence_category_type";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds a NOT NULL column only with a default, and one column per statement.
        // The default serves only the backfill below: every writer sets both columns.
        for column in [EventSubject::Category, EventSubject::EventType] {
            manager
                .alter_table(
                    Table::alter()
                        .table(EventSubject::Table)
                        .add_column(ColumnDef::new(column).text().not_null().default(""))
                        .take(),
                )
                .await?;
        }
        // `UPDATE … FROM` is understood by PostgreSQL and by SQLite since 3.33.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE event_subject SET category = e.category, event_type = e.event_type \
                 FROM event e WHERE e.id = event_subject.event_id",
            )
            .await?;
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            // SQLite cannot drop a default; PostgreSQL can, so that a writer that forgot the
            // columns fails there instead of writing an empty category.
            for column in ["category", "event_type"] {
                manager
                    .get_connection()
                    .execute_unprepared(&format!(
                        "ALTER TABLE event_subject ALTER COLUMN {column} DROP DEFAULT"
                    ))
                    .await?;
            }
        }

        manager
            .create_index(index(
                SUBJECT_INDEX,
                EventSubject::Table,
                [
                    EventSubject::Kind,
                    EventSubject::ObjectId,
                    EventSubject::Sequence,
                    EventSubject::Category,
                    EventSubject::EventType,
                ],
            ))
            .await?;
        drop_index(manager, OLD_SUBJECT_INDEX, EventSubject::Table).await?;
        manager
            .create_index(index(
                ACTOR_INDEX,
                Event::Table,
                [
                    Event::ActorId,
                    Event::Sequence,
                    Event::Category,
                    Event::EventType,
                ],
            ))
            .await?;
        drop_index(manager, OLD_ACTOR_INDEX, Event::Table).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index(
                OLD_ACTOR_INDEX,
                Event::Table,
                [Event::ActorId, Event::Sequence],
            ))
            .await?;
        drop_index(manager, ACTOR_INDEX, Event::Table).await?;
        manager
            .create_index(index(
                OLD_SUBJECT_INDEX,
                EventSubject::Table,
                [
                    EventSubject::Kind,
                    EventSubject::ObjectId,
                    EventSubject::Sequence,
                ],
            ))
            .await?;
        drop_index(manager, SUBJECT_INDEX, EventSubject::Table).await?;
        for column in [EventSubject::EventType, EventSubject::Category] {
            manager
                .alter_table(
                    Table::alter()
                        .table(EventSubject::Table)
                        .drop_column(column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}

async fn drop_index<T: Iden + 'static>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
) -> Result<(), DbErr> {
    manager
        .drop_index(Index::drop().name(name).table(table).to_owned())
        .await
}

// `EventType` names the `event_type` column; the enum's name prefix is the column's, not noise.
#[allow(clippy::enum_variant_names)]
#[derive(DeriveIden)]
enum Event {
    Table,
    Sequence,
    EventType,
    Category,
    ActorId,
}

#[derive(DeriveIden)]
enum EventSubject {
    Table,
    Sequence,
    Kind,
    ObjectId,
    Category,
    EventType,
}
