//! [`Claims`] of the embedded store, in a small SQLite file of their own beside the index: a
//! video's write holds the index's write lock for as long as the video takes, and a claim or a
//! renewal must not wait behind it. One connection a process, in rollback-journal mode: switching
//! a file to write-ahead logging needs a lock that several processes opening it at once can fail
//! to get, and these transactions are a few rows.

use std::time::Duration;

use rusqlite::{params, Connection};

use super::{storage, SqliteStore};
use crate::claims::{now_ms, outcome};
use crate::{Claim, Claims, Result};

const CLAIMS_FILE: &str = "claims.sqlite";

impl SqliteStore {
    fn with_claims<T>(&self, work: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut held = self.claims.lock().unwrap_or_else(|p| p.into_inner());
        let conn = match &mut *held {
            Some(conn) => conn,
            empty => {
                let conn = Connection::open(self.dir.join(CLAIMS_FILE)).map_err(storage)?;
                conn.execute_batch(
                    "PRAGMA busy_timeout = 10000;
                     CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, worker TEXT NOT NULL, expires_ms INTEGER NOT NULL);",
                )
                .map_err(storage)?;
                empty.insert(conn)
            }
        };
        work(conn)
    }
}

impl Claims for SqliteStore {
    fn claim(&self, key: &str, worker: &str, lease: Duration) -> Result<Claim> {
        self.with_claims(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(storage)?;
            let now = now_ms();
            tx.execute(
                "INSERT INTO claims (key, worker, expires_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET worker = excluded.worker, expires_ms = excluded.expires_ms
                 WHERE claims.worker = excluded.worker OR claims.expires_ms <= ?4",
                params![key, worker, now + lease.as_millis() as i64, now],
            )
            .map_err(storage)?;
            let (holder, expires_ms): (String, i64) = tx
                .query_row("SELECT worker, expires_ms FROM claims WHERE key = ?1", [key], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(storage)?;
            tx.commit().map_err(storage)?;
            Ok(outcome(worker, holder, expires_ms))
        })
    }

    fn release(&self, key: &str, worker: &str) -> Result<()> {
        self.with_claims(|conn| {
            conn.execute(
                "DELETE FROM claims WHERE key = ?1 AND worker = ?2",
                params![key, worker],
            )
            .map_err(storage)?;
            Ok(())
        })
    }
}
