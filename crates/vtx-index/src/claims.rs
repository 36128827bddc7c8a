//! Leases on work: how several `vtx index` workers given the same files share them without a
//! coordinator. A worker claims a video (by its content hash) before decoding it and renews the
//! claim while it works; the others skip a live claim and take over one that has expired, so a
//! worker that dies holds its videos only until its lease runs out. A claim race that slips
//! through costs time, not correctness: video and segment ids derive from the content, and the
//! store's writes are all or nothing.
//!
//! Expiry is wall-clock time on the claiming machine: workers on several machines need clocks
//! that agree to well within a lease (NTP does).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::Result;

/// What [`Claims::claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The claim is the caller's: new, renewed, or taken over from a worker whose lease expired.
    Ours,
    /// Another worker holds a live claim, for this long still unless it renews it.
    Held { worker: String, expires_in: Duration },
}

/// Claims on units of work (videos, by content hash), each held by one worker until it releases
/// it or its lease expires.
pub trait Claims: Send + Sync {
    /// Claim `key` for `worker` for `lease` from now: taken if nobody holds it, if `worker`
    /// already does (a renewal), or if its holder's lease has run out. Another worker's live claim
    /// is left as it is and named.
    fn claim(&self, key: &str, worker: &str, lease: Duration) -> Result<Claim>;
    /// Give up `worker`'s claim on `key`; a claim someone else holds (or none) is left alone.
    fn release(&self, key: &str, worker: &str) -> Result<()>;
}

/// Milliseconds since the Unix epoch on this machine's clock: what claims expire by.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The answer to a claim from the holder and expiry that the store ended up with.
pub(crate) fn outcome(worker: &str, holder: String, expires_ms: i64) -> Claim {
    if holder == worker {
        Claim::Ours
    } else {
        Claim::Held {
            worker: holder,
            expires_in: Duration::from_millis((expires_ms - now_ms()).max(0) as u64),
        }
    }
}
