//! Hand-built SQL for the batched statements behind every edge: one `IN (...)` query per batch
//! of parents, a window function for per-parent pages, `GROUP BY` for per-parent counts.
//! The text is plain SQL that SQLite and PostgreSQL both accept; only placeholders differ.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};
use uuid::Uuid;

use crate::store::db::Db;
use crate::store::page::{CursorKey, PageArgs};

/// A statement under construction, binding values as it goes.
pub struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(backend: DbBackend) -> Self {
        Sql {
            backend,
            text: String::new(),
            values: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => {
                let n = self.values.len();
                self.text.push_str(&format!("${n}"));
            }
            _ => self.text.push('?'),
        }
        self
    }

    /// `(v1, v2, ...)`; an empty list becomes `(NULL)`, which matches nothing.
    pub fn bind_list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.text.push('(');
        let mut empty = true;
        for value in values {
            if !empty {
                self.text.push_str(", ");
            }
            self.bind(value);
            empty = false;
        }
        if empty {
            self.text.push_str("NULL");
        }
        self.text.push(')');
        self
    }

    pub fn statement(&mut self) -> Statement {
        Statement::from_sql_and_values(
            self.backend,
            std::mem::take(&mut self.text),
            std::mem::take(&mut self.values),
        )
    }
}

/// How one edge is stored: the rows to read, the column naming the parent, and the key the
/// edge is ordered and paged by (a UUID v7 id, so creation order; or an event sequence).
pub struct EdgeSql {
    /// The list it is, as `Type.field`: its cursors name it (`api::cursor::encode`).
    pub list: &'static str,
    /// The edge's rows: a join table aliased `e`, or the node table itself aliased `n`.
    pub from: &'static str,
    /// The join from a join table's rows to their nodes (`JOIN team n ON n.id = e.team_id`),
    /// or "". It must find exactly one node per row (a foreign key to the node's primary key):
    /// counts leave it out when no condition refers to `n`.
    pub node: &'static str,
    pub parent: &'static str,
    pub key: &'static str,
    /// The node's columns, then edge columns aliased `edge_*`.
    pub select: &'static str,
    /// A condition that always applies (e.g. only pending invitations), or "".
    pub condition: &'static str,
}

/// A `keys::EdgeFilter` with its values (`Reach::edge_filter_values`): the ids the viewer's reach allows, the state
/// argument's column and value, ready to bind into an edge's statements.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EdgeFilterValues {
    pub only_ids: Option<(&'static str, Vec<Uuid>)>,
    pub equals: Option<(&'static str, &'static str)>,
}

impl EdgeFilterValues {
    fn apply(&self, sql: &mut Sql) {
        if let Some((column, ids)) = &self.only_ids {
            sql.push(" AND ")
                .push(column)
                .push(" IN ")
                .bind_list(ids.iter().copied());
        }
        if let Some((column, value)) = &self.equals {
            sql.push(" AND ").push(column).push(" = ").bind(*value);
        }
    }
}

/// One page of an edge for one parent.
#[derive(Clone, Default)]
pub struct Page {
    pub rows: Vec<PageRow>,
    pub has_next: bool,
    pub has_previous: bool,
}

/// A row of a page with the key its cursor is made of.
#[derive(Clone)]
pub struct PageRow {
    pub key: CursorKey,
    pub row: std::sync::Arc<QueryResult>,
}

fn cursor_value(key: CursorKey) -> Value {
    match key {
        CursorKey::Id(id) => id.into(),
        CursorKey::Sequence(seq) => seq.into(),
    }
}

fn read_key(row: &QueryResult, sequence: bool) -> Result<CursorKey, DbErr> {
    Ok(if sequence {
        CursorKey::Sequence(row.try_get("", "page_key")?)
    } else {
        CursorKey::Id(row.try_get("", "page_key")?)
    })
}

/// Whether SQL text names a column of the node alias `n` (`n.` not preceded by a letter, digit
/// or underscore).
fn refers_to_node(text: &str) -> bool {
    text.match_indices("n.").any(|(at, _)| {
        !text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

impl EdgeSql {
    fn push_from_where(
        &self,
        sql: &mut Sql,
        parents: &[Uuid],
        filter_values: &EdgeFilterValues,
        with_node: bool,
    ) {
        sql.push(" FROM ").push(self.from);
        if with_node && !self.node.is_empty() {
            sql.push(" ").push(self.node);
        }
        sql.push(" WHERE ")
            .push(self.parent)
            .push(" IN ")
            .bind_list(parents.iter().copied());
        if !self.condition.is_empty() {
            sql.push(" AND ").push(self.condition);
        }
        filter_values.apply(sql);
    }

    /// One page per parent, for all `parents` in one statement.
    pub async fn pages(
        &self,
        db: &Db,
        parents: &[Uuid],
        args: &PageArgs,
        filter_values: &EdgeFilterValues,
        sequence_key: bool,
    ) -> Result<HashMap<Uuid, Page>, DbErr> {
        let direction = if args.backward { "DESC" } else { "ASC" };
        let mut sql = Sql::new(db.backend());
        sql.push("SELECT * FROM (SELECT ")
            .push(self.parent)
            .push(" AS page_parent, ")
            .push(self.key)
            .push(" AS page_key, ")
            .push(self.select)
            .push(", ROW_NUMBER() OVER (PARTITION BY ")
            .push(self.parent)
            .push(" ORDER BY ")
            .push(self.key)
            .push(" ")
            .push(direction)
            .push(") AS page_row");
        self.push_from_where(&mut sql, parents, filter_values, true);
        if let Some(after) = args.after {
            sql.push(" AND ")
                .push(self.key)
                .push(" > ")
                .bind(cursor_value(after));
        }
        if let Some(before) = args.before {
            sql.push(" AND ")
                .push(self.key)
                .push(" < ")
                .bind(cursor_value(before));
        }
        // One row more than asked tells whether another page follows. The key is unique per
        // parent (cursors depend on it), so ordering by it gives the rows' order; unlike the row
        // number, it lets the database reuse the window's sort.
        sql.push(") page WHERE page_row <= ")
            .bind(i64::try_from(args.limit + 1).unwrap_or(i64::MAX))
            .push(" ORDER BY page_parent, page_key ")
            .push(direction);

        let mut pages: HashMap<Uuid, Page> = HashMap::new();
        for row in db.conn.query_all_raw(sql.statement()).await? {
            let parent: Uuid = row.try_get("", "page_parent")?;
            let key = read_key(&row, sequence_key)?;
            pages.entry(parent).or_default().rows.push(PageRow {
                key,
                row: std::sync::Arc::new(row),
            });
        }
        for page in pages.values_mut() {
            let more = page.rows.len() as u64 > args.limit;
            page.rows.truncate(args.limit as usize);
            if args.backward {
                page.rows.reverse();
                page.has_previous = more;
                page.has_next = args.before.is_some();
            } else {
                page.has_next = more;
                page.has_previous = args.after.is_some();
            }
        }
        Ok(pages)
    }

    /// The number of rows per parent, for all `parents` in one statement.
    pub async fn counts(
        &self,
        db: &Db,
        parents: &[Uuid],
        filter_values: &EdgeFilterValues,
    ) -> Result<HashMap<Uuid, i64>, DbErr> {
        let mut sql = Sql::new(db.backend());
        sql.push("SELECT ")
            .push(self.parent)
            .push(" AS page_parent, COUNT(*) AS page_count");
        // Each row of a join table has exactly one node, so the join only matters to counts
        // when a condition looks at the node.
        let with_node = refers_to_node(self.condition)
            || filter_values
                .only_ids
                .as_ref()
                .is_some_and(|(column, _)| refers_to_node(column))
            || filter_values
                .equals
                .as_ref()
                .is_some_and(|(column, _)| refers_to_node(column));
        self.push_from_where(&mut sql, parents, filter_values, with_node);
        sql.push(" GROUP BY ").push(self.parent);
        let mut counts = HashMap::new();
        for row in db.conn.query_all_raw(sql.statement()).await? {
            counts.insert(
                row.try_get::<Uuid>("", "page_parent")?,
                row.try_get::<i64>("", "page_count")?,
            );
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::refers_to_node;

    #[test]
    fn a_condition_refers_to_the_node_only_through_its_alias() {
        assert!(refers_to_node("n.state = 'PENDING'"));
        assert!(refers_to_node("(n.id)"));
        assert!(refers_to_node("e.kind = 'A' AND n.kind = 'B'"));
        assert!(!refers_to_node(""));
        assert!(!refers_to_node("e.team_id"));
        assert!(!refers_to_node("pn.id = e.id AND tm.role = 'UNLIMITED'"));
        assert!(!refers_to_node("revoked_at IS NULL"));
    }
}
