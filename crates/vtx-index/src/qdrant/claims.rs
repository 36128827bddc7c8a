//! [`Claims`] on the cluster: one payload-only point per claimed key, written with an update
//! filter, so a live claim of another worker is never overwritten (a compare-and-set: the point
//! is replaced only if it is the caller's or has expired), and read back to learn who holds it.
//! Writes are ordered through a leader replica of the shard (elected, so a node down does not stop
//! claims), so two workers' claims on one key pass through one replica in turn.

use std::collections::HashMap;
use std::time::Duration;

use qdrant_client::qdrant::{
    Condition, Filter as QFilter, GetPointsBuilder, PointId, PointStruct, Range, UpsertPointsBuilder, WriteOrdering,
    WriteOrderingType,
};
use serde_json::json;

use super::codec::{self, field, point_id};
use super::{kind, QdrantStore};
use crate::claims::{now_ms, outcome};
use crate::{Claim, Claims, Result};

fn claim_point(key: &str) -> PointId {
    point_id(&[kind::CLAIM, key])
}

fn through_leader() -> WriteOrdering {
    WriteOrdering {
        r#type: WriteOrderingType::Medium.into(),
    }
}

impl QdrantStore {
    /// The holder and expiry of a claim; `None` if there is no claim. Any one copy of the shard
    /// answers (a majority would stop claims while a node is down): one that lags behind the
    /// leader shows an older holder, which costs a wait, or none, which costs a second try.
    fn claim_holder(&self, key: &str) -> Result<Option<(String, i64)>> {
        let request = GetPointsBuilder::new(self.name(), vec![claim_point(key)])
            .with_payload(codec::selector(Some(&["worker", "expires"])));
        let found = self.call(|client| {
            let request = request.clone();
            async move { client.get_points(request).await }
        })?;
        found
            .result
            .first()
            .map(|point| Ok((field(&point.payload, "worker")?, field(&point.payload, "expires")?)))
            .transpose()
    }
}

impl Claims for QdrantStore {
    fn claim(&self, key: &str, worker: &str, lease: Duration) -> Result<Claim> {
        // A claim released by its holder between the write and the read is gone: claim again.
        for _ in 0..3 {
            let now = now_ms();
            let point = PointStruct::new(
                claim_point(key),
                HashMap::<String, Vec<f32>>::new(),
                codec::payload(json!({
                    "kind": kind::CLAIM, "key": key, "worker": worker, "expires": now + lease.as_millis() as i64,
                }))?,
            );
            let ours_or_expired = QFilter::should([
                Condition::matches("worker", worker.to_string()),
                Condition::range(
                    "expires",
                    Range {
                        lte: Some(now as f64),
                        ..Default::default()
                    },
                ),
            ]);
            let request = UpsertPointsBuilder::new(self.name(), vec![point])
                .wait(true)
                .ordering(through_leader())
                .update_filter(ours_or_expired);
            self.call(|client| {
                let request = request.clone();
                async move { client.upsert_points(request).await }
            })?;
            if let Some((holder, expires)) = self.claim_holder(key)? {
                return Ok(outcome(worker, holder, expires));
            }
        }
        Err(crate::IndexError::Storage(format!(
            "the claim on {key} kept disappearing while it was taken"
        )))
    }

    fn release(&self, key: &str, worker: &str) -> Result<()> {
        let theirs = QFilter::must([
            Condition::has_id([claim_point(key)]),
            Condition::matches("worker", worker.to_string()),
        ]);
        self.delete_ordered(theirs, through_leader())
    }
}
