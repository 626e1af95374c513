//! Bulk loading of rows: `COPY … FROM STDIN` on PostgreSQL, multi-row `INSERT`s elsewhere.
//!
//! Only the bench world (`seed bench`) writes this way. At scale 1,000 it is some ten million
//! rows; PostgreSQL parses and plans an `INSERT` of 200 rows for every 200 rows, while COPY
//! streams them in its text format through one statement per batch. sea-orm has no COPY, and
//! its transactions do not lend their connection: on PostgreSQL the writer holds its own
//! transaction on a connection of the same pool (so the session settings of `db` apply).

use sea_orm::sqlx::{self, Postgres};
use sea_orm::{
    ActiveModelTrait, DatabaseTransaction, DbErr, EntityName, EntityTrait, IdenStatic, Iterable,
    RuntimeErr, Value,
};

use crate::store::db::Db;

/// Rows per `INSERT` where COPY is not available: well under SQLite's and PostgreSQL's
/// bound-parameter limits.
const INSERT_CHUNK: usize = 200;

/// Where a bulk load writes: one transaction either way, committed by [`BulkWriter::commit`].
pub enum BulkWriter {
    /// PostgreSQL: COPY on a connection of the pool, in its own transaction.
    Copy(sqlx::Transaction<'static, Postgres>),
    /// SQLite: batched `INSERT`s in a write transaction.
    Insert(DatabaseTransaction),
}

impl BulkWriter {
    /// Whether loads into `db` go by COPY ([`BulkWriter::copy`]) rather than by `INSERT`s in
    /// a write transaction the caller begins ([`BulkWriter::Insert`], see
    /// `rules::change::begin_write`).
    pub fn copies(db: &Db) -> bool {
        db.backend() == sea_orm::DbBackend::Postgres
    }

    /// Opens COPY's transaction on a connection of `db`'s PostgreSQL pool.
    pub async fn copy(db: &Db) -> Result<BulkWriter, DbErr> {
        if !Self::copies(db) {
            return Err(DbErr::Custom("COPY needs PostgreSQL".to_owned()));
        }
        let pool = db.conn.get_postgres_connection_pool();
        let mut tx = pool.begin().await.map_err(sqlx_err)?;
        // The service's sessions stop a statement after `STATEMENT_TIMEOUT`; a COPY of 300,000
        // apps at scale 1,000 takes longer, and an operator's command that loads what they
        // asked for is not a request to bound. For this transaction only.
        sqlx::query("SET LOCAL statement_timeout = 0")
            .execute(&mut *tx)
            .await
            .map_err(sqlx_err)?;
        Ok(BulkWriter::Copy(tx))
    }

    /// The highest event sequence written so far (0 on an empty log): a bench world needs an
    /// empty database.
    pub async fn last_sequence(&mut self) -> Result<i64, DbErr> {
        const SQL: &str = "SELECT COALESCE(MAX(sequence), 0) AS last FROM event";
        match self {
            BulkWriter::Copy(tx) => {
                let last: i64 = sqlx::query_scalar(SQL)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(sqlx_err)?;
                Ok(last)
            }
            BulkWriter::Insert(txn) => {
                use sea_orm::ConnectionTrait;
                let row = txn
                    .query_one_raw(sea_orm::Statement::from_string(
                        txn.get_database_backend(),
                        SQL,
                    ))
                    .await?
                    .ok_or_else(|| DbErr::RecordNotFound("the last sequence".to_owned()))?;
                row.try_get("", "last")
            }
        }
    }

    /// Writes `rows`, all of one table, each with the same columns set.
    pub async fn write<A>(&mut self, rows: Vec<A>) -> Result<(), DbErr>
    where
        A: ActiveModelTrait + Send,
    {
        if rows.is_empty() {
            return Ok(());
        }
        match self {
            BulkWriter::Copy(tx) => {
                let (statement, data) = copy_text(&rows)?;
                let mut copy = tx.copy_in_raw(&statement).await.map_err(sqlx_err)?;
                if let Err(err) = copy.send(data).await {
                    // The server still waits for the data's end: tell it the COPY failed, so
                    // the connection is usable for the rollback.
                    let _ = copy.abort(err.to_string()).await;
                    return Err(sqlx_err(err));
                }
                copy.finish().await.map_err(sqlx_err)?;
                Ok(())
            }
            BulkWriter::Insert(txn) => {
                let mut rows = rows.into_iter().peekable();
                while rows.peek().is_some() {
                    let chunk: Vec<A> = rows.by_ref().take(INSERT_CHUNK).collect();
                    <A::Entity as EntityTrait>::insert_many(chunk)
                        .exec_without_returning(&*txn)
                        .await?;
                }
                Ok(())
            }
        }
    }

    /// Commits everything written.
    pub async fn commit(self) -> Result<(), DbErr> {
        match self {
            BulkWriter::Copy(tx) => tx.commit().await.map_err(sqlx_err),
            BulkWriter::Insert(txn) => txn.commit().await,
        }
    }
}

fn sqlx_err(err: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(std::sync::Arc::new(err)))
}

/// The `COPY table (columns) FROM STDIN` statement for `rows` and their data in COPY's text
/// format. The columns are those the first row sets; every row must set the same ones (a
/// column left unset would take its default in one row and not in another).
fn copy_text<A: ActiveModelTrait>(rows: &[A]) -> Result<(String, Vec<u8>), DbErr> {
    let columns: Vec<_> = <A::Entity as EntityTrait>::Column::iter()
        .filter(|column| rows[0].get(*column).is_set())
        .collect();
    let table = <A::Entity as Default>::default().table_name().to_owned();
    let names: Vec<String> = columns
        .iter()
        .map(|column| quote_identifier(column.as_str()))
        .collect();
    let statement = format!(
        "COPY {} ({}) FROM STDIN",
        quote_identifier(&table),
        names.join(", ")
    );
    let mut data = Vec::with_capacity(rows.len() * 64 * columns.len().max(1));
    for row in rows {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                data.push(b'\t');
            }
            let value = row.get(*column).into_value().ok_or_else(|| {
                DbErr::Custom(format!(
                    "COPY into {table}: a row leaves {} unset",
                    column.as_str()
                ))
            })?;
            push_value(&mut data, &value)
                .map_err(|kind| DbErr::Custom(format!("COPY into {table}: {kind} values")))?;
        }
        data.push(b'\n');
    }
    Ok((statement, data))
}

fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Appends `value` in COPY's text format: `\N` for NULL, text with backslash, tab, newline and
/// carriage return escaped. The kinds of value the entities use; any other is refused by name.
fn push_value(out: &mut Vec<u8>, value: &Value) -> Result<(), &'static str> {
    const NULL: &[u8] = b"\\N";
    match value {
        Value::Bool(v) => match v {
            Some(b) => out.push(if *b { b't' } else { b'f' }),
            None => out.extend_from_slice(NULL),
        },
        Value::SmallInt(v) => push_display(out, v.as_ref()),
        Value::Int(v) => push_display(out, v.as_ref()),
        Value::BigInt(v) => push_display(out, v.as_ref()),
        Value::String(v) => match v {
            Some(text) => push_text(out, text),
            None => out.extend_from_slice(NULL),
        },
        Value::Uuid(v) => push_display(out, v.as_ref().map(|u| u.hyphenated())),
        Value::ChronoDateTimeUtc(v) => push_display(
            out,
            v.as_ref()
                .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        ),
        Value::Json(v) => match v {
            Some(json) => push_text(out, &json.to_string()),
            None => out.extend_from_slice(NULL),
        },
        _ => return Err("unsupported"),
    }
    Ok(())
}

fn push_display(out: &mut Vec<u8>, value: Option<impl std::fmt::Display>) {
    use std::io::Write;
    match value {
        // Writing into a Vec cannot fail.
        Some(value) => {
            let _ = write!(out, "{value}");
        }
        None => out.extend_from_slice(b"\\N"),
    }
}

fn push_text(out: &mut Vec<u8>, text: &str) {
    for byte in text.bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: Value) -> String {
        let mut out = Vec::new();
        push_value(&mut out, &value).expect("a supported value");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn values_are_written_in_copy_text_format() {
        assert_eq!(
            text(Value::String(Some("a\tb\\c\nd\re".into()))),
            "a\\tb\\\\c\\nd\\re"
        );
        assert_eq!(text(Value::String(None)), "\\N");
        assert_eq!(text(Value::BigInt(Some(-42))), "-42");
        assert_eq!(text(Value::Bool(Some(false))), "f");
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00.123456Z")
            .expect("a timestamp")
            .with_timezone(&chrono::Utc);
        assert_eq!(
            text(Value::ChronoDateTimeUtc(Some(at))),
            "2026-12-07T10:00:00.123456Z"
        );
        assert_eq!(
            text(Value::Json(Some(Box::new(
                serde_json::json!({"a": "x\ny"})
            )))),
            "{\"a\":\"x\\\\ny\"}"
        );
        assert!(push_value(&mut Vec::new(), &Value::Double(Some(1.0))).is_err());
    }
}
