//! Backups of the embedded default, an SQLite file, taken while servers run and write
//! (`warren backup --to FILE`), and their restore (`warren restore --from FILE`), refused while
//! any warren process has the database open. PostgreSQL has its own tools (`pg_dump`,
//! `pg_restore`; README, "Backups").
//!
//! Every warren process that opens an SQLite file holds a shared lock on a sibling file
//! (`<database>.lock`, see [`UseLock`]) for as long as its handle lives; a restore takes it
//! exclusively, so it can tell that nobody uses the database before it replaces it. The lock
//! is an advisory `flock`, which the system gives back when a process dies: a crashed server
//! never leaves a stale lock behind. It is not SQLite's own lock: SQLite locks the database file
//! with POSIX record locks, which a process loses as soon as it closes *any* descriptor of that
//! file, so warren never opens the database file itself.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode};
use sea_orm::sqlx::{self, Connection};

use crate::store::db::Db;

/// The SQLite file a database URL names, or `None` for PostgreSQL and in-memory databases.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    if !url.starts_with("sqlite:") || url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let options = SqliteConnectOptions::from_str(url).ok()?;
    Some(options.get_filename().to_path_buf())
}

/// The lock a warren process holds on an SQLite database it uses (shared) or replaces
/// (exclusive); given back when dropped.
#[derive(Debug)]
pub struct UseLock {
    _file: File,
}

impl UseLock {
    fn path(database: &Path) -> PathBuf {
        let mut name = database.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    fn open(database: &Path) -> Result<File, String> {
        let path = UseLock::path(database);
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|err| format!("cannot open {}: {err}", path.display()))
    }

    /// Shares the database with other users; refused while a restore replaces it.
    pub fn shared(database: &Path) -> Result<UseLock, String> {
        let file = UseLock::open(database)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(UseLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(format!(
                "{} is being restored from a backup: try again when that is done",
                database.display()
            )),
            Err(TryLockError::Error(err)) => Err(format!(
                "cannot lock {}: {err}",
                UseLock::path(database).display()
            )),
        }
    }

    /// The database for this process alone, or an error saying that another process uses it.
    pub fn exclusive(database: &Path) -> Result<UseLock, String> {
        let file = UseLock::open(database)?;
        match file.try_lock() {
            Ok(()) => Ok(UseLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(format!(
                "{} is in use by a warren process (a server, or another command): stop it first",
                database.display()
            )),
            Err(TryLockError::Error(err)) => Err(format!(
                "cannot lock {}: {err}",
                UseLock::path(database).display()
            )),
        }
    }
}

/// What a backup file holds, as checked after it was written or before it is restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupContents {
    /// The last event recorded: everything committed up to it is in the file.
    pub last_sequence: i64,
    /// Migrations applied to the file.
    pub migrations: usize,
    /// Migrations this build knows that the file lacks; applied when a server next starts on it.
    pub pending: Vec<String>,
    pub bytes: u64,
}

impl std::fmt::Display for BackupContents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} bytes, events up to sequence {}, {} migrations",
            self.bytes, self.last_sequence, self.migrations
        )?;
        if !self.pending.is_empty() {
            write!(
                f,
                " ({} of this version pending: applied when a server starts on it)",
                self.pending.len()
            )?;
        }
        Ok(())
    }
}

/// Writes a consistent copy of `db` to `to`, a file that must not exist yet, while other
/// connections go on reading and writing: `VACUUM INTO` reads one snapshot (a read transaction,
/// which in WAL mode never blocks the writer) and writes it as a new, compacted database.
/// The copy is synced to disk and checked before this returns.
pub async fn backup(db: &Db, to: &Path) -> Result<BackupContents, String> {
    if db.backend() != sea_orm::DbBackend::Sqlite {
        return Err(
            "warren backup copies an SQLite database; back PostgreSQL up with pg_dump (README, \"Backups\")"
                .to_owned(),
        );
    }
    if to.exists() {
        return Err(format!(
            "{} exists: a backup never overwrites a file",
            to.display()
        ));
    }
    let target = to
        .to_str()
        .ok_or_else(|| format!("{} is not a UTF-8 path", to.display()))?;
    let vacuum = sea_orm::Statement::from_sql_and_values(
        sea_orm::DbBackend::Sqlite,
        "VACUUM INTO ?",
        [target.into()],
    );
    if let Err(err) = sea_orm::ConnectionTrait::execute_raw(&db.conn, vacuum).await {
        // A half-written copy is no backup.
        let _ = std::fs::remove_file(to);
        return Err(format!("backup to {} failed: {err}", to.display()));
    }
    File::open(to)
        .and_then(|file| file.sync_all())
        .map_err(|err| format!("cannot sync {}: {err}", to.display()))?;
    inspect(to).await
}

/// Replaces the SQLite database `database_url` names with the backup `from`, after checking
/// the backup (SQLite's integrity check, and no migration this build does not know). Refused
/// while any warren process uses the database ([`UseLock`]) or any other program has it open.
/// The backup is copied next to the database, synced, and renamed over it, so the database is
/// either the old one or the whole backup, never a mix.
pub async fn restore(database_url: &str, from: &Path) -> Result<BackupContents, String> {
    let database = sqlite_file(database_url).ok_or_else(|| {
        "warren restore replaces an SQLite database; restore PostgreSQL with pg_restore (README, \"Backups\")"
            .to_owned()
    })?;
    let _lock = UseLock::exclusive(&database)?;
    let contents = inspect(from).await?;
    let mut staging = database.as_os_str().to_owned();
    staging.push(".restoring");
    let staging = PathBuf::from(staging);
    std::fs::copy(from, &staging)
        .and_then(|_| File::open(&staging)?.sync_all())
        .map_err(|err| {
            format!(
                "cannot copy {} to {}: {err}",
                from.display(),
                staging.display()
            )
        })?;
    if database.exists()
        && let Err(err) = leave_wal_mode(&database).await
    {
        let _ = std::fs::remove_file(&staging);
        return Err(err);
    }
    std::fs::rename(&staging, &database).map_err(|err| {
        format!(
            "cannot move {} to {}: {err}",
            staging.display(),
            database.display()
        )
    })?;
    if let Some(folder) = database.parent().filter(|p| !p.as_os_str().is_empty()) {
        // The rename itself must survive a crash.
        File::open(folder)
            .and_then(|dir| dir.sync_all())
            .map_err(|err| format!("cannot sync {}: {err}", folder.display()))?;
    }
    Ok(contents)
}

/// Folds the database's write-ahead log into it and leaves WAL mode, which SQLite allows only to
/// the one connection open: proof that no other program uses the file, and no `-wal` or `-shm`
/// of the old database is left for SQLite to apply to the restored one.
async fn leave_wal_mode(database: &Path) -> Result<(), String> {
    let in_use = |err: sqlx::Error| {
        format!(
            "{} is open in another program (or cannot be read: {err}); close it first",
            database.display()
        )
    };
    let options = SqliteConnectOptions::new()
        .filename(database)
        .busy_timeout(Duration::from_secs(1))
        .journal_mode(SqliteJournalMode::Delete);
    let connection = SqliteConnection::connect_with(&options)
        .await
        .map_err(in_use)?;
    connection.close().await.map_err(in_use)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = database.as_os_str().to_owned();
        side.push(suffix);
        let side = PathBuf::from(side);
        if side.exists() {
            return Err(format!(
                "{} is still there: {} is open in another program; close it first",
                side.display(),
                database.display()
            ));
        }
    }
    Ok(())
}

/// Reads a backup without changing it (the file is opened read-only and immutable: no lock, no
/// journal) and checks that it is whole and that this build can run on it.
pub async fn inspect(file: &Path) -> Result<BackupContents, String> {
    let bytes = std::fs::metadata(file)
        .map_err(|err| format!("cannot read {}: {err}", file.display()))?
        .len();
    let not_a_backup =
        |err: sqlx::Error| format!("{} is not a warren SQLite database: {err}", file.display());
    let options = SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .immutable(true);
    let mut connection = SqliteConnection::connect_with(&options)
        .await
        .map_err(not_a_backup)?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut connection)
        .await
        .map_err(not_a_backup)?;
    if integrity != "ok" {
        return Err(format!(
            "{} is damaged (SQLite's integrity check: {integrity})",
            file.display()
        ));
    }
    let applied: Vec<String> = sqlx::query_scalar("SELECT version FROM seaql_migrations")
        .fetch_all(&mut connection)
        .await
        .map_err(not_a_backup)?;
    let known: Vec<String> = Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect();
    if let Some(unknown) = applied.iter().find(|name| !known.contains(name)) {
        return Err(format!(
            "{} was written by a newer warren (migration {unknown} is unknown to this one)",
            file.display()
        ));
    }
    let last_sequence: i64 = if applied.is_empty() {
        0
    } else {
        sqlx::query_scalar("SELECT COALESCE(MAX(sequence), 0) FROM event")
            .fetch_one(&mut connection)
            .await
            .map_err(not_a_backup)?
    };
    let _ = connection.close().await;
    Ok(BackupContents {
        last_sequence,
        migrations: applied.len(),
        pending: known
            .into_iter()
            .filter(|name| !applied.contains(name))
            .collect(),
        bytes,
    })
}
