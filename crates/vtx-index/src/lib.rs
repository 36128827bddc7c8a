//! The store behind vtx: videos, their moments' and segments' vectors in named vector spaces,
//! and nearest-neighbour search over them.
//!
//! Three seams: a [`Catalog`] (videos, shots, segments, thumbnails, tags), a [`VectorIndex`]
//! (points in named spaces, searched with requests as data: [`SearchRequest`], [`Filter`]) and
//! [`Claims`] (leases that let several workers share the files of one run).
//! [`VectorStore`] is the set kept in step, what the engine relies on: per-video writes through
//! a [`VideoWriter`] and removals, all or nothing; a generic test suite every implementation
//! passes (`contract`). [`SqliteStore`] is the embedded implementation: one SQLite file in the
//! index directory is the record, and each large space gets an HNSW graph derived from it
//! (`ann`). [`QdrantStore`] keeps all of it in one collection of a Qdrant cluster.
//! `docs/design.md` describes the data model and why it is built so.

mod ann;
mod claims;
#[cfg(any(test, feature = "contract"))]
pub mod contract;
pub mod ids;
mod keywords;
mod qdrant;
mod query;
mod ranking;
mod segments;
mod sqlite;
mod synthetic;
pub mod transfer;

pub use ann::{AnnOptions, OptimizeAction, Optimized, Quantization};
pub use claims::{Claim, Claims};
pub use keywords::{Keywords, HIGHLIGHT};
#[cfg(any(test, feature = "contract"))]
pub use qdrant::cluster;
pub use qdrant::{QdrantOptions, QdrantStore, CONNECT_TIMEOUT, DEFAULT_COLLECTION, REQUEST_TIMEOUT};
pub use query::{Filter, ObjectFilter, SearchRequest, TimeRange};
pub use segments::{or_whole, pool_space, segment_of, Pooling, SpaceVectors};
pub use sqlite::SqliteStore;
pub use synthetic::Synthetic;

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("index storage: {0}")]
    Storage(String),
    #[error("another vtx process is writing this index; try again when it has finished")]
    Busy,
    #[error("the disk is full (nothing of this video was written)")]
    DiskFull,
    #[error("the index at {0} was written by another version of vtx (schema {1}, this vtx reads {2}): index into a new directory")]
    Schema(String, i64, i64),
    #[error("{0}")]
    Usage(&'static str),
    #[error("bad query: {0}")]
    Query(String),
    #[error("approximate index: {0}")]
    Graph(String),
    #[error("no index at {0} (create one with `vtx index PATH... --index {0}`)")]
    NotFound(String),
    #[error("cannot reach the Qdrant cluster at {0}")]
    Unreachable(String),
    #[error("the Qdrant cluster at {url} has no collection '{collection}' (create it with `vtx index PATH... --store {url} --collection {collection}`)")]
    NoCollection { url: String, collection: String },
    #[error("vector space '{0}' does not exist in this index")]
    UnknownSpace(String),
    #[error("vector space '{space}' holds {expected}-d vectors, got {got}-d")]
    Dimension { space: String, expected: usize, got: usize },
    #[error("vector space '{space}' holds vectors of model '{holds}'; model '{got}' cannot write into it (its vectors would not be comparable): give it another space")]
    ForeignModel { space: String, holds: String, got: String },
}

impl IndexError {
    pub fn kind(&self) -> vtx_core::ErrorKind {
        use vtx_core::ErrorKind;
        match self {
            Self::Busy => ErrorKind::Busy,
            Self::DiskFull | Self::Unreachable(_) => ErrorKind::Unavailable,
            Self::Schema(..) | Self::ForeignModel { .. } => ErrorKind::Conflict,
            Self::NotFound(_) | Self::NoCollection { .. } | Self::UnknownSpace(_) => ErrorKind::NotFound,
            Self::Dimension { .. } | Self::Query(_) => ErrorKind::BadInput,
            Self::Storage(_) | Self::Usage(_) | Self::Graph(_) => ErrorKind::Internal,
        }
    }
}

pub type Result<T> = std::result::Result<T, IndexError>;

/// A named vector space: every vector in it comes from the same model and can be compared.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Space {
    pub name: String,
    pub dim: usize,
    /// Which model wrote the vectors, so that a query is embedded the same way.
    pub model: String,
}

/// What is known about one indexed video file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VideoMeta {
    /// The path as it was given to `vtx index`, made absolute, as text
    /// ([`vtx_core::path_to_text`]: a name that is not UTF-8 is a `file://` URL).
    pub path: String,
    pub size: u64,
    /// Modification time in nanoseconds since the epoch, for the cheap "unchanged?" check.
    pub mtime_ns: i64,
    /// BLAKE3 of the file's bytes.
    pub hash: String,
    /// Measured duration in seconds (from decoded frames, not the header).
    pub duration: f64,
    pub fps: Option<f64>,
    pub format: String,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// Frames sampled for its image models (other streams, such as motion, are not counted).
    pub frames: u32,
}

impl VideoMeta {
    /// The file itself, whatever bytes its name is made of.
    pub fn file(&self) -> std::path::PathBuf {
        vtx_core::text_to_path(&self.path)
    }
}

/// A stored video with its id (see [`ids`]).
#[derive(Debug, Clone, PartialEq)]
pub struct VideoRecord {
    pub id: i64,
    pub meta: VideoMeta,
}

/// One vector of a moment: a sampled frame, or a clip window starting at `t`.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedVector {
    /// Seconds into the video.
    pub t: f64,
    pub vector: Vec<f32>,
}

/// Everything written for one video, in one atomic step.
#[derive(Debug, Clone)]
pub struct VideoEntry {
    pub meta: VideoMeta,
    /// Per space, its moments' vectors (spaces need not share timestamps).
    pub frames: Vec<(String, Vec<TimedVector>)>,
    /// Its segments, in time order.
    pub segments: Vec<SegmentSpan>,
    /// Per space, its segments' vectors (aligned with `segments`) and its own.
    pub vectors: Vec<SpaceVectors>,
}

impl VideoEntry {
    /// An entry whose segment and video vectors are pooled from `frames` (see [`pool_space`]);
    /// no segments: one spanning the whole video.
    pub fn pooled(
        meta: VideoMeta,
        frames: Vec<(String, Vec<TimedVector>)>,
        segments: Vec<SegmentSpan>,
        pooling: Pooling,
    ) -> Self {
        let segments = or_whole(segments, meta.duration);
        let starts: Vec<f64> = segments.iter().map(|s| s.start).collect();
        let vectors = frames
            .iter()
            .map(|(space, moments)| pool_space(space, moments, &starts, pooling))
            .collect();
        Self {
            meta,
            frames,
            segments,
            vectors,
        }
    }
}

/// A moment that matched: one segment of a video.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub video_id: i64,
    pub path: String,
    /// The segment's id (for its thumbnail).
    pub segment: i64,
    /// Where the segment starts and ends, seconds into the video.
    pub start: f64,
    pub end: f64,
    /// Cosine similarity (see the engine's search for the other rankings it gives).
    pub score: f32,
    /// Why it matched: "visual" (its vectors are near the query's), "keyword" (its text holds
    /// the query's words), "speech" (what is said in it is near the query); empty where the store
    /// alone ranked it.
    pub matched: Vec<String>,
    /// The line of text that matched the query's words, and when it appears.
    pub snippet: Option<Snippet>,
}

impl Hit {
    /// The hit for a scored point: its video's path and its segment's span; matched for no
    /// reason yet.
    pub fn at(point: &ScoredPoint, path: String, start: f64, end: f64) -> Self {
        Self {
            video_id: point.video,
            path,
            segment: point.segment,
            start,
            end,
            score: point.score,
            matched: Vec::new(),
            snippet: None,
        }
    }
}

/// A matched line of text in a hit: the words that matched between [`HIGHLIGHT`] marks, and
/// when it is on screen, seconds into the video.
#[derive(Debug, Clone, PartialEq)]
pub struct Snippet {
    pub text: String,
    pub source: TextSource,
    pub start: f64,
    pub end: f64,
}

/// A line of text on screen (`vtx index --ocr`), for as long as it stays there.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TextSpan {
    /// Seconds into the video: first seen, and when it was last seen plus one sampling step.
    pub start: f64,
    pub end: f64,
    pub text: String,
    /// The reader's confidence, best over the moments it was read.
    pub score: f32,
    /// `[x0, y0, x1, y1]` in fractions of the frame, where it was first read.
    pub bbox: [f32; 4],
    /// Each word with its time, where the reader gives them (speech).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<TimedWord>,
}

/// A word of a [`TextSpan`], with when it is said (seconds into the video).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TimedWord {
    pub start: f64,
    pub end: f64,
    pub text: String,
}

/// Where a video's text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TextSource {
    /// Read in the picture (`vtx index --ocr`).
    Screen,
    /// Heard in the sound (`vtx index --speech`).
    Speech,
}

vtx_core::names!(TextSource, "text source", {
    TextSource::Screen => "screen",
    TextSource::Speech => "speech",
});

/// What a text reader (or a speech model) found in one video: how it was run, and the lines it
/// read (or the phrases it heard).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VideoText {
    pub source: TextSource,
    /// The model that found them.
    pub reader: String,
    /// Frames a second the reader saw, and how many it saw in all; for speech, 0 and the seconds of
    /// sound heard (0: the video has no audio stream).
    pub fps: f64,
    pub frames: u32,
    /// The language of what was heard (an ISO 639-1 code such as `en`), where the model says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// In time order.
    pub lines: Vec<TextSpan>,
}

/// A line of text a keyword search found: the segment it is in, and where in it.
#[derive(Debug, Clone, PartialEq)]
pub struct TextMatch {
    /// Its segment and video; the score is BM25's relevance (higher is better).
    pub point: ScoredPoint,
    pub line: TextSpan,
    pub source: TextSource,
    /// The line with each matched word or phrase between [`HIGHLIGHT`] marks.
    pub snippet: String,
}

/// A segment to store: its span and a representative thumbnail (JPEG).
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSpan {
    pub start: f64,
    pub end: f64,
    pub thumbnail: Option<Vec<u8>>,
}

/// A zero-shot label of a segment, with its score (cosine in a text space).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tag {
    pub segment: i64,
    pub label: String,
    pub score: f32,
}

/// An object followed through a video, as the catalog keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ObjectTrack {
    /// Unique within its video.
    pub id: u32,
    pub label: String,
    pub start: f64,
    pub end: f64,
    pub score: f32,
    /// Frame widths a second, right and down positive.
    pub velocity: (f32, f32),
    pub heading: String,
    /// What a person does, span by span: (action, start, end).
    pub actions: Vec<(String, f64, f64)>,
    pub boxes: Vec<TrackPoint>,
}

/// A track's box at one moment: `[x0, y0, x1, y1]` in fractions of the frame.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrackPoint {
    pub t: f64,
    pub bbox: [f32; 4],
    pub score: f32,
}

/// How present one object label is in one segment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SegmentObjects {
    pub segment: i64,
    pub label: String,
    /// The most seen at once.
    pub count: u32,
    /// Mean detection score.
    pub score: f32,
    /// Share of the segment's sampled moments in which at least one is seen.
    pub share: f32,
}

/// What a detector found in one video: how it was run, its tracks, and each segment's labels.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VideoObjects {
    pub detector: String,
    /// Frames a second the detector saw, and how many it saw in all.
    pub fps: f64,
    pub frames: u32,
    pub tracks: Vec<ObjectTrack>,
    pub segments: Vec<SegmentObjects>,
    /// People's actions per segment, as labels: `count` is how many do it at once.
    pub actions: Vec<SegmentObjects>,
}

/// A stored segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub id: i64,
    pub video_id: i64,
    pub start: f64,
    pub end: f64,
    pub has_thumbnail: bool,
}

/// One shot of a stored video: seconds, and how it began ("start", "cut", "fade").
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShotSpan {
    pub start: f64,
    pub end: f64,
    pub boundary: String,
}

/// A point a search found: a segment of a video, with its cosine similarity to the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredPoint {
    pub segment: i64,
    pub video: i64,
    pub score: f32,
}

/// Where a scroll goes on: the store's own position, opaque to callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(pub(crate) Vec<i64>);

/// One page of a scroll.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub points: Vec<(Segment, Vec<f32>)>,
    /// Where the next page starts; `None` after the last.
    pub next: Option<Cursor>,
}

/// Totals for `vtx info`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoreStats {
    pub videos: u64,
    pub frames: u64,
    pub segments: u64,
    pub total_duration: f64,
    pub bytes_on_disk: u64,
    /// Per source of text that something has looked for.
    pub text: Vec<TextStats>,
    /// How a store on a cluster is spread over it; `None` for an embedded one.
    pub cluster: Option<ClusterStats>,
}

/// How a collection lies on its cluster (`vtx info --store`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClusterStats {
    /// Nodes that hold a shard of the collection.
    pub nodes: usize,
    pub shards: u32,
    /// Copies of each shard, and how many must take a write.
    pub replicas: u32,
    pub write_consistency: u32,
    /// Points of every kind (segments, videos and the catalog's records).
    pub points: u64,
    /// Each copy of each shard: (shard, node, state such as "Active" or "Dead").
    pub shard_copies: Vec<(u32, u64, String)>,
}

/// What was found of one source of text across the store.
#[derive(Debug, Clone, PartialEq)]
pub struct TextStats {
    pub source: TextSource,
    /// Videos looked at, and the lines (or phrases) found in them.
    pub videos: u64,
    pub lines: u64,
    /// Videos looked at in which nothing was found.
    pub empty: u64,
    /// Of those, videos with nothing to look at: no audio stream, for speech.
    pub nothing_there: u64,
}

/// The catalog: what is known of each video besides its vectors (its file, shots, segments,
/// thumbnails, tags, and the moments its vectors were pooled from).
pub trait Catalog: Send + Sync {
    /// A stored video by id.
    fn video_by_id(&self, id: i64) -> Result<Option<VideoRecord>>;
    fn video_by_path(&self, path: &str) -> Result<Option<VideoRecord>>;
    fn videos(&self) -> Result<Vec<VideoRecord>>;
    /// A stored video's shots, in time order.
    fn shots(&self, video_id: i64) -> Result<Vec<ShotSpan>>;
    /// A stored video's segments, in time order.
    fn segments(&self, video_id: i64) -> Result<Vec<Segment>>;
    /// A segment's thumbnail (JPEG), if it has one.
    fn thumbnail(&self, segment_id: i64) -> Result<Option<Vec<u8>>>;
    /// Record a new modification time for a file whose content did not change.
    fn touch_video(&self, id: i64, mtime_ns: i64) -> Result<()>;
    /// The times of a stored video's moments in `space`, ascending.
    fn frame_times(&self, id: i64, space: &str) -> Result<Vec<f64>>;
    /// Replace the tags of a stored video's segments.
    fn set_tags(&self, video_id: i64, tags: &[Tag]) -> Result<()>;
    /// A stored video's segment tags, by segment then score.
    fn tags(&self, video_id: i64) -> Result<Vec<Tag>>;
    /// Replace what a detector found in a stored video.
    fn set_objects(&self, video_id: i64, objects: &VideoObjects) -> Result<()>;
    /// What a detector found in a stored video (tracks by id, segments in time order), or `None`
    /// if no detector has run on it since it was indexed.
    fn objects(&self, video_id: i64) -> Result<Option<VideoObjects>>;
    /// The segments that `filter` admits and that hold its object (or, with none, where its
    /// action is done), best detection score first: a search by object alone. An error if the
    /// filter names neither.
    fn object_hits(&self, filter: &Filter, limit: usize) -> Result<Vec<ScoredPoint>>;
    /// Replace what a text reader (or a speech model) found in a stored video, for its source.
    fn set_text(&self, video_id: i64, text: &VideoText) -> Result<()>;
    /// What was found of `source` in a stored video, or `None` if nothing has looked for it
    /// since the video was indexed.
    fn text(&self, video_id: i64, source: TextSource) -> Result<Option<VideoText>>;
    /// The lines of text (of every source) that match `keywords`, in segments `filter` admits, most relevant
    /// first (BM25), at most one per segment (its best).
    fn text_matches(&self, keywords: &Keywords, filter: &Filter, limit: usize) -> Result<Vec<TextMatch>>;
    /// Hits for scored points, in their order: each with its video's path and its segment's span.
    /// A point whose segment is gone (removed since the search) is left out.
    fn resolve(&self, scored: &[ScoredPoint]) -> Result<Vec<Hit>>;
    fn stats(&self) -> Result<StoreStats>;
    /// A number that changes with every write of videos, their vectors or their tags (and stays
    /// put otherwise), across processes: what caches of answers key on.
    fn generation(&self) -> Result<u64>;
}

/// Points in named vector spaces, searched by cosine similarity over unit vectors, exactly or
/// approximately: per space, one point per segment (its id is the segment's) and one per video.
pub trait VectorIndex: Send + Sync {
    /// Declare a space; re-declaring it as it is is a no-op, with another dimension or model an
    /// error.
    fn ensure_space(&self, space: &Space) -> Result<()>;
    fn spaces(&self) -> Result<Vec<Space>>;
    fn video_vector(&self, id: i64, space: &str) -> Result<Option<Vec<f32>>>;
    /// The spaces a stored video has vectors in.
    fn video_spaces(&self, id: i64) -> Result<Vec<String>>;
    /// A stored video's moments in `space`, in time order, with their vectors.
    fn moments(&self, id: i64, space: &str) -> Result<Vec<TimedVector>>;
    /// A stored video's vectors in `space`: its segments' (aligned with its segments) and its own.
    fn stored_vectors(&self, id: i64, space: &str) -> Result<SpaceVectors>;
    /// Every video's vector in `space`: (video id, vector), by video id.
    fn video_vectors(&self, space: &str) -> Result<Vec<(i64, Vec<f32>)>>;
    /// The segment vectors of `space`, a page of at most `limit` at a time, by video and time:
    /// the first page from `None`, each next one from the page before's `next`.
    fn scroll(&self, space: &str, from: Option<&Cursor>, limit: usize) -> Result<Page>;
    /// The segments most similar to `request.query`, best first, as the request says: filtered
    /// inside the search, grouped by video or not, approximate where the index has a graph for
    /// the space unless `exact`.
    fn search(&self, request: &SearchRequest<'_>) -> Result<Vec<ScoredPoint>>;
    /// How many segment vectors `space` holds.
    fn count(&self, space: &str) -> Result<u64>;
    /// The `top` videos whose own vector in `space` is most similar to `query`, best first:
    /// (video id, cosine).
    fn search_videos(&self, space: &str, query: &[f32], top: usize) -> Result<Vec<(i64, f32)>>;
    /// Bring derived search structures (approximate indexes) up to date with what was written;
    /// `started` hears of each space before long work on it. Searching is correct without it,
    /// only slower.
    fn optimize(&self, started: &mut dyn FnMut(&str, u64)) -> Result<Vec<Optimized>>;
}

/// A catalog and a vector index kept in step: what the engine holds. The operations that change
/// both are here, each all or nothing: readers never see half a video. `docs/design.md` has the
/// protocol a pair without one shared transaction follows. Shared by every thread of a process
/// (`&self` throughout): reads run side by side, writes queue.
pub trait VectorStore: Catalog + VectorIndex + Claims {
    /// Start replacing whatever the store holds for `path`, a file whose content hash is
    /// `content`: the video's id, and its segments', derive from it ([`ids`]). Until the writer
    /// commits, readers see the old state; dropping it uncommitted (an error, a panic) keeps that
    /// state, and so does a crash. One writer at a time: a second waits for the first.
    fn write_video(&self, path: &str, content: &str) -> Result<Box<dyn VideoWriter + '_>>;
    /// Start adding (or replacing) the vectors of `spaces` for a stored video, keeping the rest
    /// and its segments: how a model added to an index catches up.
    fn extend_video(&self, video_id: i64, spaces: &[String]) -> Result<Box<dyn VideoWriter + '_>>;
    /// Drop these videos and everything stored for them, all or nothing.
    fn remove_videos(&self, ids: &[i64]) -> Result<()>;
    /// Replace whatever the store holds for `entry.meta.path` with `entry`, all or nothing.
    fn put_video(&self, entry: &VideoEntry) -> Result<i64> {
        let mut writer = self.write_video(&entry.meta.path, &entry.meta.hash)?;
        for (space, frames) in &entry.frames {
            writer.add_frames(space, frames)?;
        }
        writer.set_segments(&entry.segments)?;
        for vectors in &entry.vectors {
            writer.put_vectors(vectors)?;
        }
        writer.commit(&entry.meta)
    }
    /// [`search`](VectorIndex::search), with each point resolved to its moment.
    fn hits(&self, request: &SearchRequest<'_>) -> Result<Vec<Hit>> {
        self.resolve(&self.search(request)?)
    }
}

/// One video being written ([`VectorStore::write_video`], [`VectorStore::extend_video`]). Frames
/// come in batches, so a long video never has to sit in memory whole; [`commit`](Self::commit)
/// makes all of it visible at once, and dropping the writer uncommitted undoes all of it. The
/// store only stores: segment and video vectors are computed by the caller ([`pool_space`]).
pub trait VideoWriter {
    fn add_frames(&mut self, space: &str, frames: &[TimedVector]) -> Result<()>;
    /// The video's moments in `space` as this write stands, in time order.
    fn moments(&self, space: &str) -> Result<Vec<TimedVector>>;
    /// Replace the video's shots.
    fn set_shots(&mut self, shots: &[ShotSpan]) -> Result<()>;
    /// Replace the video's segments (in time order; each one's id derives from its position);
    /// their vectors go with them.
    fn set_segments(&mut self, segments: &[SegmentSpan]) -> Result<()>;
    /// The video's segments as this write stands, in time order.
    fn segments(&self) -> Result<Vec<Segment>>;
    /// Replace the video's vectors in one space: one a segment, aligned with
    /// [`segments`](Self::segments), and the video's own.
    fn put_vectors(&mut self, vectors: &SpaceVectors) -> Result<()>;
    /// Replace the video's text of `text.source` (what was said in it, read in it), seen from
    /// the commit on, like everything else of the write.
    fn set_text(&mut self, text: &VideoText) -> Result<()>;
    /// Make the write visible, with the video's metadata; returns the video's id.
    fn commit(self: Box<Self>, meta: &VideoMeta) -> Result<i64>;
}
