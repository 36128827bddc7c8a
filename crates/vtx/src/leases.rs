//! One indexing run's claims on its videos (`vtx_index::Claims`): taken before a video is
//! decoded, renewed while the run holds them, released once each video is settled. Several
//! workers given the same files so share them: each skips the videos another holds, and waits
//! at the end for those to be done, or takes over the ones whose worker stopped renewing.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::time::Duration;

use vtx_index::{Claim, VectorStore};

use crate::lock;

/// How long a claim lasts unrenewed: what a worker that dies costs the others, at most.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// A name for this worker in its claims, unique to the run: the machine, the process and the
/// moment it started.
pub fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    format!("{host}:{}:{started:x}", std::process::id())
}

/// The claims one run of the pipeline holds, by job.
pub(crate) struct Leases<'s> {
    store: &'s dyn VectorStore,
    worker: &'s str,
    lease: Duration,
    held: Mutex<HashMap<usize, String>>,
}

impl<'s> Leases<'s> {
    pub(crate) fn new(store: &'s dyn VectorStore, worker: &'s str, lease: Duration) -> Self {
        Self {
            store,
            worker,
            lease,
            held: Mutex::new(HashMap::new()),
        }
    }

    /// Claim the content of `job` for this run: `None` once it is ours, else the worker that
    /// holds it.
    pub(crate) fn take(&self, job: usize, content: &str) -> Result<Option<String>, String> {
        match self.store.claim(content, self.worker, self.lease) {
            Ok(Claim::Ours) => {
                lock(&self.held).insert(job, content.to_string());
                Ok(None)
            }
            Ok(Claim::Held { worker, .. }) => Ok(Some(worker)),
            Err(e) => Err(format!("cannot claim it for this worker: {e}")),
        }
    }

    /// Give up the claim of a settled job, unless another job of the run has the same content.
    pub(crate) fn release(&self, job: usize) {
        let mut held = lock(&self.held);
        let Some(content) = held.remove(&job) else { return };
        if held.values().any(|c| *c == content) {
            return;
        }
        drop(held);
        // A release that fails costs the other workers one lease, nothing else.
        if let Err(e) = self.store.release(&content, self.worker) {
            tracing::warn!("could not release the claim on {content}: {e}");
        }
    }

    pub(crate) fn release_all(&self) {
        let jobs: Vec<usize> = lock(&self.held).keys().copied().collect();
        for job in jobs {
            self.release(job);
        }
    }

    /// Renew every claim held, a third of a lease apart, until `stop` says the run is over.
    pub(crate) fn keep_alive(&self, stop: &Receiver<()>) {
        while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(self.lease / 3) {
            // Held throughout: a claim released while it was renewed would be taken again, and
            // kept by nobody until its lease ran out.
            let held = lock(&self.held);
            let contents: HashSet<&String> = held.values().collect();
            for content in contents {
                match self.store.claim(content, self.worker, self.lease) {
                    Ok(Claim::Ours) => {}
                    Ok(Claim::Held { worker, .. }) => tracing::warn!(
                        "the claim on {content} ran out and {worker} took it over; this worker finishes it too (the writes are idempotent)"
                    ),
                    Err(e) => tracing::warn!("could not renew the claim on {content}: {e}"),
                }
            }
        }
    }

    /// The files among `claimed` (path, content) whose claims are gone, once there are any,
    /// looked at `poll` apart; `None` on a cancel.
    pub(crate) fn first_given_up(
        &self,
        claimed: &[(PathBuf, String)],
        poll: Duration,
        cancel: &AtomicBool,
    ) -> Result<Option<Vec<PathBuf>>, vtx_index::IndexError> {
        loop {
            if sleep_unless_cancelled(poll, cancel) {
                return Ok(None);
            }
            let mut free = Vec::new();
            for (path, content) in claimed {
                if self.is_free(content)? {
                    free.push(path.clone());
                }
            }
            if !free.is_empty() {
                return Ok(Some(free));
            }
        }
    }

    /// Whether nobody holds `content` now (a claim taken to find out is given back at once).
    fn is_free(&self, content: &str) -> Result<bool, vtx_index::IndexError> {
        match self.store.claim(content, self.worker, self.lease)? {
            Claim::Ours => {
                self.store.release(content, self.worker)?;
                Ok(true)
            }
            Claim::Held { .. } => Ok(false),
        }
    }
}

/// Sleep for `pause`, waking early on a cancel: whether the run was cancelled.
fn sleep_unless_cancelled(pause: Duration, cancel: &AtomicBool) -> bool {
    let until = std::time::Instant::now() + pause;
    while std::time::Instant::now() < until {
        if cancel.load(Ordering::Relaxed) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50).min(pause));
    }
    cancel.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vtx_index::{Claims, SqliteStore};

    #[test]
    fn claims_released_while_others_are_renewed_stay_released() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        // Renewals every second, of many claims held throughout, while others come and go: a
        // claim released as it was renewed would be held again, for a lease, by nobody.
        let leases = Leases::new(&store, "this worker", Duration::from_secs(3));
        for job in 1000..1030 {
            assert_eq!(leases.take(job, &format!("held {job}")), Ok(None));
        }
        let (renewing, renewals) = std::sync::mpsc::channel();
        let churned = std::thread::scope(|scope| {
            let leases = &leases;
            scope.spawn(move || leases.keep_alive(&renewals));
            let started = std::time::Instant::now();
            let mut job = 0;
            while started.elapsed() < Duration::from_millis(3500) {
                let batch = job..job + 5;
                for job in batch.clone() {
                    assert_eq!(leases.take(job, &format!("video {job}")), Ok(None));
                }
                std::thread::sleep(Duration::from_millis(3));
                batch.for_each(|job| leases.release(job));
                job += 5;
            }
            drop(renewing);
            job
        });
        for job in 0..churned {
            let claim = store.claim(&format!("video {job}"), "another worker", DEFAULT_LEASE);
            assert_eq!(claim.unwrap(), Claim::Ours, "video {job} was left claimed");
        }
    }

    #[test]
    fn a_claim_two_jobs_share_is_released_with_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let leases = Leases::new(&store, "this worker", DEFAULT_LEASE);
        assert_eq!(leases.take(0, "same content"), Ok(None));
        assert_eq!(leases.take(1, "same content"), Ok(None));
        leases.release(0);
        let claim = store.claim("same content", "another worker", DEFAULT_LEASE).unwrap();
        assert!(
            matches!(claim, Claim::Held { ref worker, .. } if worker == "this worker"),
            "{claim:?}"
        );
        leases.release(1);
        assert_eq!(
            store.claim("same content", "another worker", DEFAULT_LEASE).unwrap(),
            Claim::Ours
        );
    }
}
