//! [`Claims`] of the embedded store, in a small SQLite file of their own beside the index: a
//! video's write holds the index's write lock for as long as the video takes, and a claim or a
//! renewal must not wait behind it.

use std::time::Duration;

use rusqlite::{params, Connection};

use super::{connect, storage, SqliteStore};
use crate::claims::{now_ms, outcome};
use crate::{Claim, Claims, Result};

const CLAIMS_FILE: &str = "claims.sqlite";

impl SqliteStore {
    fn claims_db(&self) -> Result<Connection> {
        let conn = connect(&self.dir.join(CLAIMS_FILE))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, worker TEXT NOT NULL, expires_ms INTEGER NOT NULL);",
        )
        .map_err(storage)?;
        Ok(conn)
    }
}

impl Claims for SqliteStore {
    fn claim(&self, key: &str, worker: &str, lease: Duration) -> Result<Claim> {
        let mut conn = self.claims_db()?;
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
    }

    fn release(&self, key: &str, worker: &str) -> Result<()> {
        self.claims_db()?
            .execute(
                "DELETE FROM claims WHERE key = ?1 AND worker = ?2",
                params![key, worker],
            )
            .map_err(storage)?;
        Ok(())
    }
}
