//! The SQLite file: one writer thread with group commit, and a pool of read connections.
//!
//! Acknowledged means durable: a write's caller gets its answer only after the transaction
//! holding it has committed with `synchronous = FULL` in WAL mode, so it survives `kill -9`
//! and power loss. To keep that cheap under many benches, the writer takes every job waiting
//! in its queue, runs each inside its own savepoint (one failing job does not undo the
//! others), and commits them all with one fsync. Fifty benches scanning at once therefore
//! cost one commit per batch, not one per scan.
//!
//! Checkpoints (copying the WAL back into the database: many page writes and two fsyncs)
//! run on a checkpointer thread with its own connection, not in the writer: done inline
//! they stalled every bench for 3 to 8 ms several times a second under load.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use super::StorageError;

/// A unit of work for the writer: runs against the open transaction (or, given `None`, is
/// told its transaction could not begin) and returns what to do once the commit outcome is
/// known.
type Job = Box<dyn FnOnce(Option<&Connection>) -> Completion + Send>;
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;

/// The most jobs committed together; bounds the latency of the first job in a batch.
const MAX_BATCH: usize = 512;

/// Numbered migrations, embedded; `user_version` records how many have run.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("migrations/0001_init.sql")),
    (
        "0002_label_job",
        include_str!("migrations/0002_label_job.sql"),
    ),
    ("0003_ledger", include_str!("migrations/0003_ledger.sql")),
    (
        "0004_handover",
        include_str!("migrations/0004_handover.sql"),
    ),
    ("0005_waves", include_str!("migrations/0005_waves.sql")),
    ("0006_returns", include_str!("migrations/0006_returns.sql")),
    (
        "0007_ledger_posting",
        include_str!("migrations/0007_ledger_posting.sql"),
    ),
    (
        "0008_stocktake",
        include_str!("migrations/0008_stocktake.sql"),
    ),
    ("0009_archive", include_str!("migrations/0009_archive.sql")),
    ("0010_bills", include_str!("migrations/0010_bills.sql")),
    ("0011_camera", include_str!("migrations/0011_camera.sql")),
];

#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    readers: Mutex<Vec<Connection>>,
}

fn set_pragmas(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "busy_timeout", 5000)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Every statement of the hot paths stays prepared (rusqlite keeps 16 by default).
    conn.set_prepared_statement_cache_capacity(256);
    Ok(())
}

/// Opens a connection with the pragmas every writer uses (also used by the benchmark's bare
/// insert loop, so both are measured with the same settings).
pub fn open_durable(path: &Path) -> Result<Connection, StorageError> {
    let conn = Connection::open(path)?;
    set_pragmas(&conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StorageError> {
    let done: usize =
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    if done > MIGRATIONS.len() {
        return Err(StorageError::Schema(format!(
            "the database has schema version {done}, newer than this packbench knows ({}); \
             use a newer packbench",
            MIGRATIONS.len()
        )));
    }
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .map_err(|e| StorageError::Schema(format!("migration {name}: {e}")))?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(migration = name, "applied");
    }
    Ok(())
}

impl Db {
    /// Opens (creating if needed) `DIR/packbench.sqlite3`, runs migrations and starts the
    /// writer thread.
    pub fn open(dir: &Path) -> Result<Db, StorageError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StorageError::Io(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join("packbench.sqlite3");
        let mut conn = open_durable(&path)?;
        migrate(&mut conn)?;
        // The checkpointer thread copies the WAL back, off the writer's path.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let mut checkpointer = open_durable(&path)?;
        checkpointer.pragma_update(None, "wal_autocheckpoint", 0)?;
        let wal = wal_path(&path);
        std::thread::Builder::new()
            .name("db-checkpoint".into())
            .spawn(move || checkpoint_loop(&mut checkpointer, &wal))
            .map_err(|e| StorageError::Io(e.to_string()))?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("db-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| StorageError::Io(e.to_string()))?;
        Ok(Db {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(Some(tx)),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn submit<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StorageError> + Send + 'static,
    ) -> oneshot::Receiver<Result<R, StorageError>> {
        let (reply, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn: Option<&Connection>| -> Completion {
            let outcome = match conn {
                Some(conn) => run_in_savepoint(conn, f),
                None => Err(StorageError::Commit(
                    "the write transaction could not begin".into(),
                )),
            };
            Box::new(move |commit: Result<(), String>| {
                let result = match commit {
                    Ok(()) => outcome,
                    Err(e) => Err(StorageError::Commit(e)),
                };
                let _ = reply.send(result);
            })
        });
        let sender = self.inner.writer.lock().expect("writer lock").clone();
        match sender {
            Some(s) if s.send(job).is_ok() => {}
            // The writer is gone (shut down or panicked): the receiver reports it.
            _ => {}
        }
        rx
    }

    /// Runs `f` in the writer's transaction and returns once it is committed.
    pub async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StorageError> + Send + 'static,
    ) -> Result<R, StorageError> {
        self.submit(f)
            .await
            .unwrap_or(Err(StorageError::WriterGone))
    }

    /// [`Db::write`] for code outside the async runtime (the CLI).
    pub fn write_blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StorageError> + Send + 'static,
    ) -> Result<R, StorageError> {
        self.submit(f)
            .blocking_recv()
            .unwrap_or(Err(StorageError::WriterGone))
    }

    fn take_reader(&self) -> Result<Connection, StorageError> {
        if let Some(c) = self.inner.readers.lock().expect("reader pool").pop() {
            return Ok(c);
        }
        let c = Connection::open_with_flags(
            &self.inner.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        c.pragma_update(None, "busy_timeout", 5000)?;
        Ok(c)
    }

    fn give_reader(&self, c: Connection) {
        let mut pool = self.inner.readers.lock().expect("reader pool");
        if pool.len() < 8 {
            pool.push(c);
        }
    }

    /// Runs a read on a pooled read-only connection (blocking; call from the CLI or inside
    /// `spawn_blocking`).
    pub fn read_blocking<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StorageError>,
    ) -> Result<R, StorageError> {
        let c = self.take_reader()?;
        let r = f(&c);
        self.give_reader(c);
        r
    }

    /// Runs a read off the async runtime's worker threads.
    pub async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StorageError> + Send + 'static,
    ) -> Result<R, StorageError> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.read_blocking(f))
            .await
            .map_err(|e| StorageError::Io(e.to_string()))?
    }
}

fn run_in_savepoint<R>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<R, StorageError>,
) -> Result<R, StorageError> {
    conn.execute_batch("SAVEPOINT job")?;
    match f(conn) {
        Ok(r) => {
            conn.execute_batch("RELEASE job")?;
            Ok(r)
        }
        Err(e) => {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
            Err(e)
        }
    }
}

fn wal_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-wal");
    PathBuf::from(p)
}

/// Above this size the checkpointer copies the WAL back into the database (SQLite's own
/// default is 1,000 pages of 4 KiB).
const CHECKPOINT_WAL_BYTES: u64 = 4 << 20;
/// How often the checkpointer looks at the WAL's size.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Copies the WAL back into the database whenever it has grown past
/// [`CHECKPOINT_WAL_BYTES`]. A passive checkpoint never blocks the writer; once a checkpoint
/// has copied everything, the writer's next transaction starts the WAL over from its
/// beginning, so the file stays bounded. Stops when the database has been closed.
fn checkpoint_loop(conn: &mut Connection, wal: &Path) {
    loop {
        std::thread::sleep(CHECKPOINT_EVERY);
        match std::fs::metadata(wal) {
            Ok(m) if m.len() >= CHECKPOINT_WAL_BYTES => {}
            Ok(_) => continue,
            // Gone: the database was closed cleanly (the last connection checkpoints it).
            Err(_) => return,
        }
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "checkpoint failed; will retry");
        }
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            tracing::error!(error = %e, "could not begin a write transaction");
            for job in batch {
                job(None)(Err(e.to_string()));
            }
            continue;
        }
        let completions: Vec<Completion> = batch.into_iter().map(|job| job(Some(&conn))).collect();
        let commit = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for done in completions {
            done(commit.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_are_all_committed_and_a_failing_job_is_isolated() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let mut handles = Vec::new();
        for i in 0..200i64 {
            let db = db.clone();
            handles.push(tokio::spawn(async move {
                db.write(move |c| {
                    c.execute(
                        "INSERT INTO events (at, kind, code) VALUES ('t', 'test', ?1)",
                        [i.to_string()],
                    )?;
                    if i % 50 == 7 {
                        return Err(StorageError::Conflict("refused on purpose".into()));
                    }
                    Ok(i)
                })
                .await
            }));
        }
        let mut failed = 0;
        for h in handles {
            if h.await.unwrap().is_err() {
                failed += 1;
            }
        }
        assert_eq!(failed, 4);
        let n: i64 = db
            .read(|c| Ok(c.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(
            n, 196,
            "the refused jobs' rows were rolled back, the others kept"
        );
    }

    #[test]
    fn the_checkpointer_copies_a_grown_wal_back_into_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let file = dir.path().join("packbench.sqlite3");
        let before = std::fs::metadata(&file).unwrap().len();
        let blob = "x".repeat(4000);
        for _ in 0..3 {
            let blob = blob.clone();
            db.write_blocking(move |c| {
                for i in 0..600 {
                    c.execute(
                        "INSERT INTO events (at, kind, code) VALUES ('t', 'test', ?1)",
                        [format!("{i}{blob}")],
                    )?;
                }
                Ok(())
            })
            .unwrap();
        }
        assert!(std::fs::metadata(wal_path(&file)).unwrap().len() >= CHECKPOINT_WAL_BYTES);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::fs::metadata(&file).unwrap().len() < before + CHECKPOINT_WAL_BYTES {
            assert!(
                std::time::Instant::now() < deadline,
                "the database file never received the WAL's pages"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    #[test]
    fn migrations_run_once_and_refuse_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        drop(Db::open(dir.path()).unwrap());
        drop(Db::open(dir.path()).unwrap());
        let c = Connection::open(dir.path().join("packbench.sqlite3")).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
        drop(c);
        let e = Db::open(dir.path()).err().unwrap();
        assert!(e.to_string().contains("newer"), "{e}");
    }
}
