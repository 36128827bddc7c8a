//! vtx: index a video library into embeddings and search it by text or by example.
//!
//! [`Engine`] is the library API; the `vtx` binary is a thin shell over it. An engine owns one
//! index (a directory) and reads models from one model folder. It decodes videos on a separate
//! thread, overlapped with inference, and writes each video to the index in one atomic step. An
//! index holds one vector space per model; a model is added by naming it when indexing. The
//! unit of retrieval is a segment: a shot, cut into spans of at most a few seconds, whose vector
//! is pooled from its frames'.
//!
//! ```no_run
//! use vtx::{Engine, EngineConfig, IndexOptions};
//! # fn main() -> Result<(), vtx::EngineError> {
//! let engine = Engine::open(EngineConfig::new("my-index".into(), "models".into()))?;
//! let options = IndexOptions { models: vec!["clip-b32".into()], ..Default::default() };
//! let report = engine.index(&["clips/".into()], &options, &mut (), &Default::default())?;
//! // The index's CLIP-family space if it has one, else its ConSE text space; the best moment of
//! // each video only.
//! let search = vtx::SearchOptions { top: 5, per_video: true, ..Default::default() };
//! for hit in engine.search("a cat on a sofa", &search)? {
//!     println!("{}  {:.1}-{:.1} s  {:.2}", hit.path, hit.start, hit.end, hit.score);
//! }
//! # Ok(()) }
//! ```

mod actions;
pub mod cluster;
mod discover;
mod error;
pub mod eval;
mod evidence;
mod found_text;
mod frame_models;
mod hybrid;
mod ingest;
mod labels;
mod leases;
mod motion;
mod objects;
mod passes;
mod posture;
mod query_cache;
mod screen_text;
mod segments;
mod sessions;
mod speech;
mod tags;
mod track;
mod transfer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use vtx_core::{path_to_text, text_is_under};
use vtx_index::{Hit, QdrantStore, SearchRequest, Space, SqliteStore, StoreStats, VectorStore};
use vtx_models::{ModelKind, OnnxClipEncoder, OnnxImageEncoder, OnnxTextEncoder, Registry, TextEncoder};

use frame_models::{FrameEncoder, FrameModel, ModelInfo};
use sessions::Sessions;

pub use actions::{ActionSpan, ACTIONS};
pub use discover::{discover, Discovery, VIDEO_EXTENSIONS};
pub use error::{EngineError, ErrorKind, Result};
pub use evidence::DEFAULT_TEXT_WEIGHT;
pub use found_text::FindsText;
pub use frame_models::frame_size;
pub use hybrid::{SearchMode, KEYWORD_WEIGHT, RRF_K, SPEECH_MIN_COSINE, SPEECH_WEIGHT, VISUAL_WEIGHT};
pub use ingest::{
    decoder_for, default_jobs, FileOutcome, IndexObserver, IndexOptions, IndexReport, DEFAULT_SEGMENT_SECONDS,
};
pub use labels::{label_name, Labels};
pub use motion::{model_registry, SegmentMotion, Stream, DEFAULT_MOTION_WEIGHT, MOTION_MODEL, MOTION_SPACE};
pub use objects::{
    objects, ObjectOptions, ObjectsReport, StoredTracks, DEFAULT_DETECTOR, DEFAULT_OBJECT_FPS, DEFAULT_POSE,
};
pub use posture::Posture;
pub use screen_text::{ScreenLine, ScreenReader, TextOptions, TextReport, DEFAULT_READER, DEFAULT_TEXT_FPS};
pub use speech::{SpeechOptions, Transcriber, Transcript, DEFAULT_SPEECH_MODEL, SPEECH_SPACE};
pub use tags::{SegmentTags, TagOptions, VideoTags};
pub use track::{Track, TrackBox, TrackerOptions};
pub use transfer::{copy_index, CopyReport};
pub use vtx_index::Hit as SearchHit;
pub use vtx_index::Pooling;
pub use vtx_index::{AnnOptions, OptimizeAction, Optimized, Quantization};
pub use vtx_index::{IndexError, ObjectFilter, Segment, Snippet, Tag, TextSource, VideoMeta, VideoRecord};
pub use vtx_index::{
    QdrantOptions, CONNECT_TIMEOUT as QDRANT_CONNECT_TIMEOUT, DEFAULT_COLLECTION,
    REQUEST_TIMEOUT as QDRANT_REQUEST_TIMEOUT,
};
pub use vtx_media::MediaError;
pub use vtx_media::MotionOptions;
pub use vtx_media::{Boundary, Deblocking, Decoder, Detector, Sampling, Shot, ShotOptions};
pub use vtx_models::ModelError;
pub use vtx_models::{Device, Manifest, Registry as ModelRegistry};

/// Of a video's segments (in time order), the one with a thumbnail nearest the video's middle:
/// the picture that stands for the whole video.
pub fn middle_thumbnail(segments: &[Segment]) -> Option<i64> {
    let middle = segments.last().map_or(0.0, |s| s.end) / 2.0;
    let off = |s: &Segment| ((s.start + s.end) / 2.0 - middle).abs();
    segments
        .iter()
        .filter(|s| s.has_thumbnail)
        .min_by(|a, b| off(a).total_cmp(&off(b)))
        .map(|s| s.id)
}

/// The indexed videos at `path` or under it (as a folder).
fn indexed_under<'a>(videos: &'a [VideoRecord], path: &Path) -> Vec<&'a VideoRecord> {
    videos.iter().filter(|v| text_is_under(&v.meta.path, path)).collect()
}

/// Segment vectors read from the store at a time.
const SCROLL_PAGE: usize = 4096;

/// Texts embedded in one turn at a text model (about 50 ms for MiniLM on 2 cores).
const TEXTS_PER_TURN: usize = 16;

/// Query embeddings an engine keeps (a 384-d one is 1.5 KB: 1024 of them are 1.5 MB).
const QUERY_CACHE_ENTRIES: usize = 1024;

/// The models a new index gets when none are named: the offline pack's EfficientNet-Lite0, which
/// also writes ConSE vectors into all-MiniLM-L6-v2's space for text search.
pub const DEFAULT_MODELS: &[&str] = &["efficientnet-lite0"];

/// Where the engine keeps its index and finds its models.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The embedded index's directory, unless `qdrant` names a cluster.
    pub index_dir: PathBuf,
    /// Keep the index in a collection of a Qdrant cluster instead.
    pub qdrant: Option<QdrantOptions>,
    pub models_dir: PathBuf,
    /// When the index's spaces get approximate (HNSW) indexes, and how they are built.
    pub ann: AnnOptions,
    /// Copies of each text model loaded at most, for threads embedding queries at once (each
    /// costs the model's memory again: about 90 MB for MiniLM). One for a program with one thread.
    pub text_sessions: usize,
    /// Where the models run; `None` takes each manifest's choice, else `auto`.
    pub device: Option<Device>,
}

impl EngineConfig {
    pub fn new(index_dir: PathBuf, models_dir: PathBuf) -> Self {
        Self {
            index_dir,
            qdrant: None,
            models_dir,
            ann: AnnOptions::default(),
            text_sessions: 1,
            device: None,
        }
    }

    /// Where the index is, for people: its directory, or the cluster and collection.
    pub fn location(&self) -> String {
        match &self.qdrant {
            Some(q) => format!("{} (collection {})", q.url, q.collection),
            None => self.index_dir.display().to_string(),
        }
    }
}

/// The store `config` names: its directory, or its cluster; one that must `exist`, or created.
fn open_store(config: &EngineConfig, exist: bool) -> Result<Arc<dyn VectorStore>> {
    Ok(match (&config.qdrant, exist) {
        (Some(cluster), true) => Arc::new(QdrantStore::open_existing(cluster.clone())?),
        (Some(cluster), false) => Arc::new(QdrantStore::open(cluster.clone())?),
        (None, true) => Arc::new(SqliteStore::open_existing_with(&config.index_dir, config.ann.clone())?),
        (None, false) => Arc::new(SqliteStore::open_with(&config.index_dir, config.ann.clone())?),
    })
}

/// A video's motion per segment (no index needed): its shots cut as indexing cuts them, each with
/// the mean of the optical-flow measurements inside it.
pub fn motion(video: &Path, options: &IndexOptions) -> Result<Vec<SegmentMotion>> {
    let measured = motion::measure(video, options)?;
    Ok(motion::per_segment(&measured.samples, &measured.spans))
}

/// The shots of one video (no index or model needed): every frame is decoded and compared, small.
pub fn shots(video: &Path, options: &ShotOptions) -> Result<Vec<Shot>> {
    Ok(vtx_media::detect_shots(video, options)?.0)
}

/// Hits that matched for one reason.
fn mark(mut hits: Vec<Hit>, why: &str) -> Vec<Hit> {
    for hit in &mut hits {
        hit.matched = vec![why.to_string()];
    }
    hits
}

/// How `Engine::search` ranks and filters.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub top: usize,
    /// The space to search (default: see [`Engine::text_space`]).
    pub space: Option<String>,
    /// Only the best moment of each video.
    pub per_video: bool,
    /// Only segments tagged (`vtx tag`) with a label containing this word.
    pub tag: Option<String>,
    /// Only segments where the detector saw this object (`vtx index --objects`).
    pub object: Option<vtx_index::ObjectFilter>,
    /// Only segments where someone does this (walking, running, ...; `vtx index --objects`).
    pub action: Option<String>,
    /// Scan every vector instead of walking the approximate index.
    pub exact: bool,
    /// Which rankings run: vectors, keywords in the on-screen text, or both fused.
    pub mode: SearchMode,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            top: 10,
            space: None,
            per_video: false,
            tag: None,
            object: None,
            action: None,
            exact: false,
            mode: SearchMode::default(),
        }
    }
}

impl SearchOptions {
    /// The store's filter for these options; an action must be one vtx reads.
    pub(crate) fn filter(&self) -> Result<vtx_index::Filter> {
        if let Some(action) = self.action.as_deref().filter(|a| !ACTIONS.contains(a)) {
            return Err(EngineError::invalid(
                "action",
                format!("must be one of {}, not '{action}'", ACTIONS.join(", ")),
            ));
        }
        Ok(vtx_index::Filter {
            tag: self.tag.clone(),
            object: self.object.clone(),
            action: self.action.clone(),
            ..Default::default()
        })
    }
}

/// What `vtx info` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IndexInfo {
    pub index_dir: String,
    pub videos: u64,
    pub frames: u64,
    pub segments: u64,
    pub total_duration_s: f64,
    pub bytes_on_disk: u64,
    pub spaces: Vec<SpaceInfo>,
    /// What was read on screen (`index --ocr`) and heard (`index --speech`).
    pub text: Vec<TextInfo>,
    /// How an index on a cluster is spread over it.
    pub cluster: Option<vtx_index::ClusterStats>,
}

/// What was found of one source of text (screen or speech) across the index.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TextInfo {
    pub source: String,
    /// Videos read (or transcribed), and the lines (or phrases) found in them.
    pub videos: u64,
    pub lines: u64,
    /// Videos in which nothing was found.
    pub empty: u64,
    /// Of those, the videos with no audio stream (speech).
    pub no_sound: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SpaceInfo {
    pub name: String,
    pub dim: usize,
    pub model: String,
    pub segment_vectors: u64,
    /// Large enough to be searched through an approximate (HNSW) index rather than exactly.
    pub approximate: bool,
}

/// A loaded model, shared by the threads of an engine: one call runs in it at a time.
type Shared<T> = Arc<Mutex<T>>;

/// A text model's copies, lent to one call each.
type TextModel = Arc<Sessions<Box<dyn TextEncoder>>>;

/// Take a lock even if a thread panicked while holding it: what it guards (a loaded model, a
/// cache) holds no invariant a panic half-way could break.
fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One index plus the models that fill and query it. Models are loaded on first use: `vtx info`
/// needs none, `vtx search` only a text encoder. An engine is `Send + Sync` and every method takes
/// `&self`, so one engine serves many threads (the server shares one): searches run side by side
/// on the store, a frame model answers one call at a time, and a text model is lent from up to
/// `text_sessions` copies.
pub struct Engine {
    config: EngineConfig,
    store: Arc<dyn VectorStore>,
    registry: Registry,
    frame_models: Mutex<HashMap<String, Shared<FrameModel>>>,
    text_encoders: Mutex<HashMap<String, TextModel>>,
    queries: Mutex<query_cache::QueryCache>,
    label_sets: Mutex<Vec<labels::EmbeddedLabels>>,
}

impl Engine {
    /// Open (or create) the index.
    pub fn open(config: EngineConfig) -> Result<Self> {
        let store = open_store(&config, false)?;
        Ok(Self::with_store(config, store))
    }

    /// Open an index that must already exist (for searching: a mistyped path is an error, not an
    /// empty library).
    pub fn open_existing(config: EngineConfig) -> Result<Self> {
        let store = open_store(&config, true)?;
        Ok(Self::with_store(config, store))
    }

    /// An engine over any [`VectorStore`] (the embedded SQLite one is what `open` gives).
    pub fn with_store(config: EngineConfig, store: Arc<dyn VectorStore>) -> Self {
        let registry = motion::model_registry(&config.models_dir).with_device(config.device);
        Self {
            config,
            store,
            registry,
            frame_models: Mutex::new(HashMap::new()),
            text_encoders: Mutex::new(HashMap::new()),
            queries: Mutex::new(query_cache::QueryCache::new(QUERY_CACHE_ENTRIES)),
            label_sets: Mutex::new(Vec::new()),
        }
    }

    /// The models of an indexing run, by name: those that write into this index, plus
    /// `requested`, or the defaults for an empty index when nothing is requested; the built-in
    /// motion model when `motion` (it is on by default and off by choice, unlike the others).
    fn index_models(&self, requested: &[String], motion: bool) -> Result<Vec<String>> {
        let mut names: Vec<String> = Vec::new();
        for space in self.store.spaces()? {
            let writer = self.writer_of(&space)?;
            if !names.contains(&writer) {
                names.push(writer);
            }
        }
        for name in requested {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names.retain(|n| n != MOTION_MODEL);
        if names.is_empty() {
            names = DEFAULT_MODELS.iter().map(|s| s.to_string()).collect();
        }
        if motion {
            names.push(MOTION_MODEL.to_string());
        }
        Ok(names)
    }

    /// The installed model that writes frame vectors into `space`: the space's own model, or the
    /// image model whose ConSE lands there.
    fn writer_of(&self, space: &Space) -> Result<String> {
        let owner = self.registry.get(&space.model).map_err(|e| {
            EngineError::NotFound(format!(
                "this index's space '{}' was written by model '{}', which is not installed ({e})",
                space.name, space.model
            ))
        })?;
        if owner.kind != ModelKind::Text {
            return Ok(owner.name);
        }
        let (installed, _) = self.registry.scan();
        installed
            .into_iter()
            .find(|m| m.conse.as_ref().is_some_and(|c| c.text_model == owner.name))
            .map(|m| m.name)
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "no installed image model writes ConSE vectors into space '{}' (model '{}')",
                    space.name, space.model
                ))
            })
    }

    fn model_info(&self, name: &str) -> Result<ModelInfo> {
        let manifest = self.registry.get(name)?;
        let conse_text = match &manifest.conse {
            Some(c) => Some(self.registry.get(&c.text_model)?),
            None => None,
        };
        ModelInfo::new(&manifest, conse_text.as_ref())
    }

    /// A text model's copies (the first loaded now, more as threads need them).
    fn text_encoder(&self, model: &str) -> Result<TextModel> {
        let mut loaded = lock(&self.text_encoders);
        if let Some(encoder) = loaded.get(model) {
            return Ok(encoder.clone());
        }
        let manifest = self.registry.get(model)?;
        if !manifest.has_text() {
            return Err(EngineError::Input(format!(
                "model '{model}' has no text encoder ({} model)",
                frame_models::kind_name(manifest.kind)
            )));
        }
        let options = self.registry.options().clone();
        let make =
            move || -> Result<Box<dyn TextEncoder>> { Ok(Box::new(OnnxTextEncoder::load(&manifest, &options)?)) };
        let encoder = Arc::new(Sessions::new(self.config.text_sessions, Box::new(make)).with_first()?);
        loaded.insert(model.to_string(), encoder.clone());
        Ok(encoder)
    }

    /// Embed texts with a text model, a batch at a time: the model is free between batches, so a
    /// search waits for at most one batch of a long list (the 1,000 labels that name clusters),
    /// not for all of it.
    pub(crate) fn embed_texts(&self, model: &str, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encoder = self.text_encoder(model)?;
        let mut vectors = Vec::with_capacity(texts.len());
        for (turn, batch) in texts.chunks(TEXTS_PER_TURN).enumerate() {
            if turn > 0 {
                // A copy given back is not handed to a waiting thread: taken again at once, it
                // might never reach one. A millisecond off lets a waiting thread have it.
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            vectors.extend(encoder.with(|e| e.encode(batch))??);
        }
        Ok(vectors)
    }

    /// A frame model (loaded once).
    fn frame_model(&self, info: &ModelInfo) -> Result<Shared<FrameModel>> {
        let mut loaded = lock(&self.frame_models);
        if let Some(model) = loaded.get(&info.name) {
            return Ok(model.clone());
        }
        let manifest = self.registry.get(&info.name)?;
        let options = self.registry.options().clone();
        let encoder = match &manifest.video {
            _ if info.flow => FrameEncoder::Flow,
            Some(_) => FrameEncoder::Clip(Box::new(OnnxClipEncoder::load(&manifest, &options)?)),
            None => {
                let encoder = Box::new(OnnxImageEncoder::load(&manifest, &options)?);
                let conse = match &manifest.conse {
                    Some(spec) => {
                        let text_manifest = self.registry.get(&spec.text_model)?;
                        match self.registry.cached_conse(&manifest, &text_manifest)? {
                            Some(conse) => Some(conse),
                            None => {
                                let text = self.text_encoder(&spec.text_model)?;
                                Some(text.with(|t| self.registry.conse(&manifest, &text_manifest, t.as_mut()))??)
                            }
                        }
                    }
                    None => None,
                };
                FrameEncoder::Image { encoder, conse }
            }
        };
        let model = Arc::new(Mutex::new(FrameModel {
            info: info.clone(),
            encoder,
        }));
        loaded.insert(info.name.clone(), model.clone());
        Ok(model)
    }

    /// Resolve the models an indexing run uses and declare their spaces in the index (which
    /// refuses a model writing into another model's space).
    fn resolve_models(&self, options: &IndexOptions) -> Result<Vec<ModelInfo>> {
        // Keyframes are too far apart for optical flow: such a run measures no motion.
        let motion = options.motion.is_some() && options.sampling != Sampling::Keyframes;
        let names = self.index_models(&options.models, motion)?;
        let infos = names.iter().map(|n| self.model_info(n)).collect::<Result<Vec<_>>>()?;
        for info in &infos {
            for space in &info.spaces {
                self.store.ensure_space(space)?;
            }
        }
        Ok(infos)
    }

    /// Load the models indexing with `options` needs and declare their vector spaces. `index`
    /// does this itself; call it first to keep model loading out of a measurement.
    pub fn prepare_indexing(&self, options: &IndexOptions) -> Result<()> {
        for info in self.resolve_models(options)? {
            self.frame_model(&info)?;
        }
        Ok(())
    }

    /// Index files and folders (recursively) with the index's models and `options.models`.
    /// Unchanged files are skipped, changed ones replaced, and unchanged ones that lack a newly
    /// added model get just that model's vectors. One bad file never stops the run: its reason is
    /// in the report.
    pub fn index(
        &self,
        paths: &[PathBuf],
        options: &IndexOptions,
        observer: &mut dyn IndexObserver,
        cancel: &AtomicBool,
    ) -> Result<IndexReport> {
        if !(options.segment_seconds.is_finite() && options.segment_seconds > 0.0) {
            return Err(EngineError::invalid(
                "segment length",
                format!("must be a positive number of seconds, not {}", options.segment_seconds),
            ));
        }
        let infos = self.resolve_models(options)?;
        // A missing detector is found out before hours of indexing, not after.
        let mut finder = match &options.objects {
            Some(objects) => Some(self.object_finder_for(objects, &infos)?),
            None => None,
        };
        let mut reader = options.text.as_ref().map(|t| self.screen_reader(t)).transpose()?;
        let transcriber = options.speech.as_ref().map(|s| self.transcriber(s)).transpose()?;
        if transcriber.is_some() {
            self.store.ensure_space(&self.speech_space()?)?;
        }
        let embed_said = |texts: &[&str]| self.embed_texts(speech::SPEECH_TEXT_MODEL, texts);
        let hearing = transcriber.map(|transcriber| ingest::Hearing {
            transcriber: Mutex::new(transcriber),
            embed: &embed_said,
        });
        let pruned = match options.prune {
            true => self.prune(paths)?,
            false => Vec::new(),
        };
        let plan = ingest::plan(&*self.store, &infos, paths, options, observer)?;
        plan.announce(observer);
        let mut riders = ingest::Riders {
            objects: finder.as_mut(),
            hearing: hearing.as_ref(),
        };
        let mut report = self.run_plan(plan, &infos, riders.again(), options, observer, cancel)?;
        self.wait_for_other_workers(&mut report, &infos, riders, options, observer, cancel)?;
        report.pruned = pruned;
        if let Some(finder) = finder
            .as_mut()
            .filter(|_| !report.cancelled && report.aborted.is_none())
        {
            // New videos got theirs from the indexing decode; the others that lack them now.
            let more = self.objects_after_indexing(
                &report.files,
                &report.objects,
                finder,
                options.pooling,
                observer,
                cancel,
            )?;
            report.objects.extend(more);
            report.cancelled = cancel.load(std::sync::atomic::Ordering::Relaxed);
        }
        let going_on = |report: &IndexReport| !report.cancelled && report.aborted.is_none();
        if let Some(reader) = reader.as_mut().filter(|_| going_on(&report)) {
            self.find_text_in_the_rest(&report.files, &mut report.text, reader, observer, cancel)?;
            report.cancelled = cancel.load(std::sync::atomic::Ordering::Relaxed);
        }
        if let Some(hearing) = hearing.filter(|_| going_on(&report)) {
            // New videos were heard beside their decoding; the others that lack it now.
            let mut transcriber = hearing.transcriber.into_inner().unwrap_or_else(PoisonError::into_inner);
            self.find_text_in_the_rest(&report.files, &mut report.speech, &mut transcriber, observer, cancel)?;
            report.cancelled = cancel.load(std::sync::atomic::Ordering::Relaxed);
        }
        // Searching is right without it, only slower; an interrupted or failing run leaves it for
        // the next one.
        if !report.cancelled && report.aborted.is_none() {
            match self
                .store
                .optimize(&mut |space, points| observer.optimizing(space, points))
            {
                Ok(optimized) => report.optimized = optimized,
                Err(e) => report.not_optimized = Some(e.to_string()),
            }
        }
        Ok(report)
    }

    fn run_plan(
        &self,
        plan: ingest::Plan,
        infos: &[ModelInfo],
        riders: ingest::Riders<'_>,
        options: &IndexOptions,
        observer: &mut dyn IndexObserver,
        cancel: &AtomicBool,
    ) -> Result<IndexReport> {
        if plan.is_empty() {
            return Ok(ingest::finish_empty(plan));
        }
        let shared = infos
            .iter()
            .map(|info| self.frame_model(info))
            .collect::<Result<Vec<_>>>()?;
        // The run has its models to itself; a search in another thread needs none of them.
        let mut held: Vec<MutexGuard<'_, FrameModel>> = shared.iter().map(|m| lock(m)).collect();
        let mut models: Vec<&mut FrameModel> = held.iter_mut().map(|m| &mut **m).collect();
        ingest::execute(plan, &*self.store, &mut models, riders, options, observer, cancel)
    }

    /// Wait for the videos of the run that other workers claimed: each is done when its claim
    /// is released (settled as theirs if they indexed it), and indexed here if its worker stopped
    /// renewing the claim before it was done.
    fn wait_for_other_workers(
        &self,
        report: &mut IndexReport,
        infos: &[ModelInfo],
        mut riders: ingest::Riders<'_>,
        options: &IndexOptions,
        observer: &mut dyn IndexObserver,
        cancel: &AtomicBool,
    ) -> Result<()> {
        let leases = leases::Leases::new(&*self.store, &options.worker, options.lease);
        let poll = (options.lease / 10).clamp(Duration::from_millis(100), Duration::from_secs(2));
        let (began, before) = (std::time::Instant::now(), report.wall_seconds);
        let result = loop {
            let claimed: Vec<(PathBuf, String)> = report
                .files
                .iter()
                .filter_map(|(path, outcome)| match outcome {
                    FileOutcome::Claimed { content, .. } => Some((path.clone(), content.clone())),
                    _ => None,
                })
                .collect();
            if claimed.is_empty() || report.aborted.is_some() || report.cancelled {
                break Ok(());
            }
            observer.waiting(claimed.len());
            let free = match leases.first_given_up(&claimed, poll, cancel) {
                Ok(Some(free)) => free,
                Ok(None) => {
                    report.cancelled = true;
                    break Ok(());
                }
                Err(e) => break Err(e.into()),
            };
            let again = ingest::plan(&*self.store, infos, &free, options, observer)
                .and_then(|plan| self.run_plan(plan, infos, riders.again(), options, observer, cancel));
            match again {
                Ok(again) => report.take_over(again),
                Err(e) => break Err(e),
            }
        };
        report.wall_seconds = before + began.elapsed().as_secs_f64();
        result
    }

    /// Drop the indexed videos named by `paths` (files, or folders: every indexed video under
    /// them), from the catalog and every vector space, all or nothing. A path that names no
    /// indexed video is an error and nothing is removed. Returns the videos removed.
    pub fn remove(&self, paths: &[PathBuf]) -> Result<Vec<VideoRecord>> {
        let videos = self.store.videos()?;
        let mut chosen: Vec<VideoRecord> = Vec::new();
        for path in paths {
            let under = indexed_under(&videos, &discover::absolute(path)?);
            if under.is_empty() {
                return Err(EngineError::NotFound(format!(
                    "{}: not in the index (nothing was removed)",
                    path.display()
                )));
            }
            for video in under {
                if !chosen.iter().any(|c| c.id == video.id) {
                    chosen.push(video.clone());
                }
            }
        }
        let ids: Vec<i64> = chosen.iter().map(|v| v.id).collect();
        self.store.remove_videos(&ids)?;
        // The removal stands either way: a graph not brought up to date only skips the removed
        // videos' nodes until the next run merges them out.
        if let Err(e) = self.store.optimize(&mut |_, _| {}) {
            tracing::warn!("the approximate index was not updated after the removal: {e}");
        }
        Ok(chosen)
    }

    /// Drop the indexed videos under `roots` whose files are gone. A root that does not exist
    /// itself (an unmounted drive) prunes nothing, so a missing disk never empties an index.
    fn prune(&self, roots: &[PathBuf]) -> Result<Vec<String>> {
        let videos = self.store.videos()?;
        let mut gone: Vec<&VideoRecord> = Vec::new();
        for root in roots.iter().filter(|r| r.exists()) {
            for video in indexed_under(&videos, &discover::absolute(root)?) {
                let missing =
                    matches!(std::fs::metadata(video.meta.file()), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
                if missing && !gone.iter().any(|g| g.id == video.id) {
                    gone.push(video);
                }
            }
        }
        let ids: Vec<i64> = gone.iter().map(|v| v.id).collect();
        if !ids.is_empty() {
            self.store.remove_videos(&ids)?;
        }
        Ok(gone.into_iter().map(|v| v.meta.path.clone()).collect())
    }

    /// The space a text query goes to: `requested`, else the index's first image+text space (a
    /// CLIP-family model embeds text and frames alike), else its first ConSE text space.
    pub fn text_space(&self, requested: Option<&str>) -> Result<Space> {
        let spaces = self.store.spaces()?;
        let mut searchable: Vec<(Space, ModelKind)> = Vec::new();
        let mut missing = None;
        for space in &spaces {
            match self.registry.get(&space.model) {
                Ok(m) if m.has_text() => searchable.push((space.clone(), m.kind)),
                Ok(_) => {}
                Err(e) => {
                    missing.get_or_insert(format!(
                        "space '{}' needs model '{}', which is not installed: {e}",
                        space.name, space.model
                    ));
                }
            }
        }
        if let (true, Some(why)) = (searchable.is_empty(), missing) {
            return Err(EngineError::NotFound(why));
        }
        let names = || {
            searchable
                .iter()
                .map(|(s, _)| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match requested {
            Some(name) => {
                let space = spaces.iter().find(|s| s.name == name).ok_or_else(|| {
                    EngineError::NotFound(format!(
                        "this index has no space '{name}' (text search works in: {})",
                        names()
                    ))
                })?;
                searchable
                    .iter()
                    .find(|(s, _)| s.name == name)
                    .map(|(s, _)| s.clone())
                    .ok_or_else(|| {
                        EngineError::Conflict(format!(
                            "space '{name}' holds vectors of model '{}', which cannot embed text; text search works in: {}",
                            space.model,
                            names()
                        ))
                    })
            }
            // What is said is searched beside what is seen (hybrid search), never instead of it.
            None => searchable
                .iter()
                .filter(|(s, _)| s.name != SPEECH_SPACE)
                .find(|(_, k)| *k == ModelKind::ImageText)
                .or_else(|| searchable.iter().find(|(s, _)| s.name != SPEECH_SPACE))
                .map(|(s, _)| s.clone())
                .ok_or_else(|| EngineError::NotFound("this index has no space that text can be searched in".into())),
        }
    }

    /// The moments (segments) that best match a sentence, best first.
    pub fn search(&self, query: &str, options: &SearchOptions) -> Result<Vec<Hit>> {
        Ok(self.search_many(&[query], options)?.remove(0))
    }

    /// Several queries at once (their text embeddings are computed in one batch).
    pub fn search_many(&self, queries: &[&str], options: &SearchOptions) -> Result<Vec<Vec<Hit>>> {
        Ok(self.search_with_space(queries, options)?.1)
    }

    /// [`search_many`](Self::search_many), with the space the queries were searched in (as
    /// [`Engine::text_space`] chose it), for answers that name it.
    pub fn search_with_space(&self, queries: &[&str], options: &SearchOptions) -> Result<(Space, Vec<Vec<Hit>>)> {
        if let Some(i) = queries.iter().position(|q| q.trim().is_empty()) {
            return Err(EngineError::Input(format!("query {} is empty", i + 1)));
        }
        if options.top == 0 {
            return Err(EngineError::invalid("top", "must be at least 1"));
        }
        let filter = options.filter()?;
        if options.mode == SearchMode::Keyword {
            let hits = queries
                .iter()
                .map(|query| {
                    let keywords = vtx_index::Keywords::parse(query)?;
                    let mut hits = self.keyword_ranking(&keywords, &filter, usize::MAX)?;
                    if options.per_video {
                        let mut seen = std::collections::HashSet::new();
                        hits.retain(|h| seen.insert(h.video_id));
                    }
                    hits.truncate(options.top);
                    Ok(hits)
                })
                .collect::<Result<_>>()?;
            let space = Space {
                name: hybrid::KEYWORD.into(),
                dim: 0,
                model: String::new(),
            };
            return Ok((space, hits));
        }
        if options.mode == SearchMode::Speech {
            return self.search_what_is_said(queries, options, &filter);
        }
        let space = self.text_space(options.space.as_deref())?;
        // The space's own model embeds the query: vectors of one space are never compared with
        // another model's.
        let mut vectors: Vec<Option<Vec<f32>>> = queries
            .iter()
            .map(|q| lock(&self.queries).get(&space.model, q))
            .collect();
        let missing: Vec<&str> = queries
            .iter()
            .zip(&vectors)
            .filter(|(_, v)| v.is_none())
            .map(|(q, _)| *q)
            .collect();
        if !missing.is_empty() {
            let mut encoded = self.embed_texts(&space.model, &missing)?.into_iter();
            for (query, slot) in queries.iter().zip(vectors.iter_mut()).filter(|(_, v)| v.is_none()) {
                let vector = encoded.next().ok_or_else(|| {
                    vtx_models::ModelError::Runtime(format!(
                        "model '{}' returned fewer vectors than texts",
                        space.model
                    ))
                })?;
                lock(&self.queries).put(&space.model, query, vector.clone());
                *slot = Some(vector);
            }
        }
        let depth = options.top.max(hybrid::FUSION_DEPTH);
        // What is said, where the index has it: the queries in the speech space's own model.
        let speech = match options.mode {
            SearchMode::Hybrid => self.store.spaces()?.into_iter().find(|s| s.name == SPEECH_SPACE),
            _ => None,
        };
        let said: Option<Vec<Vec<f32>>> = match &speech {
            Some(s) if s.model == space.model => None,
            Some(s) => Some(self.embed_texts(&s.model, queries)?),
            None => None,
        };
        let hits = queries
            .iter()
            .zip(vectors.into_iter().flatten())
            .enumerate()
            .map(|(i, (query, vector))| {
                let request = SearchRequest {
                    filter: filter.clone(),
                    group_by_video: options.per_video,
                    exact: options.exact,
                    ..SearchRequest::new(&space.name, &vector, options.top)
                };
                let keyword = match options.mode {
                    SearchMode::Hybrid => match hybrid::hybrid_keywords(query) {
                        Some(keywords) => self.keyword_ranking(&keywords, &filter, depth)?,
                        None => Vec::new(),
                    },
                    _ => Vec::new(),
                };
                let spoken = match &speech {
                    Some(s) => {
                        let query = said.as_ref().map_or(vector.as_slice(), |v| v[i].as_slice());
                        self.speech_ranking(s, query, &filter, depth, options.exact)?
                    }
                    None => Vec::new(),
                };
                // Without a match in what is written or said there is nothing to fuse: the
                // vector ranking as it is.
                if keyword.is_empty() && spoken.is_empty() {
                    return Ok(mark(self.store.hits(&request)?, hybrid::VISUAL));
                }
                let deep = SearchRequest {
                    group_by_video: false,
                    limit: depth,
                    ..request
                };
                let visual = mark(self.store.hits(&deep)?, hybrid::VISUAL);
                let rankings = [
                    (hybrid::VISUAL_WEIGHT, visual),
                    (hybrid::KEYWORD_WEIGHT, keyword),
                    (hybrid::SPEECH_WEIGHT, spoken),
                ];
                Ok(hybrid::fuse(rankings, options.top, options.per_video))
            })
            .collect::<Result<_>>()?;
        Ok((space, hits))
    }

    /// `--mode speech`: what is said alone, found by its meaning (the speech space) and by its
    /// words (keyword matches in transcripts), fused.
    fn search_what_is_said(
        &self,
        queries: &[&str],
        options: &SearchOptions,
        filter: &vtx_index::Filter,
    ) -> Result<(Space, Vec<Vec<Hit>>)> {
        let space = self
            .store
            .spaces()?
            .into_iter()
            .find(|s| s.name == SPEECH_SPACE)
            .ok_or_else(|| {
                EngineError::NotFound("nothing said is indexed here (index with `vtx index --speech`)".into())
            })?;
        let vectors = self.embed_texts(&space.model, queries)?;
        let depth = options.top.max(hybrid::FUSION_DEPTH);
        let hits = queries
            .iter()
            .zip(&vectors)
            .map(|(query, vector)| {
                let spoken = self.speech_ranking(&space, vector, filter, depth, options.exact)?;
                let mut keyword = match hybrid::hybrid_keywords(query) {
                    Some(keywords) => self.keyword_ranking(&keywords, filter, usize::MAX)?,
                    None => Vec::new(),
                };
                keyword.retain(|h| {
                    h.snippet
                        .as_ref()
                        .is_some_and(|s| s.source == vtx_index::TextSource::Speech)
                });
                let rankings = [(hybrid::SPEECH_WEIGHT, spoken), (hybrid::KEYWORD_WEIGHT, keyword)];
                Ok(hybrid::fuse(rankings, options.top, options.per_video))
            })
            .collect::<Result<_>>()?;
        Ok((space, hits))
    }

    /// The segments whose words mean the query (`query` in the speech space's model), at least
    /// [`hybrid::SPEECH_MIN_COSINE`] close, best first.
    fn speech_ranking(
        &self,
        space: &Space,
        query: &[f32],
        filter: &vtx_index::Filter,
        depth: usize,
        exact: bool,
    ) -> Result<Vec<Hit>> {
        let request = SearchRequest {
            filter: filter.clone(),
            exact,
            ..SearchRequest::new(&space.name, query, depth)
        };
        let mut found = self.store.hits(&request)?;
        found.retain(|h| h.score >= hybrid::SPEECH_MIN_COSINE);
        self.with_what_is_said(mark(found, hybrid::SPEECH))
    }

    /// Hits of the speech space, each with what is said in its segment as its snippet (no words
    /// marked: they matched by meaning).
    fn with_what_is_said(&self, mut hits: Vec<Hit>) -> Result<Vec<Hit>> {
        let mut transcripts: HashMap<i64, Option<vtx_index::VideoText>> = HashMap::new();
        for hit in &mut hits {
            let heard = match transcripts.entry(hit.video_id) {
                std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(self.store.text(hit.video_id, vtx_index::TextSource::Speech)?)
                }
            };
            let Some(heard) = heard else {
                continue;
            };
            let said: Vec<&vtx_index::TextSpan> = heard
                .lines
                .iter()
                .filter(|l| l.start < hit.end && l.end > hit.start)
                .collect();
            if let (Some(first), Some(last)) = (said.first(), said.last()) {
                hit.snippet = Some(vtx_index::Snippet {
                    text: said.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join(" "),
                    source: vtx_index::TextSource::Speech,
                    start: first.start,
                    end: last.end,
                });
            }
        }
        Ok(hits)
    }

    /// The segments whose on-screen text best matches `keywords`, as hits with their snippets.
    fn keyword_ranking(
        &self,
        keywords: &vtx_index::Keywords,
        filter: &vtx_index::Filter,
        limit: usize,
    ) -> Result<Vec<Hit>> {
        let found = self.store.text_matches(keywords, filter, limit)?;
        let points: Vec<_> = found.iter().map(|m| m.point).collect();
        let by_segment: std::collections::HashMap<i64, &vtx_index::TextMatch> =
            found.iter().map(|m| (m.point.segment, m)).collect();
        Ok(self
            .store
            .resolve(&points)?
            .into_iter()
            .map(|hit| {
                let line = by_segment[&hit.segment];
                hybrid::keyword_hit(hit, line)
            })
            .collect())
    }

    /// The space `similar` compares in: `requested`, else the first image+text space, else the
    /// first image space, else the first clip space.
    pub fn visual_space(&self, requested: Option<&str>) -> Result<Space> {
        Ok(self.visual_space_and_writer(requested)?.0)
    }

    fn visual_space_and_writer(&self, requested: Option<&str>) -> Result<(Space, ModelInfo)> {
        let mut candidates = Vec::new();
        for space in self.store.spaces()? {
            let Ok(manifest) = self.registry.get(&space.model) else {
                continue;
            };
            if !manifest.kind.sees_frames() {
                continue;
            }
            let rank = match manifest.kind {
                ModelKind::ImageText => 0,
                ModelKind::Image => 1,
                _ => 2,
            };
            candidates.push((rank, space, manifest.name));
        }
        candidates.sort_by_key(|(rank, _, _)| *rank);
        let names = || {
            candidates
                .iter()
                .map(|(_, s, _)| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let chosen = match requested {
            Some(name) => candidates.iter().find(|(_, s, _)| s.name == name).ok_or_else(|| {
                EngineError::NotFound(format!(
                    "'{name}' is not a space of frame vectors in this index (similar works in: {})",
                    names()
                ))
            })?,
            None => candidates
                .first()
                .ok_or_else(|| EngineError::NotFound("this index has no frame vectors yet".into()))?,
        };
        let info = self.model_info(&chosen.2)?;
        Ok((chosen.1.clone(), info))
    }

    /// The name of what `similar` compares in for `stream`: the visual space (see
    /// [`Engine::visual_space`]), the motion space, or `visual+motion` for both.
    pub fn similar_space(&self, requested: Option<&str>, stream: Stream) -> Result<String> {
        Ok(match stream {
            Stream::Rgb => self.visual_space(requested)?.name,
            Stream::Motion => self.motion_space()?.name,
            Stream::Both { .. } => format!("{}+{}", self.visual_space(requested)?.name, self.motion_space()?.name),
        })
    }

    /// The space of the index's motion stream: the one a motion model writes.
    pub fn motion_space(&self) -> Result<Space> {
        for space in self.store.spaces()? {
            if self
                .registry
                .get(&space.model)
                .is_ok_and(|m| m.kind == ModelKind::Motion)
            {
                return Ok(space);
            }
        }
        Err(EngineError::NotFound(
            "this index has no motion stream: index with motion on (the default)".into(),
        ))
    }

    /// Videos most like `video`, an indexed or unindexed video or (for the RGB stream) a still
    /// picture, in one stream: `Rgb` compares what they look like in `space` (default: see
    /// [`Engine::visual_space`]), `Motion` how things move in them, `Both` mixes the two scores.
    /// The query's stored vectors are used when it is indexed, else it is decoded and embedded now
    /// (without being added to the index); it is left out of its own results. Videos are ranked
    /// by their whole-video vectors (the score); each hit's segment is the video's moment most
    /// like the query.
    pub fn similar(
        &self,
        video: &Path,
        top: usize,
        space: Option<&str>,
        stream: Stream,
        options: &IndexOptions,
    ) -> Result<Vec<Hit>> {
        let path = discover::absolute(video)?;
        let own_id = self.store.video_by_path(&path_to_text(&path))?.map(|r| r.id);
        let mut streams: Vec<(Space, Vec<f32>, f32)> = Vec::new();
        if let Stream::Rgb | Stream::Both { .. } = stream {
            let (space, info) = self.visual_space_and_writer(space)?;
            let query = match self.stored_vector(own_id, &space.name)? {
                Some(v) => v,
                None => self.embed_file(&path, &space, &info, options)?,
            };
            streams.push((space, query, 1.0));
        }
        if let Stream::Motion | Stream::Both { .. } = stream {
            let space = self.motion_space()?;
            let query = match self.stored_vector(own_id, &space.name)? {
                Some(v) => v,
                None => self.embed_motion(&path, &space.name, options)?,
            };
            streams.push((space, query, 1.0));
        }
        if let Stream::Both { motion_weight } = stream {
            motion::check_weight(motion_weight)?;
            streams[0].2 = 1.0 - motion_weight;
            streams[1].2 = motion_weight;
        }
        // Exact scores of every video in each stream, mixed; a video missing from a stream
        // scores 0 there.
        let everyone = self.store.stats()?.videos as usize;
        let mut scores: HashMap<i64, f32> = HashMap::new();
        for (space, query, weight) in &streams {
            for (video, score) in self.store.search_videos(&space.name, query, everyone)? {
                *scores.entry(video).or_default() += weight * score;
            }
        }
        let mut ranked: Vec<(i64, f32)> = scores.into_iter().filter(|(id, _)| Some(*id) != own_id).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(top);
        let (moment_space, moment_query, _) = &streams[0];
        let mut hits = Vec::with_capacity(ranked.len());
        for (video_id, score) in ranked {
            let best_moment = SearchRequest {
                filter: vtx_index::Filter::video(video_id),
                exact: true,
                ..SearchRequest::new(&moment_space.name, moment_query, 1)
            };
            if let Some(best) = self.store.hits(&best_moment)?.pop() {
                hits.push(Hit { score, ..best });
            }
        }
        Ok(hits)
    }

    /// Every segment vector of `space`, by video and time, read a page at a time (for work that
    /// needs them all at once: clustering, tagging, evaluation).
    pub(crate) fn all_segment_vectors(&self, space: &str) -> Result<Vec<(vtx_index::Segment, Vec<f32>)>> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.store.scroll(space, cursor.as_ref(), SCROLL_PAGE)?;
            all.extend(page.points);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    fn stored_vector(&self, video_id: Option<i64>, space: &str) -> Result<Option<Vec<f32>>> {
        match video_id {
            Some(id) => Ok(self.store.video_vector(id, space)?),
            None => Ok(None),
        }
    }

    /// The motion-stream vector of a video that is not in the index, pooled as the index pools.
    fn embed_motion(&self, path: &Path, space: &str, options: &IndexOptions) -> Result<Vec<f32>> {
        let measured = motion::measure(path, options)?;
        let starts: Vec<f64> = measured.spans.iter().map(|s| s.0).collect();
        let moments = motion::vectors(&measured.samples);
        let pooled = vtx_index::pool_space(space, &moments, &starts, options.pooling);
        pooled.video.ok_or_else(|| {
            EngineError::Input(format!(
                "{}: no motion could be measured (a still picture, or frames too far apart)",
                path.display()
            ))
        })
    }

    /// Embed a video or a still picture that is not in the index.
    fn embed_file(&self, path: &Path, space: &Space, info: &ModelInfo, options: &IndexOptions) -> Result<Vec<f32>> {
        let model = self.frame_model(info)?;
        let mut model = lock(&model);
        match vtx_media::probe(path) {
            Err(vtx_media::MediaError::StillImage(_)) => {
                if info.clip.is_some() {
                    return Err(EngineError::Input(format!(
                        "space '{}' holds clip vectors: compare a video, not a picture",
                        space.name
                    )));
                }
                let picture = vtx_media::load_picture(path, &[info.frame_size])?;
                let pictures: Vec<&[u8]> = picture.iter().map(Vec::as_slice).collect();
                let mut vectors = model.encode_images(&[0.0], &pictures)?;
                let (_, mut timed) =
                    vectors.swap_remove(vectors.iter().position(|(s, _)| *s == space.name).unwrap_or(0));
                Ok(timed.swap_remove(0).vector)
            }
            Err(e) => Err(e.into()),
            Ok(_) => ingest::embed_video(&mut model, &space.name, path, options),
        }
    }

    /// What the index holds.
    pub fn info(&self) -> Result<IndexInfo> {
        let StoreStats {
            videos,
            frames,
            segments,
            total_duration,
            bytes_on_disk,
            text,
            cluster,
        } = self.store.stats()?;
        let spaces = self
            .store
            .spaces()?
            .into_iter()
            .map(|s| {
                let segment_vectors = self.store.count(&s.name)?;
                Ok(SpaceInfo {
                    approximate: segment_vectors >= self.config.ann.min_points,
                    segment_vectors,
                    name: s.name,
                    dim: s.dim,
                    model: s.model,
                })
            })
            .collect::<Result<_>>()?;
        Ok(IndexInfo {
            index_dir: self.config.location(),
            videos,
            frames,
            segments,
            total_duration_s: total_duration,
            bytes_on_disk,
            spaces,
            text: text
                .into_iter()
                .map(|t| TextInfo {
                    source: t.source.to_string(),
                    videos: t.videos,
                    lines: t.lines,
                    empty: t.empty,
                    no_sound: t.nothing_there,
                })
                .collect(),
            cluster,
        })
    }

    /// A number that changes whenever the index is written (videos added, replaced or removed,
    /// tags set): what a cache of answers is keyed by.
    pub fn generation(&self) -> Result<u64> {
        Ok(self.store.generation()?)
    }

    pub fn videos(&self) -> Result<Vec<vtx_index::VideoRecord>> {
        Ok(self.store.videos()?)
    }

    /// A stored video's shots.
    pub fn video_shots(&self, video_id: i64) -> Result<Vec<vtx_index::ShotSpan>> {
        Ok(self.store.shots(video_id)?)
    }

    /// A stored video's segments.
    pub fn video_segments(&self, video_id: i64) -> Result<Vec<vtx_index::Segment>> {
        Ok(self.store.segments(video_id)?)
    }

    /// A segment's thumbnail (JPEG).
    pub fn thumbnail(&self, segment_id: i64) -> Result<Option<Vec<u8>>> {
        Ok(self.store.thumbnail(segment_id)?)
    }

    /// The indexed video at `path`, a file name as `index` takes it (relative to the current
    /// directory); not being indexed is a `NotFound` error.
    pub fn video_at(&self, path: &Path) -> Result<VideoRecord> {
        let absolute = discover::absolute(path)?;
        self.store
            .video_by_path(&path_to_text(&absolute))?
            .ok_or_else(|| EngineError::NotFound(format!("{} is not in the index", path.display())))
    }

    /// One stored video by id.
    pub fn video(&self, video_id: i64) -> Result<Option<vtx_index::VideoRecord>> {
        Ok(self.store.video_by_id(video_id)?)
    }

    /// A stored video's tags (`vtx tag`), per segment.
    pub fn video_tags(&self, video_id: i64) -> Result<Vec<vtx_index::Tag>> {
        Ok(self.store.tags(video_id)?)
    }

    /// The segment whose thumbnail stands for a whole video: the one nearest its middle.
    pub fn video_thumbnail_segment(&self, video_id: i64) -> Result<Option<i64>> {
        Ok(middle_thumbnail(&self.video_segments(video_id)?))
    }

    /// The spaces a stored video has vectors in, with how many moments each.
    pub fn video_spaces(&self, video_id: i64) -> Result<Vec<(String, usize)>> {
        self.store
            .video_spaces(video_id)?
            .into_iter()
            .map(|space| {
                let n = self.store.frame_times(video_id, &space)?.len();
                Ok((space, n))
            })
            .collect()
    }
}
