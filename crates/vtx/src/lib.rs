//! vtx: index a video library into embeddings and search it by text or by example.
//!
//! [`Engine`] is the library API; the `vtx` binary is a thin shell over it. An engine owns one
//! index (a directory) and one model pack. It decodes videos on a separate thread, overlapped with
//! inference, and writes each video to the index in one atomic step.
//!
//! ```no_run
//! use vtx::{Engine, EngineConfig, IndexOptions};
//! # fn main() -> Result<(), vtx::EngineError> {
//! let mut engine = Engine::open(EngineConfig::new("my-index".into(), vtx::default_models_dir()))?;
//! let report = engine.index(&["clips/".into()], &IndexOptions::default(), &mut (), &Default::default())?;
//! for hit in engine.search("a cat on a sofa", 5)? {
//!     println!("{}  {}  {:.2}", hit.path, vtx::format_time(hit.t), hit.score);
//! }
//! # Ok(()) }
//! ```

pub mod bench;
mod discover;
mod ingest;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use vtx_index::{Hit, Space, SqliteStore, StoreStats, VectorStore};
use vtx_models::{Conse, ImageEncoder, ModelPack, TextEncoder};

pub use discover::{discover, Discovery, VIDEO_EXTENSIONS};
pub use ingest::{FileOutcome, IndexObserver, IndexOptions, IndexReport};
pub use vtx_index::Hit as SearchHit;
pub use vtx_media::Sampling;

/// The visual space: EfficientNet-Lite0 pooled features.
pub const VISUAL_SPACE: &str = "visual";
/// The text space: frames projected by ConSE into all-MiniLM-L6-v2's sentence space.
pub const TEXT_SPACE: &str = "text";

/// Errors from the engine. Each names what failed in words a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Media(#[from] vtx_media::MediaError),
    #[error(transparent)]
    Model(#[from] vtx_models::ModelError),
    #[error(transparent)]
    Index(#[from] vtx_index::IndexError),
    #[error("{0}")]
    Input(String),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

pub type Result<T> = std::result::Result<T, EngineError>;

/// Where the engine keeps its index and finds its models.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub index_dir: PathBuf,
    pub models_dir: PathBuf,
}

impl EngineConfig {
    pub fn new(index_dir: PathBuf, models_dir: PathBuf) -> Self {
        Self { index_dir, models_dir }
    }
}

fn cache_home() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"))
}

/// `$VTX_MODELS`, else `$VTX_CACHE/models`, else `~/.cache/vtx/models`: where `make setup`
/// installs the model pack.
pub fn default_models_dir() -> PathBuf {
    std::env::var_os("VTX_MODELS").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("VTX_CACHE")
            .map_or_else(|| cache_home().join("vtx"), PathBuf::from)
            .join("models")
    })
}
/// `$VTX_INDEX`, else `~/.local/share/vtx/index`.
pub fn default_index_dir() -> PathBuf {
    std::env::var_os("VTX_INDEX").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("."))
            .join("vtx/index")
    })
}

/// Seconds as `HH:MM:SS.mmm`.
pub fn format_time(t: f64) -> String {
    let ms = (t.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// What `vtx info` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IndexInfo {
    pub index_dir: String,
    pub videos: u64,
    pub frames: u64,
    pub total_duration_s: f64,
    pub bytes_on_disk: u64,
    pub spaces: Vec<SpaceInfo>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SpaceInfo {
    pub name: String,
    pub dim: usize,
    pub model: String,
}

/// Encoders are loaded on first use: `vtx info` needs none, `vtx search` only the text side.
struct Encoders {
    pack: ModelPack,
    image: Option<Box<dyn ImageEncoder>>,
    text: Option<Box<dyn TextEncoder>>,
    conse: Option<Conse>,
}

impl Encoders {
    fn text(&mut self) -> Result<&mut dyn TextEncoder> {
        if self.text.is_none() {
            self.text = Some(Box::new(self.pack.text_encoder()?));
        }
        Ok(self.text.as_deref_mut().expect("text encoder was just loaded"))
    }

    fn image(&mut self) -> Result<&mut dyn ImageEncoder> {
        if self.image.is_none() {
            self.image = Some(Box::new(self.pack.image_encoder()?));
        }
        Ok(self.image.as_deref_mut().expect("image encoder was just loaded"))
    }

    fn ensure_conse(&mut self) -> Result<()> {
        if self.conse.is_none() {
            let pack = self.pack.clone();
            let conse = pack.conse(self.text()?)?;
            self.conse = Some(conse);
        }
        Ok(())
    }
}

/// One index plus the models that fill and query it.
pub struct Engine {
    config: EngineConfig,
    store: Box<dyn VectorStore + Send>,
    encoders: Encoders,
}

impl Engine {
    /// Open (or create) the index and check that the model pack is complete.
    pub fn open(config: EngineConfig) -> Result<Self> {
        let store = SqliteStore::open(&config.index_dir)?;
        Self::with_store(config, Box::new(store))
    }

    /// Open an index that must already exist (for searching: a mistyped path is an error, not an
    /// empty library).
    pub fn open_existing(config: EngineConfig) -> Result<Self> {
        let store = SqliteStore::open_existing(&config.index_dir)?;
        Self::with_store(config, Box::new(store))
    }

    /// An engine over any [`VectorStore`] (the embedded SQLite one is what `open` gives).
    pub fn with_store(config: EngineConfig, store: Box<dyn VectorStore + Send>) -> Result<Self> {
        let pack = ModelPack::open(&config.models_dir)?;
        Ok(Self {
            config,
            store,
            encoders: Encoders {
                pack,
                image: None,
                text: None,
                conse: None,
            },
        })
    }

    fn spaces(&mut self) -> Result<[Space; 2]> {
        let visual_dim = self.encoders.image()?.dim();
        let text_dim = self.encoders.text()?.dim();
        Ok([
            Space {
                name: VISUAL_SPACE.into(),
                dim: visual_dim,
                model: "efficientnet-lite0-imagenet".into(),
            },
            Space {
                name: TEXT_SPACE.into(),
                dim: text_dim,
                model: "all-minilm-l6-v2-int8+conse-imagenet".into(),
            },
        ])
    }

    /// Load the models indexing needs and declare their vector spaces. `index` does this itself;
    /// call it first to keep model loading out of a measurement.
    pub fn prepare_indexing(&mut self) -> Result<()> {
        for space in self.spaces()? {
            self.store.ensure_space(&space)?;
        }
        self.encoders.ensure_conse()
    }

    /// Index files and folders (recursively). Unchanged files are skipped, changed ones replaced.
    /// One bad file never stops the run: its reason is in the report.
    pub fn index(
        &mut self,
        paths: &[PathBuf],
        options: &IndexOptions,
        observer: &mut dyn IndexObserver,
        cancel: &AtomicBool,
    ) -> Result<IndexReport> {
        let plan = ingest::plan(&*self.store, paths, options, observer)?;
        if plan.is_empty() {
            return Ok(ingest::finish_empty(plan));
        }
        self.prepare_indexing()?;
        let image = self
            .encoders
            .image
            .as_deref_mut()
            .expect("image encoder loaded by spaces()");
        let conse = self.encoders.conse.as_ref().expect("ConSE built above");
        ingest::execute(plan, &mut *self.store, image, conse, options, observer, cancel)
    }

    /// The videos that best match a sentence, each with its best-matching moment.
    pub fn search(&mut self, query: &str, top: usize) -> Result<Vec<Hit>> {
        Ok(self.search_many(&[query], top)?.remove(0))
    }

    /// Several queries at once (their text embeddings are computed in one batch).
    pub fn search_many(&mut self, queries: &[&str], top: usize) -> Result<Vec<Vec<Hit>>> {
        if let Some(i) = queries.iter().position(|q| q.trim().is_empty()) {
            return Err(EngineError::Input(format!("query {} is empty", i + 1)));
        }
        if top == 0 {
            return Err(EngineError::Input("--top must be at least 1".into()));
        }
        let vectors = self.encoders.text()?.encode(queries)?;
        vectors
            .iter()
            .map(|q| Ok(self.store.search_frames(TEXT_SPACE, q, top)?))
            .collect()
    }

    /// Videos that look most like `video`: its stored vector if it is indexed, else it is decoded
    /// and embedded now (without being added to the index). The video itself is left out. Videos
    /// are ranked by their pooled vectors; each hit's `t` is its frame most like the query video.
    pub fn similar(&mut self, video: &Path, top: usize, options: &IndexOptions) -> Result<Vec<Hit>> {
        let path = discover::absolute(video)?;
        let key = path.to_string_lossy();
        let stored = match self.store.video_by_path(&key)? {
            Some(record) => self
                .store
                .video_vector(record.id, VISUAL_SPACE)?
                .map(|v| (record.id, v)),
            None => None,
        };
        let (own_id, query) = match stored {
            Some((id, v)) => (Some(id), v),
            None => {
                let image = self.encoders.image()?;
                (None, ingest::embed_video(image, &path, options)?)
            }
        };
        let mut hits = self.store.search_videos(VISUAL_SPACE, &query, top + 1)?;
        hits.retain(|h| Some(h.video_id) != own_id);
        hits.truncate(top);
        for hit in &mut hits {
            if let Some((t, _)) = self.store.best_frame(hit.video_id, VISUAL_SPACE, &query)? {
                hit.t = t;
            }
        }
        Ok(hits)
    }

    /// What the index holds.
    pub fn info(&self) -> Result<IndexInfo> {
        let StoreStats {
            videos,
            frames,
            total_duration,
            bytes_on_disk,
        } = self.store.stats()?;
        let spaces = self
            .store
            .spaces()?
            .into_iter()
            .map(|s| SpaceInfo {
                name: s.name,
                dim: s.dim,
                model: s.model,
            })
            .collect();
        Ok(IndexInfo {
            index_dir: self.config.index_dir.display().to_string(),
            videos,
            frames,
            total_duration_s: total_duration,
            bytes_on_disk,
            spaces,
        })
    }

    pub fn videos(&self) -> Result<Vec<vtx_index::VideoRecord>> {
        Ok(self.store.videos()?)
    }
}

#[cfg(test)]
mod tests {
    use super::format_time;

    #[test]
    fn time_format() {
        assert_eq!(format_time(0.0), "00:00:00.000");
        assert_eq!(format_time(4.2), "00:00:04.200");
        assert_eq!(format_time(3725.0456), "01:02:05.046");
        assert_eq!(format_time(-1.0), "00:00:00.000");
    }
}
