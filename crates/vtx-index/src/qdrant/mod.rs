//! The store on a Qdrant cluster (`--store qdrant://HOST:PORT`): the catalog and the vectors of
//! every video in one collection, so a machine needs only the cluster's address.
//!
//! One point per segment and one per video, with a named vector per space (Qdrant adds named
//! vectors to a live collection, so a space declared later is a new vector name, not a new
//! collection); the catalog is payload-only points beside them: one *row* per video (its file,
//! metadata, segments, shots and current generation), and its frames, thumbnails, tags, objects
//! and text. Every point but the row carries its video and the *generation* of the write that made
//! it; a write puts all of its points under a new generation, switches the row last, then deletes
//! the older generations, and every read keeps only what its video's row names. So readers never
//! see half a video, a writer killed half-way leaves the old version searchable, and the next
//! write of that video sweeps what it left (`docs/design.md`, "Writes without a transaction").

mod claims;
#[cfg(any(test, feature = "contract"))]
pub mod cluster;
mod codec;
mod text;
mod writer;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use qdrant_client::qdrant::{
    points_selector::PointsSelectorOneOf, Condition, CountPointsBuilder, CreateCollectionBuilder,
    CreateFieldIndexCollectionBuilder, CreateVectorNameRequestBuilder, DeletePointsBuilder,
    DenseVectorCreationConfigBuilder, Distance, FieldType, Filter as QFilter, GetPointsBuilder, PointId, PointStruct,
    QueryPointGroupsBuilder, QueryPointsBuilder, Range, RetrievedPoint, ScrollPointsBuilder, SearchParamsBuilder,
    SetPayloadPointsBuilder, TextIndexParamsBuilder, TokenizerType, UpsertPointsBuilder, WriteOrdering,
};
use qdrant_client::{Qdrant, QdrantError};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::{
    Catalog, ClusterStats, Cursor, Filter, Hit, IndexError, Keywords, Optimized, Page, Result, ScoredPoint, Segment,
    ShotSpan, Space, SpaceVectors, StoreStats, Tag, TextMatch, TextSource, TimedVector, VectorIndex, VectorStore,
    VideoMeta, VideoObjects, VideoRecord, VideoText, VideoWriter,
};
use codec::{field, opt_field, point_id};

/// Which kind of point a point is (the payload field `kind`).
mod kind {
    pub const ROW: &str = "row";
    pub const SEGMENT: &str = "segment";
    pub const VIDEO: &str = "video";
    pub const FRAMES: &str = "frames";
    pub const THUMB: &str = "thumb";
    pub const TAGS: &str = "tags";
    pub const OBJECTS: &str = "objects";
    pub const TEXT: &str = "text";
    pub const LINE: &str = "line";
    pub const SPACES: &str = "spaces";
    pub const CLOCK: &str = "clock";
    pub const CLAIM: &str = "claim";
}

/// Points asked for in one request, and written in one upsert.
const BATCH: usize = 256;
/// Tries of a request while the cluster cannot be reached (about 2 s in all).
const ATTEMPTS: u32 = 4;

/// Where the cluster is and how a new collection is laid out.
#[derive(Debug, Clone, PartialEq)]
pub struct QdrantOptions {
    /// The gRPC endpoint, `http://` or (for `qdrants://`) `https://`.
    pub endpoint: String,
    /// As the user wrote it, for messages.
    pub url: String,
    pub collection: String,
    pub api_key: Option<String>,
    /// Shards and replicas of a collection this store creates (the cluster's defaults otherwise);
    /// an existing collection keeps its own.
    pub shards: Option<u32>,
    pub replicas: Option<u32>,
    /// Replicas that must acknowledge a write before it returns.
    pub write_consistency: Option<u32>,
    /// Store the vectors as int8 scalars too, searched first and rescored (a quarter of the RAM).
    pub quantize: bool,
    /// Each request's limit; connecting has its own, [`CONNECT_TIMEOUT`].
    pub timeout: Duration,
}

/// How long a connection to the cluster may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take by default (a large upsert on a busy cluster is the slowest).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The collection a store uses when none is named.
pub const DEFAULT_COLLECTION: &str = "vtx";

impl QdrantOptions {
    /// Options for `qdrant://HOST:PORT` (plain gRPC) or `qdrants://HOST:PORT` (TLS); `None` for
    /// anything else, which is not a Qdrant address.
    pub fn from_url(url: &str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let endpoint = match scheme {
            "qdrant" => format!("http://{rest}"),
            "qdrants" => format!("https://{rest}"),
            _ => return None,
        };
        Some(Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            url: url.to_string(),
            collection: DEFAULT_COLLECTION.to_string(),
            api_key: None,
            shards: None,
            replicas: None,
            write_consistency: None,
            quantize: false,
            timeout: REQUEST_TIMEOUT,
        })
    }
}

/// A [`VectorStore`] in a collection of a Qdrant cluster.
pub struct QdrantStore {
    client: Arc<Qdrant>,
    runtime: tokio::runtime::Runtime,
    options: QdrantOptions,
    /// One writer at a time in this process, as the trait promises; writers on other machines
    /// are kept apart by generations.
    writing: Mutex<()>,
    /// The spaces as last read: a declared space never changes, so only a name not found here
    /// (one another machine declared since) needs asking the cluster again.
    known_spaces: Mutex<Vec<Space>>,
}

/// A point a vector search found, with what its payload says of it.
struct Nearest {
    video: i64,
    segment: i64,
    score: f32,
    gen: i64,
    start: f64,
    end: f64,
}

/// What went wrong talking to the cluster: unreachable (no connection, a deadline), refused (a
/// key), or anything else it answered.
fn failed(url: &str) -> impl Fn(QdrantError) -> IndexError + '_ {
    move |e| {
        if let QdrantError::ResponseError { status } = &e {
            use tonic::Code;
            let message = status.message();
            if matches!(
                status.code(),
                Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled
            ) || message.contains("Failed to connect")
            {
                return IndexError::Unreachable(format!("{url} ({})", connect_reason(message)));
            }
            if matches!(status.code(), Code::Unauthenticated | Code::PermissionDenied) {
                return IndexError::Storage(format!(
                    "the Qdrant cluster at {url} refused the request ({message}): set VTX_QDRANT_API_KEY"
                ));
            }
        }
        IndexError::Storage(format!("Qdrant at {url}: {e}"))
    }
}

/// The words that say why a connection failed ("Connection refused"), out of a transport error's
/// debug text.
fn connect_reason(message: &str) -> String {
    let quoted = message
        .rsplit_once("message: \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(reason, _)| reason.to_string());
    quoted.unwrap_or_else(|| {
        if message.contains("timed out") || message.contains("Timeout") {
            "no answer in time".to_string()
        } else {
            message.chars().take(120).collect()
        }
    })
}

impl QdrantStore {
    /// Connect, creating the collection (with the options' layout) if it does not exist.
    pub fn open(options: QdrantOptions) -> Result<Self> {
        let store = Self::connect(options)?;
        if !store.collection_exists()? {
            store.create_collection()?;
        }
        store.create_payload_indexes()?;
        Ok(store)
    }

    /// Connect to a collection that must exist (for searching: a mistyped name is an error, not an
    /// empty library).
    pub fn open_existing(options: QdrantOptions) -> Result<Self> {
        let store = Self::connect(options)?;
        if !store.collection_exists()? {
            return Err(IndexError::NoCollection {
                url: store.options.url.clone(),
                collection: store.options.collection.clone(),
            });
        }
        Ok(store)
    }

    fn connect(options: QdrantOptions) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("vtx-qdrant")
            .enable_all()
            .build()
            .map_err(|e| IndexError::Storage(format!("cannot start the Qdrant client: {e}")))?;
        let mut config = Qdrant::from_url(&options.endpoint)
            .timeout(options.timeout)
            .connect_timeout(CONNECT_TIMEOUT)
            .skip_compatibility_check();
        if let Some(key) = &options.api_key {
            config = config.api_key(key.clone());
        }
        // Building a client opens no connection; it needs a runtime to spawn its pool's tasks.
        let client = {
            let _entered = runtime.enter();
            config.build().map_err(failed(&options.url))?
        };
        let store = Self {
            client: Arc::new(client),
            runtime,
            options,
            writing: Mutex::new(()),
            known_spaces: Mutex::new(Vec::new()),
        };
        let client = store.client.clone();
        store
            .wait(async move { client.health_check().await })
            .map_err(failed(&store.options.url))?;
        Ok(store)
    }

    /// Run a request on the store's own runtime and wait for it, from any thread (an async
    /// server's too: the future runs elsewhere, this thread only blocks).
    fn wait<T: Send + 'static>(&self, future: impl Future<Output = T> + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.runtime.spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv().expect("the Qdrant runtime dropped a request")
    }

    fn name(&self) -> String {
        self.options.collection.clone()
    }

    fn error(&self) -> impl Fn(QdrantError) -> IndexError + '_ {
        failed(&self.options.url)
    }

    /// Drop the whole collection: every video, vector and record in it.
    pub fn delete_collection(&self) -> Result<()> {
        let (client, name) = (self.client.clone(), self.name());
        self.wait(async move { client.delete_collection(name).await })
            .map_err(self.error())?;
        Ok(())
    }

    fn cluster_stats(&self) -> Result<ClusterStats> {
        let (client, name) = (self.client.clone(), self.name());
        let info = self
            .wait(async move { client.collection_info(name).await })
            .map_err(self.error())?
            .result
            .unwrap_or_default();
        let params = info.config.and_then(|c| c.params).unwrap_or_default();
        let (client, name) = (self.client.clone(), self.name());
        let layout = self
            .wait(async move { client.collection_cluster_info(name).await })
            .map_err(self.error())?;
        let state = |s: i32| {
            qdrant_client::qdrant::ReplicaState::try_from(s)
                .map(|s| format!("{s:?}"))
                .unwrap_or_else(|_| s.to_string())
        };
        let mut copies: Vec<(u32, u64, String)> = layout
            .local_shards
            .iter()
            .map(|l| (l.shard_id, layout.peer_id, state(l.state)))
            .chain(
                layout
                    .remote_shards
                    .iter()
                    .map(|r| (r.shard_id, r.peer_id, state(r.state))),
            )
            .collect();
        copies.sort();
        Ok(ClusterStats {
            nodes: copies.iter().map(|c| c.1).collect::<HashSet<_>>().len(),
            shards: params.shard_number,
            replicas: params.replication_factor.unwrap_or(1),
            write_consistency: params.write_consistency_factor.unwrap_or(1),
            points: info.points_count.unwrap_or(0),
            shard_copies: copies,
        })
    }

    /// Wait until Qdrant has indexed what was written (the collection is green): what a
    /// benchmark of its search waits for; `vtx index` does not, the graphs are built behind it.
    pub fn wait_until_indexed(&self) -> Result<()> {
        use qdrant_client::qdrant::{CollectionStatus, OptimizersConfigDiffBuilder, UpdateCollectionBuilder};
        loop {
            let (client, name) = (self.client.clone(), self.name());
            let info = self
                .wait(async move { client.collection_info(name).await })
                .map_err(self.error())?;
            let status = info.result.map_or(CollectionStatus::Red as i32, |i| i.status);
            match CollectionStatus::try_from(status) {
                Ok(CollectionStatus::Green) => return Ok(()),
                // Optimisations that are due but were not started: an update of the collection starts them.
                Ok(CollectionStatus::Grey) => {
                    let update = UpdateCollectionBuilder::new(self.name())
                        .optimizers_config(OptimizersConfigDiffBuilder::default());
                    let client = self.client.clone();
                    self.wait(async move { client.update_collection(update).await })
                        .map_err(self.error())?;
                }
                Ok(CollectionStatus::Yellow) => {}
                _ => {
                    return Err(IndexError::Storage(format!(
                        "the collection {} is red: Qdrant failed an operation on it",
                        self.name()
                    )))
                }
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    fn collection_exists(&self) -> Result<bool> {
        let (client, name) = (self.client.clone(), self.name());
        self.wait(async move { client.collection_exists(name).await })
            .map_err(self.error())
    }

    fn create_collection(&self) -> Result<()> {
        let mut create = CreateCollectionBuilder::new(self.name());
        if let Some(shards) = self.options.shards {
            create = create.shard_number(shards);
        }
        if let Some(replicas) = self.options.replicas {
            create = create.replication_factor(replicas);
        }
        if let Some(acks) = self.options.write_consistency {
            create = create.write_consistency_factor(acks);
        }
        if self.options.quantize {
            create = create.quantization_config(qdrant_client::qdrant::ScalarQuantizationBuilder::default());
        }
        let client = self.client.clone();
        let created = self.wait(async move { client.create_collection(create).await });
        match created {
            Ok(_) => Ok(()),
            // Another machine created it first.
            Err(_) if self.collection_exists()? => Ok(()),
            Err(e) => Err(self.error()(e)),
        }
    }

    /// The payload indexes the filters use (creating one that exists is a no-op).
    fn create_payload_indexes(&self) -> Result<()> {
        let integer = ["video", "gen", "seg", "tgen"];
        let keyword = ["kind", "path", "space", "source"];
        let float = ["start", "end"];
        let mut requests: Vec<CreateFieldIndexCollectionBuilder> = Vec::new();
        for key in integer {
            requests.push(CreateFieldIndexCollectionBuilder::new(
                self.name(),
                key,
                FieldType::Integer,
            ));
        }
        for key in keyword {
            requests.push(CreateFieldIndexCollectionBuilder::new(
                self.name(),
                key,
                FieldType::Keyword,
            ));
        }
        for key in float {
            requests.push(CreateFieldIndexCollectionBuilder::new(
                self.name(),
                key,
                FieldType::Float,
            ));
        }
        requests.push(
            CreateFieldIndexCollectionBuilder::new(self.name(), "text", FieldType::Text).field_index_params(
                TextIndexParamsBuilder::new(TokenizerType::Word)
                    .lowercase(true)
                    .ascii_folding(true)
                    .phrase_matching(true),
            ),
        );
        for request in requests {
            let client = self.client.clone();
            self.wait(async move { client.create_field_index(request.wait(true)).await })
                .map_err(self.error())?;
        }
        Ok(())
    }

    // ---- points in, points out ----

    /// A request, tried again while the cluster cannot be reached (a node restarting, a leader
    /// being elected): [`ATTEMPTS`] tries, 0.25 s apart and doubling, then the error.
    fn call<T, F>(&self, request: impl Fn(Arc<Qdrant>) -> F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = std::result::Result<T, QdrantError>> + Send + 'static,
    {
        let mut pause = Duration::from_millis(250);
        let mut attempt = 1;
        loop {
            match self.wait(request(self.client.clone())).map_err(self.error()) {
                Err(IndexError::Unreachable(why)) if attempt < ATTEMPTS => {
                    tracing::warn!("the Qdrant cluster did not answer ({why}); trying again in {pause:?}");
                    std::thread::sleep(pause);
                    pause *= 2;
                    attempt += 1;
                }
                done => return done,
            }
        }
    }

    fn upsert(&self, points: Vec<PointStruct>) -> Result<()> {
        for batch in points.chunks(BATCH) {
            let request = UpsertPointsBuilder::new(self.name(), batch.to_vec()).wait(true);
            self.call(|client| {
                let request = request.clone();
                async move { client.upsert_points(request).await }
            })?;
        }
        Ok(())
    }

    fn delete(&self, filter: QFilter) -> Result<()> {
        self.delete_ordered(filter, WriteOrdering::default())
    }

    fn delete_ordered(&self, filter: QFilter, ordering: WriteOrdering) -> Result<()> {
        let request = DeletePointsBuilder::new(self.name())
            .points(PointsSelectorOneOf::Filter(filter))
            .ordering(ordering)
            .wait(true);
        self.call(|client| {
            let request = request.clone();
            async move { client.delete_points(request).await }
        })?;
        Ok(())
    }

    /// Points by id, with the payload fields named (all of them for `None`) and the vectors asked.
    fn get(&self, ids: Vec<PointId>, fields: Option<&[&str]>, vectors: bool) -> Result<Vec<RetrievedPoint>> {
        let mut found = Vec::with_capacity(ids.len());
        for batch in ids.chunks(BATCH) {
            let request = GetPointsBuilder::new(self.name(), batch.to_vec())
                .with_payload(codec::selector(fields))
                .with_vectors(vectors);
            let response = self.call(|client| {
                let request = request.clone();
                async move { client.get_points(request).await }
            })?;
            found.extend(response.result);
        }
        Ok(found)
    }

    /// Every point `filter` admits, a page at a time.
    fn scroll_all(&self, filter: QFilter, fields: Option<&[&str]>, vectors: bool) -> Result<Vec<RetrievedPoint>> {
        let mut found = Vec::new();
        let mut offset: Option<PointId> = None;
        loop {
            let mut request = ScrollPointsBuilder::new(self.name())
                .filter(filter.clone())
                .limit(BATCH as u32)
                .with_payload(codec::selector(fields))
                .with_vectors(vectors);
            if let Some(from) = offset.take() {
                request = request.offset(from);
            }
            let page = self.call(|client| {
                let request = request.clone();
                async move { client.scroll(request).await }
            })?;
            found.extend(page.result);
            match page.next_page_offset {
                Some(next) => offset = Some(next),
                None => return Ok(found),
            }
        }
    }

    fn count_points(&self, filter: QFilter) -> Result<u64> {
        let request = CountPointsBuilder::new(self.name()).filter(filter).exact(true);
        let counted = self.call(|client| {
            let request = request.clone();
            async move { client.count(request).await }
        })?;
        Ok(counted.result.map(|r| r.count).unwrap_or(0))
    }

    // ---- the catalog's records ----

    /// Rows of these videos, with only the fields named: video id → row.
    fn rows(&self, videos: impl IntoIterator<Item = i64>, fields: &[&str]) -> Result<HashMap<i64, RetrievedPoint>> {
        let ids: Vec<PointId> = videos.into_iter().map(row_id).collect();
        let mut rows = HashMap::new();
        for point in self.get(ids, Some(fields), false)? {
            rows.insert(field::<i64>(&point.payload, "video")?, point);
        }
        Ok(rows)
    }

    fn row(&self, video: i64, fields: Option<&[&str]>) -> Result<Option<RetrievedPoint>> {
        Ok(self.get(vec![row_id(video)], fields, false)?.into_iter().next())
    }

    /// The current generation of each of these videos that has a row.
    fn generations(&self, videos: impl IntoIterator<Item = i64>) -> Result<HashMap<i64, i64>> {
        self.rows(videos, &["video", "gen"])?
            .into_iter()
            .map(|(video, row)| Ok((video, field(&row.payload, "gen")?)))
            .collect()
    }

    fn current_generation(&self, video: i64) -> Result<Option<i64>> {
        Ok(self.generations([video])?.remove(&video))
    }

    /// Every row, with the fields named.
    fn all_rows(&self, fields: &[&str]) -> Result<Vec<RetrievedPoint>> {
        self.scroll_all(QFilter::must([is(kind::ROW)]), Some(fields), false)
    }

    /// A per-video record of `kind` (tags, objects, a text run) in the video's current generation.
    fn record<T: DeserializeOwned>(&self, video: i64, kind: &str, part: &str) -> Result<Option<T>> {
        let Some(gen) = self.current_generation(video)? else {
            return Ok(None);
        };
        let found = self.get(vec![record_id(kind, video, gen, part)], Some(&["data"]), false)?;
        found.first().map(|p| codec::json_field(&p.payload, "data")).transpose()
    }

    /// Write a per-video record into the video's current generation, replacing the one before.
    fn set_record(
        &self,
        video: i64,
        kind: &str,
        part: &str,
        data: serde_json::Value,
        extra: serde_json::Value,
    ) -> Result<()> {
        let gen = self
            .current_generation(video)?
            .ok_or_else(|| IndexError::Query(format!("no video with id {video} in this index")))?;
        self.put_record(video, gen, kind, part, data, extra)?;
        self.tick(codec::now_us())
    }

    /// A per-video record of the video's generation `gen`, seen while `gen` is its current one.
    fn put_record(
        &self,
        video: i64,
        gen: i64,
        kind: &str,
        part: &str,
        data: serde_json::Value,
        extra: serde_json::Value,
    ) -> Result<()> {
        let mut payload = json!({
            "kind": kind, "video": video, "gen": gen, "part": part,
            "data": serde_json::to_string(&data).map_err(codec::bad_json)?,
        });
        if let (Some(fields), serde_json::Value::Object(more)) = (payload.as_object_mut(), extra) {
            fields.extend(more);
        }
        self.upsert(vec![PointStruct::new(
            record_id(kind, video, gen, part),
            HashMap::<String, Vec<f32>>::new(),
            codec::payload(payload)?,
        )])
    }

    /// A per-video record that filters read too: the record, and its labels by segment.
    fn set_labelled(
        &self,
        video: i64,
        kind: &str,
        data: &(impl serde::Serialize + ?Sized),
        labels: &impl serde::Serialize,
    ) -> Result<()> {
        let data = serde_json::to_value(data).map_err(codec::bad_json)?;
        self.set_record(video, kind, "", data, json!({ "labels": codec::to_text(labels)? }))
    }

    /// Of points that carry their video and generation, those of their video's current
    /// generation, with the video.
    fn current(&self, points: Vec<RetrievedPoint>) -> Result<Vec<(i64, RetrievedPoint)>> {
        let videos: HashSet<i64> = points
            .iter()
            .map(|p| field(&p.payload, "video"))
            .collect::<Result<_>>()?;
        let generations = self.generations(videos)?;
        let mut kept = Vec::with_capacity(points.len());
        for point in points {
            let video: i64 = field(&point.payload, "video")?;
            if generations.get(&video) == Some(&field(&point.payload, "gen")?) {
                kept.push((video, point));
            }
        }
        Ok(kept)
    }

    /// Note a write for [`Catalog::generation`]: the clock holds the latest write's time.
    fn tick(&self, gen: i64) -> Result<()> {
        self.upsert(vec![PointStruct::new(
            singleton(kind::CLOCK),
            HashMap::<String, Vec<f32>>::new(),
            codec::payload(json!({ "kind": kind::CLOCK, "n": gen }))?,
        )])
    }

    fn video_record(point: &RetrievedPoint) -> Result<VideoRecord> {
        Ok(VideoRecord {
            id: field(&point.payload, "video")?,
            meta: codec::json_field(&point.payload, "meta")?,
        })
    }

    fn video_where(&self, filter: QFilter) -> Result<Option<VideoRecord>> {
        let found = self.scroll_all(filter, Some(&["video", "meta"]), false)?;
        found.first().map(Self::video_record).transpose()
    }

    /// A video's segments as its row lists them: (id, start, end, has a thumbnail).
    fn row_segments(&self, video: i64) -> Result<Vec<Segment>> {
        let Some(row) = self.row(video, Some(&["segments"]))? else {
            return Ok(Vec::new());
        };
        let spans: Vec<(i64, f64, f64, bool)> = codec::json_field(&row.payload, "segments")?;
        Ok(spans
            .into_iter()
            .map(|(id, start, end, has_thumbnail)| Segment {
                id,
                video_id: video,
                start,
                end,
                has_thumbnail,
            })
            .collect())
    }

    /// Drop the points stale next to `current`: every older generation of the video (newer ones
    /// belong to a writer still at work, whose own switch sweeps this one's).
    fn sweep(&self, video: i64, current: i64) -> Result<()> {
        self.delete(QFilter {
            must: vec![
                Condition::matches("video", video),
                Condition::range(
                    "gen",
                    Range {
                        lt: Some(current as f64),
                        ..Default::default()
                    },
                ),
            ],
            must_not: vec![is(kind::ROW)],
            ..Default::default()
        })
    }

    // ---- searching ----

    /// The segments `filter`'s catalog conditions (tag, object, action) admit, or `None` when it
    /// has none: what the vector search is then limited to.
    fn admitted_segments(&self, filter: &Filter) -> Result<Option<HashSet<i64>>> {
        let mut admitted: Option<HashSet<i64>> = None;
        let mut keep = |found: HashSet<i64>| {
            admitted = Some(match admitted.take() {
                Some(kept) => kept.intersection(&found).copied().collect(),
                None => found,
            });
        };
        if let Some(word) = &filter.tag {
            keep(self.segments_tagged(&word.to_lowercase(), filter)?);
        }
        if filter.object.is_some() || filter.action.is_some() {
            keep(self.labelled(filter)?.into_iter().map(|p| p.segment).collect());
        }
        Ok(admitted)
    }

    /// The conditions of `filter` that Qdrant checks itself, on segment points.
    fn point_filter(&self, filter: &Filter, kind: &str) -> Result<Option<QFilter>> {
        let mut must = vec![is(kind)];
        if let Some(videos) = &filter.videos {
            must.push(Condition::matches(
                "video",
                videos.iter().copied().collect::<Vec<i64>>(),
            ));
        }
        if let Some(range) = filter.time {
            must.push(Condition::range(
                "start",
                Range {
                    lt: Some(range.end),
                    ..Default::default()
                },
            ));
            must.push(Condition::range(
                "end",
                Range {
                    gt: Some(range.start),
                    ..Default::default()
                },
            ));
        }
        if let Some(segments) = self.admitted_segments(filter)? {
            if segments.is_empty() {
                return Ok(None);
            }
            must.push(Condition::matches("seg", segments.into_iter().collect::<Vec<i64>>()));
        }
        Ok(Some(QFilter::must(must)))
    }

    pub(super) fn check_space(&self, space: &str, dim: usize) -> Result<()> {
        let cached = self.known_spaces.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let known = if cached.iter().any(|s| s.name == space) {
            cached
        } else {
            self.spaces()?
        };
        let found = known
            .iter()
            .find(|s| s.name == space)
            .ok_or_else(|| IndexError::UnknownSpace(space.to_string()))?;
        if found.dim != dim {
            return Err(IndexError::Dimension {
                space: space.to_string(),
                expected: found.dim,
                got: dim,
            });
        }
        Ok(())
    }

    /// Nearest points in `space` that `filter` admits, best first, `limit` of them (one per video
    /// when grouped) before stale ones are dropped.
    fn nearest(
        &self,
        space: &str,
        query: &[f32],
        filter: QFilter,
        limit: usize,
        group_by_video: bool,
        exact: bool,
    ) -> Result<Vec<Nearest>> {
        let params = SearchParamsBuilder::default().exact(exact);
        let fields = ["video", "seg", "gen", "start", "end"];
        let client = self.client.clone();
        let points = if group_by_video {
            let request = QueryPointGroupsBuilder::new(self.name(), "video")
                .query(query.to_vec())
                .using(space)
                .filter(filter)
                .params(params)
                .limit(limit as u64)
                .group_size(1u64)
                .with_payload(codec::selector(Some(&fields)));
            let groups = self
                .wait(async move { client.query_groups(request).await })
                .map_err(self.error())?;
            groups
                .result
                .map(|r| r.groups)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|g| g.hits.into_iter().next())
                .collect::<Vec<_>>()
        } else {
            let request = QueryPointsBuilder::new(self.name())
                .query(query.to_vec())
                .using(space)
                .filter(filter)
                .params(params)
                .limit(limit as u64)
                .with_payload(codec::selector(Some(&fields)));
            self.wait(async move { client.query(request).await })
                .map_err(self.error())?
                .result
        };
        points
            .into_iter()
            .map(|p| {
                Ok(Nearest {
                    video: field(&p.payload, "video")?,
                    segment: opt_field(&p.payload, "seg")?.unwrap_or(0),
                    score: p.score,
                    gen: field(&p.payload, "gen")?,
                    start: opt_field(&p.payload, "start")?.unwrap_or(0.0),
                    end: opt_field(&p.payload, "end")?.unwrap_or(0.0),
                })
            })
            .collect()
    }

    /// [`nearest`](Self::nearest), keeping only points of their video's current generation; asks
    /// again for more when stale ones (a write in progress, a writer that died) took places.
    fn nearest_current(
        &self,
        space: &str,
        query: &[f32],
        filter: QFilter,
        limit: usize,
        group_by_video: bool,
        exact: bool,
    ) -> Result<Vec<(Nearest, String)>> {
        let mut asked = limit;
        loop {
            let found = self.nearest(space, query, filter.clone(), asked, group_by_video, exact)?;
            let asked_for = found.len();
            let rows = self.rows(
                found.iter().map(|f| f.video).collect::<HashSet<_>>(),
                &["video", "gen", "path"],
            )?;
            let mut fresh = Vec::with_capacity(found.len());
            for point in found {
                if let Some(row) = rows.get(&point.video) {
                    if field::<i64>(&row.payload, "gen")? == point.gen {
                        fresh.push((point, field(&row.payload, "path")?));
                    }
                }
            }
            if fresh.len() >= limit || asked_for < asked {
                fresh.truncate(limit);
                return Ok(fresh);
            }
            asked = asked * 2 + 16;
        }
    }

    /// A search's points, each with its video's path.
    fn search_current(&self, request: &crate::SearchRequest<'_>) -> Result<Vec<(Nearest, String)>> {
        self.check_space(request.space, request.query.len())?;
        if request.limit == 0 {
            return Ok(Vec::new());
        }
        let Some(filter) = self.point_filter(&request.filter, kind::SEGMENT)? else {
            return Ok(Vec::new());
        };
        self.nearest_current(
            request.space,
            request.query,
            filter,
            request.limit,
            request.group_by_video,
            request.exact,
        )
    }
}

impl Nearest {
    fn scored(&self) -> ScoredPoint {
        ScoredPoint {
            segment: self.segment,
            video: self.video,
            score: self.score,
        }
    }
}

fn is(kind: &str) -> Condition {
    Condition::matches("kind", kind.to_string())
}

fn row_id(video: i64) -> PointId {
    point_id(&[kind::ROW, &video.to_string()])
}

fn singleton(kind: &str) -> PointId {
    point_id(&[kind])
}

fn record_id(kind: &str, video: i64, gen: i64, part: &str) -> PointId {
    point_id(&[kind, &video.to_string(), &gen.to_string(), part])
}

fn segment_point(segment: i64, gen: i64) -> PointId {
    point_id(&[kind::SEGMENT, &segment.to_string(), &gen.to_string()])
}

fn video_point(video: i64, gen: i64) -> PointId {
    point_id(&[kind::VIDEO, &video.to_string(), &gen.to_string()])
}

fn frames_point(video: i64, gen: i64, space: &str, chunk: usize) -> PointId {
    point_id(&[
        kind::FRAMES,
        &video.to_string(),
        &gen.to_string(),
        space,
        &chunk.to_string(),
    ])
}

fn thumb_point(segment: i64, gen: i64) -> PointId {
    point_id(&[kind::THUMB, &segment.to_string(), &gen.to_string()])
}

/// The fields of a row that make a [`VideoRecord`].
const RECORD_FIELDS: &[&str] = &["video", "meta"];

impl Catalog for QdrantStore {
    fn video_by_id(&self, id: i64) -> Result<Option<VideoRecord>> {
        self.row(id, Some(RECORD_FIELDS))?
            .as_ref()
            .map(Self::video_record)
            .transpose()
    }

    fn video_by_path(&self, path: &str) -> Result<Option<VideoRecord>> {
        self.video_where(QFilter::must([
            is(kind::ROW),
            Condition::matches("path", path.to_string()),
        ]))
    }

    fn videos(&self) -> Result<Vec<VideoRecord>> {
        let mut videos: Vec<VideoRecord> = self
            .all_rows(RECORD_FIELDS)?
            .iter()
            .map(Self::video_record)
            .collect::<Result<_>>()?;
        videos.sort_by_key(|v| v.id);
        Ok(videos)
    }

    fn shots(&self, video_id: i64) -> Result<Vec<ShotSpan>> {
        Ok(match self.row(video_id, Some(&["shots"]))? {
            Some(row) => codec::json_field(&row.payload, "shots")?,
            None => Vec::new(),
        })
    }

    fn segments(&self, video_id: i64) -> Result<Vec<Segment>> {
        self.row_segments(video_id)
    }

    fn thumbnail(&self, segment_id: i64) -> Result<Option<Vec<u8>>> {
        let found = self.scroll_all(
            QFilter::must([is(kind::THUMB), Condition::matches("seg", segment_id)]),
            Some(&["video", "gen", "jpeg"]),
            false,
        )?;
        match self.current(found)?.first() {
            Some((_, point)) => Ok(Some(codec::decode_base64(&field::<String>(&point.payload, "jpeg")?)?)),
            None => Ok(None),
        }
    }

    fn touch_video(&self, id: i64, mtime_ns: i64) -> Result<()> {
        let Some(mut record) = self.video_by_id(id)? else {
            return Ok(());
        };
        record.meta.mtime_ns = mtime_ns;
        let payload = codec::payload(json!({
            "meta": serde_json::to_string(&record.meta).map_err(codec::bad_json)?,
        }))?;
        let request = SetPayloadPointsBuilder::new(self.name(), payload)
            .points_selector(PointsSelectorOneOf::Points(vec![row_id(id)].into()))
            .wait(true);
        let client = self.client.clone();
        self.wait(async move { client.set_payload(request).await })
            .map_err(self.error())?;
        Ok(())
    }

    fn frame_times(&self, id: i64, space: &str) -> Result<Vec<f64>> {
        Ok(writer::stored_moments(self, id, space, false)?
            .into_iter()
            .map(|m| m.t)
            .collect())
    }

    fn set_tags(&self, video_id: i64, tags: &[Tag]) -> Result<()> {
        let labels: Vec<(i64, String)> = tags.iter().map(|t| (t.segment, t.label.to_lowercase())).collect();
        self.set_labelled(video_id, kind::TAGS, tags, &labels)
    }

    fn tags(&self, video_id: i64) -> Result<Vec<Tag>> {
        let mut tags: Vec<Tag> = self.record(video_id, kind::TAGS, "")?.unwrap_or_default();
        let order: HashMap<i64, usize> = self
            .row_segments(video_id)?
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id, i))
            .collect();
        tags.sort_by(|a, b| {
            order
                .get(&a.segment)
                .cmp(&order.get(&b.segment))
                .then(b.score.total_cmp(&a.score))
        });
        Ok(tags)
    }

    fn set_objects(&self, video_id: i64, objects: &VideoObjects) -> Result<()> {
        let labels: Vec<(String, i64, String, u32, f32)> =
            [("object", &objects.segments), ("action", &objects.actions)]
                .into_iter()
                .flat_map(|(kind, rows)| {
                    rows.iter()
                        .map(move |o| (kind.to_string(), o.segment, o.label.to_lowercase(), o.count, o.score))
                })
                .collect();
        self.set_labelled(video_id, kind::OBJECTS, objects, &labels)
    }

    fn objects(&self, video_id: i64) -> Result<Option<VideoObjects>> {
        self.record(video_id, kind::OBJECTS, "")
    }

    fn object_hits(&self, filter: &Filter, limit: usize) -> Result<Vec<ScoredPoint>> {
        if filter.object.is_none() && filter.action.is_none() {
            return Err(IndexError::Usage(
                "a search by object needs a filter that names an object or an action",
            ));
        }
        let mut hits = self.labelled(filter)?;
        let segments: Option<HashSet<i64>> = match (&filter.tag, filter.time, &filter.videos) {
            (None, None, None) => None,
            _ => {
                let only = Filter {
                    object: None,
                    action: None,
                    ..filter.clone()
                };
                Some(self.segments_admitted_by_catalog(&only, &hits)?)
            }
        };
        if let Some(keep) = segments {
            hits.retain(|h| keep.contains(&h.segment));
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.segment.cmp(&b.segment)));
        hits.truncate(limit);
        Ok(hits)
    }

    fn set_text(&self, video_id: i64, text: &VideoText) -> Result<()> {
        text::set_text(self, video_id, text)
    }

    fn text(&self, video_id: i64, source: TextSource) -> Result<Option<VideoText>> {
        self.record(video_id, kind::TEXT, &source.to_string())
    }

    fn text_matches(&self, keywords: &Keywords, filter: &Filter, limit: usize) -> Result<Vec<TextMatch>> {
        text::text_matches(self, keywords, filter, limit)
    }

    fn resolve(&self, scored: &[ScoredPoint]) -> Result<Vec<Hit>> {
        let rows = self.rows(
            scored.iter().map(|s| s.video).collect::<HashSet<_>>(),
            &["video", "gen", "path"],
        )?;
        let mut wanted = Vec::new();
        for point in scored {
            if let Some(row) = rows.get(&point.video) {
                wanted.push(segment_point(point.segment, field(&row.payload, "gen")?));
            }
        }
        let mut spans: HashMap<i64, (f64, f64)> = HashMap::new();
        for point in self.get(wanted, Some(&["seg", "start", "end"]), false)? {
            spans.insert(
                field(&point.payload, "seg")?,
                (field(&point.payload, "start")?, field(&point.payload, "end")?),
            );
        }
        let mut hits = Vec::with_capacity(scored.len());
        for point in scored {
            let (Some(row), Some(&(start, end))) = (rows.get(&point.video), spans.get(&point.segment)) else {
                continue;
            };
            hits.push(Hit::at(point, field(&row.payload, "path")?, start, end));
        }
        Ok(hits)
    }

    fn stats(&self) -> Result<StoreStats> {
        let rows = self.all_rows(&["meta", "segment_count"])?;
        let mut stats = StoreStats::default();
        for row in &rows {
            let meta: VideoMeta = codec::json_field(&row.payload, "meta")?;
            stats.videos += 1;
            stats.frames += u64::from(meta.frames);
            stats.total_duration += meta.duration;
            stats.segments += field::<u64>(&row.payload, "segment_count")?;
        }
        stats.text = text::text_stats(self)?;
        stats.cluster = Some(self.cluster_stats()?);
        Ok(stats)
    }

    fn generation(&self) -> Result<u64> {
        let found = self.get(vec![singleton(kind::CLOCK)], Some(&["n"]), false)?;
        Ok(match found.first() {
            Some(point) => field::<i64>(&point.payload, "n")? as u64,
            None => 0,
        })
    }
}

impl QdrantStore {
    /// Segments holding the filter's object (at least its count) or where its action is done,
    /// each scored by the best detection score: from every video's objects record.
    fn labelled(&self, filter: &Filter) -> Result<Vec<ScoredPoint>> {
        let records = self.scroll_all(
            QFilter::must([is(kind::OBJECTS)]),
            Some(&["video", "gen", "labels"]),
            false,
        )?;
        let mut found: HashMap<i64, ScoredPoint> = HashMap::new();
        for (video, record) in self.current(records)? {
            let labels: Vec<(String, i64, String, u32, f32)> = codec::json_field(&record.payload, "labels")?;
            let holds = |segment: i64, kind: &str, label: &str, min: u32| {
                labels
                    .iter()
                    .find(|l| l.1 == segment && l.0 == kind && l.2 == label && l.3 >= min)
                    .map(|l| l.4)
            };
            let segments: HashSet<i64> = labels.iter().map(|l| l.1).collect();
            for segment in segments {
                let object = filter
                    .object
                    .as_ref()
                    .map(|o| holds(segment, "object", &o.label.to_lowercase(), o.min_count));
                let action = filter
                    .action
                    .as_ref()
                    .map(|a| holds(segment, "action", &a.to_lowercase(), 1));
                if object == Some(None) || action == Some(None) {
                    continue;
                }
                let Some(score) = object.flatten().or(action.flatten()) else {
                    continue;
                };
                found.insert(segment, ScoredPoint { segment, video, score });
            }
        }
        Ok(found.into_values().collect())
    }

    /// Segments whose tags hold `word`, among the videos `filter` allows.
    fn segments_tagged(&self, word: &str, filter: &Filter) -> Result<HashSet<i64>> {
        let mut conditions = vec![is(kind::TAGS)];
        if let Some(videos) = &filter.videos {
            conditions.push(Condition::matches(
                "video",
                videos.iter().copied().collect::<Vec<i64>>(),
            ));
        }
        let records = self.scroll_all(QFilter::must(conditions), Some(&["video", "gen", "labels"]), false)?;
        let mut found = HashSet::new();
        for (_, record) in self.current(records)? {
            let labels: Vec<(i64, String)> = codec::json_field(&record.payload, "labels")?;
            found.extend(labels.into_iter().filter(|(_, l)| l.contains(word)).map(|(s, _)| s));
        }
        Ok(found)
    }

    /// Of `points`, the segments that `filter` (without object or action) admits.
    fn segments_admitted_by_catalog(&self, filter: &Filter, points: &[ScoredPoint]) -> Result<HashSet<i64>> {
        let tagged = filter
            .tag
            .as_ref()
            .map(|word| self.segments_tagged(&word.to_lowercase(), filter))
            .transpose()?;
        let mut admitted = HashSet::new();
        let videos: HashSet<i64> = points.iter().map(|p| p.video).collect();
        for video in videos {
            if filter.videos.as_ref().is_some_and(|v| !v.contains(&video)) {
                continue;
            }
            for segment in self.row_segments(video)? {
                let in_time = filter
                    .time
                    .is_none_or(|range| segment.start < range.end && segment.end > range.start);
                let tag_ok = tagged.as_ref().is_none_or(|t| t.contains(&segment.id));
                if in_time && tag_ok {
                    admitted.insert(segment.id);
                }
            }
        }
        Ok(admitted)
    }
}

impl VectorIndex for QdrantStore {
    fn ensure_space(&self, space: &Space) -> Result<()> {
        let mut spaces = self.spaces()?;
        if let Some(existing) = spaces.iter().find(|s| s.name == space.name) {
            if existing.model != space.model {
                return Err(IndexError::ForeignModel {
                    space: space.name.clone(),
                    holds: existing.model.clone(),
                    got: space.model.clone(),
                });
            }
            if existing.dim != space.dim {
                return Err(IndexError::Dimension {
                    space: space.name.clone(),
                    expected: existing.dim,
                    got: space.dim,
                });
            }
            return Ok(());
        }
        let request = CreateVectorNameRequestBuilder::new(
            self.name(),
            space.name.clone(),
            DenseVectorCreationConfigBuilder::new(space.dim as u64, Distance::Cosine),
        )
        .wait(true);
        let client = self.client.clone();
        if let Err(e) = self.wait(async move { client.create_vector_name(request).await }) {
            // Declared by another machine in the meantime is fine; anything else is not.
            if !e.to_string().contains("already exists") {
                return Err(self.error()(e));
            }
        }
        spaces.push(space.clone());
        spaces.sort_by(|a, b| a.name.cmp(&b.name));
        self.upsert(vec![PointStruct::new(
            singleton(kind::SPACES),
            HashMap::<String, Vec<f32>>::new(),
            codec::payload(json!({
                "kind": kind::SPACES,
                "spaces": serde_json::to_string(&spaces).map_err(codec::bad_json)?,
            }))?,
        )])
    }

    fn spaces(&self) -> Result<Vec<Space>> {
        let found = self.get(vec![singleton(kind::SPACES)], Some(&["spaces"]), false)?;
        let spaces: Vec<Space> = match found.first() {
            Some(point) => codec::json_field(&point.payload, "spaces")?,
            None => Vec::new(),
        };
        *self.known_spaces.lock().unwrap_or_else(|p| p.into_inner()) = spaces.clone();
        Ok(spaces)
    }

    fn video_vector(&self, id: i64, space: &str) -> Result<Option<Vec<f32>>> {
        let Some(gen) = self.current_generation(id)? else {
            return Ok(None);
        };
        let found = self.get(vec![video_point(id, gen)], Some(&[]), true)?;
        Ok(found.first().and_then(|p| codec::vector(p, space)))
    }

    fn video_spaces(&self, id: i64) -> Result<Vec<String>> {
        Ok(match self.row(id, Some(&["spaces"]))? {
            Some(row) => codec::json_field(&row.payload, "spaces")?,
            None => Vec::new(),
        })
    }

    fn moments(&self, id: i64, space: &str) -> Result<Vec<TimedVector>> {
        writer::stored_moments(self, id, space, true)
    }

    fn stored_vectors(&self, id: i64, space: &str) -> Result<SpaceVectors> {
        let segments = self.row_segments(id)?;
        let Some(gen) = self.current_generation(id)? else {
            return Ok(SpaceVectors {
                space: space.to_string(),
                segments: Vec::new(),
                video: None,
            });
        };
        let mut ids: Vec<PointId> = segments.iter().map(|s| segment_point(s.id, gen)).collect();
        ids.push(video_point(id, gen));
        let mut by_segment: HashMap<i64, Vec<f32>> = HashMap::new();
        let mut video = None;
        for point in self.get(ids, Some(&["kind", "seg"]), true)? {
            let Some(vector) = codec::vector(&point, space) else {
                continue;
            };
            if field::<String>(&point.payload, "kind")? == kind::VIDEO {
                video = Some(vector);
            } else {
                by_segment.insert(field(&point.payload, "seg")?, vector);
            }
        }
        Ok(SpaceVectors {
            space: space.to_string(),
            segments: segments.iter().map(|s| by_segment.remove(&s.id)).collect(),
            video,
        })
    }

    fn video_vectors(&self, space: &str) -> Result<Vec<(i64, Vec<f32>)>> {
        let points = self.scroll_all(
            QFilter::must([is(kind::VIDEO), Condition::has_vector(space)]),
            Some(&["video", "gen"]),
            true,
        )?;
        let mut vectors = Vec::new();
        for (video, point) in self.current(points)? {
            if let Some(v) = codec::vector(&point, space) {
                vectors.push((video, v));
            }
        }
        vectors.sort_by_key(|(video, _)| *video);
        Ok(vectors)
    }

    fn scroll(&self, space: &str, from: Option<&Cursor>, limit: usize) -> Result<Page> {
        if !self.spaces()?.iter().any(|s| s.name == space) {
            return Err(IndexError::UnknownSpace(space.to_string()));
        }
        // The cursor is (video, position of the next segment in it): pages go video by video in
        // id order, each video's segments in time order.
        let (first_video, first_position) = match from.map(|c| c.0.as_slice()) {
            Some([video, position]) => (*video, *position as usize),
            Some(_) => return Err(IndexError::Query("a scroll cursor of another store".into())),
            None => (i64::MIN, 0),
        };
        let mut rows: Vec<(i64, i64)> = self
            .all_rows(&["video", "gen"])?
            .iter()
            .map(|r| Ok((field(&r.payload, "video")?, field(&r.payload, "gen")?)))
            .collect::<Result<_>>()?;
        rows.sort();
        let mut points = Vec::new();
        for (video, gen) in rows.into_iter().filter(|(v, _)| *v >= first_video) {
            let segments = self.row_segments(video)?;
            let start = if video == first_video { first_position } else { 0 };
            let ids: Vec<PointId> = segments.iter().skip(start).map(|s| segment_point(s.id, gen)).collect();
            let vectors: HashMap<i64, Vec<f32>> = self
                .get(ids, Some(&["seg"]), true)?
                .iter()
                .filter_map(|p| Some((field(&p.payload, "seg").ok()?, codec::vector(p, space)?)))
                .collect();
            for (position, segment) in segments.into_iter().enumerate().skip(start) {
                if points.len() == limit {
                    return Ok(Page {
                        points,
                        next: Some(Cursor(vec![video, position as i64])),
                    });
                }
                if let Some(vector) = vectors.get(&segment.id) {
                    points.push((segment, vector.clone()));
                }
            }
        }
        Ok(Page { points, next: None })
    }

    fn search(&self, request: &crate::SearchRequest<'_>) -> Result<Vec<ScoredPoint>> {
        Ok(self.search_current(request)?.iter().map(|(p, _)| p.scored()).collect())
    }

    fn count(&self, space: &str) -> Result<u64> {
        self.count_points(QFilter::must([is(kind::SEGMENT), Condition::has_vector(space)]))
    }

    fn search_videos(&self, space: &str, query: &[f32], top: usize) -> Result<Vec<(i64, f32)>> {
        self.check_space(space, query.len())?;
        if top == 0 {
            return Ok(Vec::new());
        }
        let filter = QFilter::must([is(kind::VIDEO)]);
        Ok(self
            .nearest_current(space, query, filter, top, false, false)?
            .into_iter()
            .map(|(p, _)| (p.video, p.score))
            .collect())
    }

    fn optimize(&self, _started: &mut dyn FnMut(&str, u64)) -> Result<Vec<Optimized>> {
        // The cluster builds its HNSW graphs in the background; what is left to do here is to
        // drop what dead writers left: points of generations no row names.
        let rows: HashMap<i64, i64> = self
            .all_rows(&["video", "gen"])?
            .iter()
            .map(|r| Ok((field(&r.payload, "video")?, field(&r.payload, "gen")?)))
            .collect::<Result<_>>()?;
        for (video, gen) in &rows {
            self.sweep(*video, *gen)?;
        }
        Ok(Vec::new())
    }
}

impl VectorStore for QdrantStore {
    /// The spans and paths come with the search's own answer: no look-up after it.
    fn hits(&self, request: &crate::SearchRequest<'_>) -> Result<Vec<Hit>> {
        Ok(self
            .search_current(request)?
            .into_iter()
            .map(|(p, path)| Hit::at(&p.scored(), path, p.start, p.end))
            .collect())
    }

    fn write_video(&self, path: &str, content: &str) -> Result<Box<dyn VideoWriter + '_>> {
        Ok(Box::new(writer::QdrantWriter::new(self, path, content)?))
    }

    fn extend_video(&self, video_id: i64, spaces: &[String]) -> Result<Box<dyn VideoWriter + '_>> {
        Ok(Box::new(writer::QdrantWriter::extend(self, video_id, spaces)?))
    }

    fn remove_videos(&self, ids: &[i64]) -> Result<()> {
        let _one_writer = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        self.remove_rows_and_points(ids)?;
        self.tick(codec::now_us())
    }
}

impl QdrantStore {
    /// The rows go first, in one request: from then on no reader sees these videos; their points
    /// go after.
    fn remove_rows_and_points(&self, ids: &[i64]) -> Result<()> {
        let request = DeletePointsBuilder::new(self.name())
            .points(PointsSelectorOneOf::Points(
                ids.iter().map(|&id| row_id(id)).collect::<Vec<_>>().into(),
            ))
            .wait(true);
        let client = self.client.clone();
        self.wait(async move { client.delete_points(request).await })
            .map_err(self.error())?;
        if !ids.is_empty() {
            self.delete(QFilter::must([Condition::matches("video", ids.to_vec())]))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn addresses_name_the_scheme_and_the_endpoint() {
        let plain = QdrantOptions::from_url("qdrant://10.0.0.5:6334/").unwrap();
        assert_eq!(plain.endpoint, "http://10.0.0.5:6334");
        assert_eq!(plain.collection, DEFAULT_COLLECTION);
        assert_eq!(
            QdrantOptions::from_url("qdrants://db:6334").unwrap().endpoint,
            "https://db:6334"
        );
        assert!(QdrantOptions::from_url("/var/lib/vtx").is_none());
        assert!(QdrantOptions::from_url("http://db:6334").is_none());
    }

    #[test]
    fn an_unreachable_cluster_is_one_clear_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut options = QdrantOptions::from_url(&format!("qdrant://127.0.0.1:{port}")).unwrap();
        options.timeout = Duration::from_secs(2);
        let error = QdrantStore::open(options).err().expect("nothing listens there");
        assert!(matches!(error, IndexError::Unreachable(_)), "{error:?}");
        assert_eq!(error.kind(), vtx_core::ErrorKind::Unavailable);
        let message = error.to_string();
        assert!(
            message.starts_with("cannot reach the Qdrant cluster at qdrant://127.0.0.1:"),
            "{message}"
        );
        assert!(message.ends_with("(Connection refused)"), "{message}");
    }

    #[test]
    fn passes_the_contract_on_a_real_cluster() {
        let Some(cluster) = cluster::TestCluster::from_env(3) else {
            eprintln!(
                "skipped: the Qdrant contract ({})",
                cluster::unavailable().unwrap_or_default()
            );
            return;
        };
        let run = codec::now_us();
        let opened = Mutex::new(Vec::new());
        let open = |dir: &Path| -> Box<dyn VectorStore> {
            let mut options = QdrantOptions::from_url(&cluster.url).unwrap();
            let check = dir.file_name().unwrap().to_string_lossy();
            options.collection = format!("vtx_contract_{run}_{check}");
            options.shards = Some(3);
            opened.lock().unwrap().push(options.clone());
            Box::new(QdrantStore::open(options).expect("open a collection"))
        };
        let scratch = tempfile::tempdir().unwrap();
        crate::contract::run(&open, scratch.path());
        for options in opened.into_inner().unwrap() {
            if let Ok(store) = QdrantStore::open_existing(options) {
                let _ = store.delete_collection();
            }
        }
    }
}
