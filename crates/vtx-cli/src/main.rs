//! The `vtx` command line: a thin shell over [`vtx::Engine`].
//!
//! Exit codes: 0 all went well, 1 some files could not be indexed (the others were), 2 the command
//! itself failed (bad arguments, no index, missing models).

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use vtx::{
    format_time, Detector, Engine, EngineConfig, FileOutcome, IndexObserver, IndexOptions, Labels, MotionOptions,
    Pooling, Sampling, SearchHit, ShotOptions, Stream,
};

/// `println!` that hands back the write error instead of panicking: a closed pipe (`vtx info |
/// head`) then ends the command quietly (see `main`).
macro_rules! say {
    ($($arg:tt)*) => {
        std::io::Write::write_fmt(&mut std::io::stdout(), format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod bench_search;
mod models;

#[derive(Parser)]
#[command(
    name = "vtx",
    version,
    about = "Index a video library into embeddings and search it by text or by example."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More log output (repeat for more); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

#[derive(Args, Clone)]
struct Common {
    /// Index directory [default: $VTX_INDEX or ~/.local/share/vtx/index].
    #[arg(long, value_name = "DIR")]
    index: Option<PathBuf>,
    #[command(flatten)]
    models: ModelsDir,
}

#[derive(Args, Clone)]
struct ModelsDir {
    /// Folder of installed models [default: $VTX_MODELS, else $VTX_CACHE/models, else ~/.cache/vtx/models].
    #[arg(long = "models-dir", value_name = "DIR")]
    dir: Option<PathBuf>,
}

impl ModelsDir {
    fn path(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(vtx::default_models_dir)
    }
}

#[derive(Args, Clone)]
struct SamplingArgs {
    /// Sample F frames per second of video.
    #[arg(long, value_name = "F", default_value_t = 1.0, conflicts_with_all = ["frames", "keyframes"])]
    fps: f64,
    /// Sample N frames spread evenly over each video's measured duration, instead of --fps.
    #[arg(long, value_name = "N", conflicts_with = "keyframes")]
    frames: Option<usize>,
    /// Sample every keyframe and decode nothing else: a fast first pass over long videos (the
    /// spacing is the encoder's: often 2-10 s, more at scene changes).
    #[arg(long)]
    keyframes: bool,
    /// shots: --shot-frames frames spread over each segment (each shot, cut into spans of at most
    /// --segment-seconds), found by a first picture-less pass: every shot gets one, a long still
    /// shot no more than its length in segments. fps, frames and keyframes are the flags above.
    #[arg(long, value_enum, value_name = "MODE")]
    sampling: Option<SamplingMode>,
    /// Frames per segment with --sampling shots.
    #[arg(long, value_name = "K", default_value_t = 1)]
    shot_frames: usize,
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum SamplingMode {
    Fps,
    Frames,
    Keyframes,
    Shots,
}

impl SamplingArgs {
    /// The sampling asked for; `span` is the longest segment (for `--sampling shots`).
    fn sampling(&self, span: f64) -> Result<Sampling> {
        Ok(match (self.sampling, self.keyframes, self.frames) {
            (Some(SamplingMode::Shots), false, None) => Sampling::Shots {
                frames: self.shot_frames,
                span,
            },
            (Some(SamplingMode::Shots), ..) => {
                bail!("--sampling shots cannot be combined with --frames or --keyframes")
            }
            (Some(SamplingMode::Keyframes), ..) | (None, true, _) => Sampling::Keyframes,
            (Some(SamplingMode::Frames), _, None) => bail!("--sampling frames needs --frames N"),
            (Some(SamplingMode::Frames) | None, _, Some(n)) => Sampling::Count(n),
            (Some(SamplingMode::Fps), _, Some(_)) => bail!("--sampling fps cannot be combined with --frames"),
            (Some(SamplingMode::Fps) | None, ..) => Sampling::Fps(self.fps),
        })
    }
}

#[derive(Args, Clone)]
struct SpaceArg {
    /// The vector space to compare in (`vtx info` lists them) [default: the index's CLIP-family
    /// space if it has one, else its first suitable space].
    #[arg(long, value_name = "NAME")]
    space: Option<String>,
}

#[derive(Args, Clone)]
struct HitsArgs {
    /// Number of results to return.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// JSON output: one line per query (see the README for the fields).
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Index video files and folders (recursively); unchanged files are skipped.
    Index {
        /// Video files, or folders searched recursively for video files.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        sampling: SamplingArgs,
        /// Add this installed model to the index (repeatable; `vtx models list`). Videos already
        /// indexed get its vectors too. A new index without one gets efficientnet-lite0.
        #[arg(long = "model", value_name = "NAME")]
        models: Vec<String>,
        /// Frames per inference batch [default: each model's own].
        #[arg(long)]
        batch: Option<usize>,
        /// Re-index files even if they look unchanged.
        #[arg(long)]
        force: bool,
        /// Skip a sampled frame that looks like the last one kept (perceptual signatures at most
        /// --dedup-bits of 64 apart): static shots are encoded once.
        #[arg(long)]
        dedup: bool,
        /// How many of the 64 signature bits may differ for --dedup to skip a frame.
        #[arg(long, value_name = "BITS", default_value_t = 4, requires = "dedup")]
        dedup_bits: u32,
        /// Do not detect shots while indexing (saves 1-20% of the time): segments are then
        /// plain windows that may straddle a cut.
        #[arg(long)]
        no_shots: bool,
        /// Longest segment: shots longer than this are cut into equal parts.
        #[arg(long, value_name = "SECONDS", default_value_t = vtx::DEFAULT_SEGMENT_SECONDS)]
        segment_seconds: f64,
        /// How a segment's frame vectors become one: mean (its average look) or max (keeps what
        /// any one frame shows).
        #[arg(long, value_name = "HOW", default_value = "mean")]
        pool: Pooling,
        /// Do not measure the motion stream (optical flow, two pairs of small frames a second).
        #[arg(long)]
        no_motion: bool,
        /// First drop the indexed videos under PATH... whose files no longer exist (a PATH that is
        /// itself missing, such as an unmounted drive, prunes nothing).
        #[arg(long)]
        prune: bool,
    },
    /// Drop videos from the index (files, or folders: every indexed video under them), all or
    /// nothing; the files themselves are not touched.
    Remove {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Find the moments that match a sentence.
    Search {
        /// The query text (or use --queries).
        #[arg(required_unless_present = "queries", conflicts_with = "queries")]
        query: Option<String>,
        /// A file with one query per line; prints one result line per query.
        #[arg(long, value_name = "FILE")]
        queries: Option<PathBuf>,
        #[command(flatten)]
        output: HitsArgs,
        #[command(flatten)]
        space: SpaceArg,
        /// Only the best moment of each video.
        #[arg(long)]
        per_video: bool,
        /// Only moments tagged (`vtx tag`) with a label containing this word.
        #[arg(long, value_name = "WORD")]
        tag: Option<String>,
        /// Scan every vector instead of walking the approximate index (large spaces only have
        /// one; see the README).
        #[arg(long)]
        exact: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Tag every segment with its nearest labels (zero-shot), stored for `search --tag`.
    Tag {
        /// Only these indexed videos [default: the whole index].
        #[arg(value_name = "VIDEO")]
        videos: Vec<PathBuf>,
        /// imagenet, coco, kinetics, or a file of one label per line [default: the labels of an
        /// image model of the index].
        #[arg(long, value_name = "SET|FILE")]
        labels: Option<String>,
        /// Labels kept per segment.
        #[arg(long, default_value_t = 3)]
        top: usize,
        /// Labels scoring under this cosine are left out.
        #[arg(long, default_value_t = 0.0)]
        min_score: f32,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Write a segment's thumbnail (the `segment` of a search hit) as a JPEG file.
    Thumbnail {
        segment: i64,
        /// Where to write it ("-": standard output).
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Find the videos most like a given video or picture (indexed or not).
    Similar {
        video: PathBuf,
        #[command(flatten)]
        output: HitsArgs,
        #[command(flatten)]
        space: SpaceArg,
        #[command(flatten)]
        stream: StreamArgs,
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        sampling: SamplingArgs,
    },
    /// Find the shots of a video: hard cuts and fades through black.
    Shots {
        video: PathBuf,
        /// content: a cut where the HSV difference to the previous frame reaches --threshold;
        /// adaptive: where it stands out --adaptive-threshold times from its neighbours' (camera
        /// motion does not fire it).
        #[arg(long, value_enum, default_value = "adaptive")]
        detector: DetectorArg,
        /// Content detector threshold (mean absolute HSV difference, 0-255).
        #[arg(long, default_value_t = ShotOptions::default().threshold)]
        threshold: f64,
        /// Adaptive detector: how many times its neighbours' average a cut's difference must be.
        #[arg(long, default_value_t = ShotOptions::default().adaptive_threshold)]
        adaptive_threshold: f64,
        /// Adaptive detector: the smallest difference that can be a cut.
        #[arg(long, default_value_t = ShotOptions::default().min_content)]
        min_content: f64,
        /// Mean pixel value under which a frame is black, for fades (0: no fade detection).
        #[arg(long, default_value_t = ShotOptions::default().fade_threshold)]
        fade_threshold: f64,
        /// Shortest shot, in seconds.
        #[arg(long, default_value_t = ShotOptions::default().min_shot)]
        min_shot: f64,
        /// A JSON list of shots, each with start and end in seconds.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// CSV: shot, start, end, length, boundary.
        #[arg(long)]
        csv: bool,
    },
    /// Measure a video's motion per segment: camera motion (pan, zoom) and objects moving on
    /// their own, from optical flow.
    Motion {
        video: PathBuf,
        /// Longest segment, as for `vtx index`.
        #[arg(long, value_name = "SECONDS", default_value_t = vtx::DEFAULT_SEGMENT_SECONDS)]
        segment_seconds: f64,
        /// Segments are plain windows, not cut at shot boundaries.
        #[arg(long)]
        no_shots: bool,
        /// A JSON list of segments (start, end, camera, zoom, rotation, moving_share, local_speed,
        /// kind, samples).
        #[arg(long)]
        json: bool,
    },
    /// Group the index's videos (or segments) into clusters and name them.
    Cluster {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Cluster segments instead of whole videos.
        #[arg(long, value_enum, default_value = "video")]
        level: LevelArg,
        /// Names for clusters: imagenet, coco, kinetics, or a file of one label per line [default:
        /// the labels of an image model of the index, e.g. ImageNet's 1000 classes].
        #[arg(long, value_name = "SET|FILE")]
        labels: Option<String>,
        /// Texts (one per line) clustered with the videos: each lands in a cluster or forms its
        /// own. Clusters in a space that embeds text (as `search` picks it).
        #[arg(long, value_name = "FILE")]
        texts: Option<PathBuf>,
        /// A text joins the cluster of its nearest video when their cosine (texts and videos each
        /// centred on their mean) reaches this; else it forms its own.
        #[arg(long, default_value_t = vtx::cluster::TEXT_JOIN_MIN)]
        text_min_score: f32,
        /// Write a contact sheet per cluster (cluster-N.png) and a map of the library (map.png).
        #[arg(long, value_name = "DIR")]
        pictures: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Measure quality against labelled data.
    Eval {
        #[command(subcommand)]
        what: EvalCommand,
    },
    /// Serve the index over HTTP: a JSON API, the videos, and a web page to search and watch.
    Serve {
        /// Where to listen; loopback unless you say otherwise (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Require this bearer token on every request (the page: open /?token=TOKEN once). Other
        /// users see it in `ps`: prefer $VTX_TOKEN or --token-file.
        #[arg(long, env = "VTX_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Read the token from this file (its first line).
        #[arg(long, conflicts_with = "token")]
        token_file: Option<PathBuf>,
        /// A host name a loopback server also answers to (besides localhost, 127.0.0.1, [::1]);
        /// repeatable. Other names are refused, which stops DNS-rebinding pages.
        #[arg(long = "allow-host", value_name = "NAME")]
        allow_hosts: Vec<String>,
        /// Seconds a client may take to send its request's headers before it is disconnected.
        #[arg(long, default_value_t = 10)]
        header_timeout: u64,
        /// Connections held at once (more wait to be accepted).
        #[arg(long, default_value_t = 256)]
        max_connections: usize,
        /// Requests answered at once (they share one engine and its loaded models).
        #[arg(long, alias = "engines", default_value_t = 2)]
        workers: usize,
        /// Seconds a request may take before it gets 408.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        /// Largest request body (an uploaded picture or clip), in MiB.
        #[arg(long, default_value_t = 64)]
        max_body_mb: usize,
        #[command(flatten)]
        common: Common,
    },
    /// Show what the index holds.
    Info {
        #[arg(long)]
        json: bool,
        /// Also list every indexed video.
        #[arg(long)]
        videos: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Install, inspect and remove models.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
        #[command(flatten)]
        dir: ModelsDir,
    },
    /// Measure a model's encoders against the bare ONNX Runtime session on the same graph and batch.
    BenchModel {
        /// An installed model (`vtx models list`).
        model: String,
        #[command(flatten)]
        models: ModelsDir,
        /// Inputs per inference call [default: the manifest's for images, 8 texts].
        #[arg(long)]
        batch: Option<usize>,
        /// Images (and texts) to encode per measurement.
        #[arg(long, default_value_t = 128)]
        items: usize,
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        #[arg(long)]
        json: bool,
    },
    /// Measure ingest throughput against FFmpeg's decode speed and ONNX Runtime's raw inference
    /// (`vtx bench VIDEO...`), or search (`vtx bench search`).
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Bench {
        #[command(subcommand)]
        what: Option<BenchCommand>,
        #[arg(required = true, value_name = "VIDEO")]
        videos: Vec<PathBuf>,
        #[command(flatten)]
        models: ModelsDir,
        /// The image model to index with.
        #[arg(long, default_value = vtx::DEFAULT_MODELS[0])]
        model: String,
        #[command(flatten)]
        sampling: SamplingArgs,
        /// Repeat each measurement and keep the fastest.
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Search latency, recall against exact search, memory and disk of the embedded store, on
    /// synthetic embedding-like vectors (clusters in a low-dimensional subspace plus noise).
    Search(bench_search::SearchBenchArgs),
}

#[derive(Args, Clone)]
struct ClusterArgs {
    /// k-means (every item in a cluster) or HDBSCAN (no k; items in no dense group are noise).
    #[arg(long, value_enum, default_value = "kmeans")]
    algorithm: AlgorithmArg,
    /// Number of k-means clusters [default: chosen by silhouette between 2 and --max-k, at most
    /// the square root of the number of items].
    #[arg(long)]
    k: Option<usize>,
    #[arg(long, default_value_t = 12)]
    max_k: usize,
    /// HDBSCAN: the smallest group that is a cluster.
    #[arg(long, default_value_t = 5)]
    min_cluster_size: usize,
    /// HDBSCAN: neighbours that make a point dense [default: --min-cluster-size].
    #[arg(long)]
    min_samples: Option<usize>,
    /// Seed of the k-means++ draws: the same seed gives the same clusters.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The space to cluster in [default: as for `similar`].
    #[command(flatten)]
    space: SpaceArg,
    #[command(flatten)]
    stream: StreamArgs,
}

impl ClusterArgs {
    fn options(&self, level: vtx::cluster::Level) -> vtx::cluster::ClusterOptions {
        vtx::cluster::ClusterOptions {
            level,
            space: self.space.space.clone(),
            stream: self.stream.stream(),
            algorithm: match self.algorithm {
                AlgorithmArg::Kmeans => vtx::cluster::Algorithm::KMeans,
                AlgorithmArg::Hdbscan => vtx::cluster::Algorithm::Hdbscan {
                    min_cluster_size: self.min_cluster_size,
                    min_samples: self.min_samples.unwrap_or(self.min_cluster_size),
                },
            },
            k: self.k,
            max_k: self.max_k,
            seed: self.seed,
            ..Default::default()
        }
    }
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Captions against their videos: text-to-video and video-to-text R@1/5/10, median and mean
    /// rank.
    Retrieval {
        /// Lines of `video<TAB>caption` (videos already indexed; a video may have several).
        #[arg(long, value_name = "FILE.tsv")]
        captions: PathBuf,
        /// The text space to search in [default: as for `search`].
        #[command(flatten)]
        space: SpaceArg,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Cluster labelled videos and compare with their labels: NMI, ARI, purity.
    Clusters {
        /// Lines of `video<TAB>label` (videos already indexed; k defaults to the number of labels).
        #[arg(long, value_name = "FILE.tsv")]
        labels: PathBuf,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LevelArg {
    Video,
    Segment,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum StreamArg {
    Rgb,
    Motion,
    Both,
}

#[derive(Args, Clone, Copy)]
struct StreamArgs {
    /// What videos look like (rgb), how things move in them (motion: camera and object motion
    /// from optical flow), or both, mixed by --motion-weight.
    #[arg(long, value_enum, default_value = "rgb")]
    stream: StreamArg,
    /// With --stream both: the motion score's share (the rgb score gets the rest).
    #[arg(long, value_name = "W", default_value_t = vtx::DEFAULT_MOTION_WEIGHT)]
    motion_weight: f32,
}

impl StreamArgs {
    fn stream(self) -> Stream {
        match self.stream {
            StreamArg::Rgb => Stream::Rgb,
            StreamArg::Motion => Stream::Motion,
            StreamArg::Both => Stream::Both {
                motion_weight: self.motion_weight,
            },
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum AlgorithmArg {
    Kmeans,
    Hdbscan,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum DetectorArg {
    Content,
    Adaptive,
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// List the installed models.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show a model's manifest and its graphs' inputs and outputs.
    Info { name: String },
    /// Install a model from a folder: one with a vtx-model.toml, or a CLIP-style ONNX export
    /// (vision and text graphs and a tokenizer.json), for which a manifest is written.
    Add {
        folder: PathBuf,
        /// Install under this name instead of the manifest's (or the folder's).
        #[arg(long)]
        name: Option<String>,
    },
    /// Delete an installed model.
    Remove { name: String },
    /// Download a CLIP-style ONNX export from the Hugging Face hub and install it.
    Pull {
        /// The hub id, e.g. Xenova/clip-vit-base-patch32.
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "main")]
        revision: String,
    },
}

/// Spaces smaller than `$VTX_ANN_MIN_POINTS` segment vectors (default 20,000) are searched
/// exactly and get no graph.
fn ann_options() -> Result<vtx::AnnOptions> {
    let mut ann = vtx::AnnOptions::default();
    if let Some(value) = std::env::var_os("VTX_ANN_MIN_POINTS") {
        ann.min_points = value
            .to_str()
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("VTX_ANN_MIN_POINTS must be a number of points, not {value:?}"))?;
    }
    Ok(ann)
}

/// Open the engine; only `index` may create a new index.
fn engine_config(common: &Common) -> Result<EngineConfig> {
    Ok(EngineConfig {
        ann: ann_options()?,
        ..EngineConfig::new(
            common.index.clone().unwrap_or_else(vtx::default_index_dir),
            common.models.path(),
        )
    })
}

fn open_engine(common: &Common, create: bool) -> Result<Engine> {
    let config = engine_config(common)?;
    let engine = if create {
        Engine::open(config)
    } else {
        Engine::open_existing(config)
    };
    engine.context("cannot open vtx")
}

/// A progress bar over bytes (the best predictor of decode time), with videos and frames/s.
struct Progress {
    bar: ProgressBar,
    files: usize,
    done: usize,
    frames: u64,
    started: std::time::Instant,
}

impl Progress {
    fn new() -> Self {
        Self {
            bar: ProgressBar::hidden(),
            files: 0,
            done: 0,
            frames: 0,
            started: std::time::Instant::now(),
        }
    }

    fn message(&self) -> String {
        let rate = self.frames as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        format!(
            "{}/{} videos, {} frames, {rate:.1} frames/s",
            self.done, self.files, self.frames
        )
    }
}

impl IndexObserver for Progress {
    fn started(&mut self, files: usize, bytes: u64) {
        self.files = files;
        self.done = 0;
        self.bar = ProgressBar::new(bytes);
        self.bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {percent:>3}%  {msg}  ETA {eta}")
                .expect("progress template is valid")
                .progress_chars("=> "),
        );
        self.bar.set_message(self.message());
    }

    fn frames_encoded(&mut self, count: usize) {
        self.frames += count as u64;
        self.bar.set_message(self.message());
    }

    fn finished(&mut self, path: &std::path::Path, bytes: u64, outcome: &FileOutcome) {
        self.done += 1;
        self.bar.inc(bytes);
        self.bar.set_message(self.message());
        let path = one_line(path);
        let line = match outcome {
            FileOutcome::Failed(reason) => Some(format!("error: {path}: {reason}")),
            FileOutcome::Indexed { warning: Some(w), .. } => Some(format!("warning: {path}: {w}")),
            FileOutcome::Interrupted => Some(format!("interrupted: {path} (not written)")),
            FileOutcome::Extended { spaces, vectors } => {
                Some(format!("added {} to {path} ({vectors} vectors)", spaces.join(", ")))
            }
            _ => None,
        };
        if let Some(line) = line {
            self.bar.suspend(|| eprintln!("{line}"));
        }
    }

    fn optimizing(&mut self, space: &str, points: u64) {
        self.bar.finish_and_clear();
        self.bar = ProgressBar::new_spinner();
        self.bar.set_message(format!(
            "updating the approximate index of '{space}' ({points} vectors)"
        ));
        self.bar.enable_steady_tick(std::time::Duration::from_millis(200));
    }
}

/// A path as one line of text: control characters in a file name (a newline, a terminal escape)
/// are written escaped, so a name can neither break the report into lines nor drive the terminal.
fn one_line(path: &std::path::Path) -> String {
    let text = path.display().to_string();
    match text.chars().any(char::is_control) {
        true => text.escape_debug().to_string(),
        false => text,
    }
}

fn run_index(paths: Vec<PathBuf>, common: Common, options: IndexOptions) -> Result<ExitCode> {
    let engine = open_engine(&common, true)?;
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    // First Ctrl-C: finish the video being written and stop; the index stays consistent either way.
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping: the index keeps every finished video (Ctrl-C again to quit now)");
    })
    .context("cannot install the Ctrl-C handler")?;
    let mut progress = Progress::new();
    let report = engine.index(&paths, &options, &mut progress, &cancel)?;
    progress.bar.finish_and_clear();
    let indexed = report.count(|o| matches!(o, FileOutcome::Indexed { .. }));
    let extended = report.count(|o| matches!(o, FileOutcome::Extended { .. }));
    let unchanged = report.count(|o| matches!(o, FileOutcome::Unchanged | FileOutcome::SameContent));
    let failed = report.failed();
    let speed = report.video_seconds / report.wall_seconds.max(1e-9);
    let skipped = if report.frames_skipped > 0 {
        format!(" ({} near-duplicate frames skipped)", report.frames_skipped)
    } else {
        String::new()
    };
    let extended = if extended > 0 {
        format!("; {extended} already indexed got the new models' vectors")
    } else {
        String::new()
    };
    eprintln!(
        "indexed {indexed} video(s), {unchanged} unchanged, {failed} failed; {} frames{skipped} from {:.1} s of video in {:.1} s ({speed:.1}x real time){extended}{}",
        report.frames,
        report.video_seconds,
        report.wall_seconds,
        if report.cancelled { "; interrupted" } else { "" }
    );
    if let Some((reason, left)) = &report.aborted {
        eprintln!("stopped early: {reason}; {left} file(s) not attempted");
    }
    if !report.pruned.is_empty() {
        eprintln!("pruned {} video(s) whose files are gone", report.pruned.len());
    }
    if let Some(why) = &report.not_optimized {
        eprintln!(
            "warning: the approximate index was not updated ({why}); every video is searchable (what it lacks is searched exactly), and the next `vtx index` tries again"
        );
    }
    for done in &report.optimized {
        let what = match done.action {
            vtx::OptimizeAction::Built => "built",
            vtx::OptimizeAction::Merged => "updated",
            _ => continue,
        };
        eprintln!(
            "approximate index of '{}' {what}: {} vectors in {:.1} s",
            done.space, done.points, done.seconds
        );
    }
    Ok(if failed > 0 || report.cancelled || report.aborted.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn hit_json(hit: &SearchHit) -> serde_json::Value {
    serde_json::json!({
        "video": hit.path, "start": hit.start, "end": hit.end, "time": format_time(hit.start),
        "score": hit.score, "segment": hit.segment,
    })
}

fn print_hits(query: Option<&str>, space: &str, hits: &[SearchHit], json: bool, out: &mut impl Write) -> Result<()> {
    if json {
        let hits: Vec<_> = hits.iter().map(hit_json).collect();
        let line = match query {
            Some(q) => serde_json::json!({ "query": q, "space": space, "hits": hits }),
            None => serde_json::json!({ "space": space, "hits": hits }),
        };
        writeln!(out, "{line}")?;
    } else {
        if let Some(q) = query {
            writeln!(out, "# {q}")?;
        }
        if hits.is_empty() {
            writeln!(out, "(no results: the index is empty, or nothing passes the filter)")?;
        }
        for hit in hits {
            writeln!(
                out,
                "{}  {}-{}  {:.3}  segment {}",
                hit.path,
                format_time(hit.start),
                format_time(hit.end),
                hit.score,
                hit.segment
            )?;
        }
    }
    Ok(())
}

fn run_search(
    query: Option<String>,
    queries: Option<PathBuf>,
    search: vtx::SearchOptions,
    json: bool,
    common: Common,
) -> Result<()> {
    let queries: Vec<String> = match (query, queries) {
        (Some(q), _) => vec![q],
        (None, Some(file)) => {
            let f = std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
            let lines: Vec<String> = std::io::BufReader::new(f)
                .lines()
                .collect::<std::io::Result<_>>()
                .with_context(|| format!("cannot read {}", file.display()))?;
            let lines: Vec<String> = lines.into_iter().filter(|l| !l.trim().is_empty()).collect();
            if lines.is_empty() {
                bail!("{} holds no queries", file.display());
            }
            lines
        }
        (None, None) => bail!("give a query or --queries FILE"),
    };
    let engine = open_engine(&common, false)?;
    let refs: Vec<&str> = queries.iter().map(String::as_str).collect();
    let space = engine.text_space(search.space.as_deref())?.name;
    let search = vtx::SearchOptions {
        space: Some(space.clone()),
        ..search
    };
    let results = engine.search_many(&refs, &search)?;
    let mut out = std::io::stdout().lock();
    let label = queries.len() > 1 || json;
    for (q, hits) in queries.iter().zip(&results) {
        print_hits(label.then_some(q.as_str()), &space, hits, json, &mut out)?;
    }
    Ok(())
}

fn print_shots(video: &std::path::Path, options: &ShotOptions, json: bool, csv: bool) -> Result<()> {
    let shots = vtx::shots(video, options).with_context(|| format!("{}", video.display()))?;
    let mut out = std::io::stdout().lock();
    if json {
        let list: Vec<_> = shots
            .iter()
            .map(|s| serde_json::json!({ "start": s.start, "end": s.end, "boundary": s.boundary.as_str() }))
            .collect();
        writeln!(out, "{}", serde_json::Value::from(list))?;
    } else if csv {
        writeln!(out, "shot,start,end,length,boundary")?;
        for (i, s) in shots.iter().enumerate() {
            writeln!(
                out,
                "{},{:.3},{:.3},{:.3},{}",
                i + 1,
                s.start,
                s.end,
                s.end - s.start,
                s.boundary.as_str()
            )?;
        }
    } else {
        for (i, s) in shots.iter().enumerate() {
            writeln!(
                out,
                "{:>4}  {}  {}  {:>8.3} s  {}",
                i + 1,
                format_time(s.start),
                format_time(s.end),
                s.end - s.start,
                s.boundary.as_str()
            )?;
        }
    }
    Ok(())
}

fn print_clusters(clustering: &vtx::cluster::Clustering, json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        // A list of clusters; HDBSCAN's noise comes last as the pseudo-cluster -1.
        let mut list = serde_json::to_value(&clustering.clusters)?;
        if let (false, Some(list)) = (clustering.noise.is_empty(), list.as_array_mut()) {
            list.push(serde_json::json!({
                "id": -1,
                "name": "noise",
                "size": clustering.noise.len(),
                "members": clustering.noise,
            }));
        }
        writeln!(out, "{list}")?;
        return Ok(());
    }
    writeln!(
        out,
        "{} clusters ({}) in space {} (silhouette {:.3})",
        clustering.k, clustering.algorithm, clustering.space, clustering.silhouette
    )?;
    for c in &clustering.clusters {
        let mut names: Vec<String> = c.names.iter().map(|(n, s)| format!("{n} {s:.2}")).collect();
        names.extend(c.tags.iter().map(|(t, n)| format!("tag {t} x{n}")));
        writeln!(
            out,
            "\n## cluster {}: {} ({} members; {})",
            c.id,
            c.name,
            c.size,
            names.join(", ")
        )?;
        for m in &c.members {
            writeln!(out, "{:.3}  {}", m.similarity, member_line(m))?;
        }
    }
    if !clustering.noise.is_empty() {
        writeln!(out, "\n## noise ({} in no cluster)", clustering.noise.len())?;
        for m in &clustering.noise {
            writeln!(out, "       {}", member_line(m))?;
        }
    }
    for picture in &clustering.pictures {
        writeln!(out, "wrote {}", picture.display())?;
    }
    Ok(())
}

fn member_line(m: &vtx::cluster::Member) -> String {
    if let Some(text) = &m.text {
        return format!("text \"{text}\"");
    }
    match (m.start, m.end) {
        (Some(a), Some(b)) => format!("{}  {}-{}", m.video, format_time(a), format_time(b)),
        _ => m.video.clone(),
    }
}

/// `video<TAB>what` lines; relative paths are taken from the current directory, as `vtx index`
/// does.
fn read_tsv(file: &std::path::Path, what: &str) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let cwd = std::env::current_dir()?;
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let Some((video, value)) = line.split_once('\t').filter(|(_, v)| !v.trim().is_empty()) else {
            bail!("{}:{}: expected video<TAB>{what}", file.display(), n + 1);
        };
        let path = cwd.join(video.trim());
        rows.push((path.to_string_lossy().into_owned(), value.trim().to_string()));
    }
    if rows.is_empty() {
        bail!("{} holds no video<TAB>{what} lines", file.display());
    }
    Ok(rows)
}

/// The non-empty lines of a text file.
fn read_lines(file: &std::path::Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if lines.is_empty() {
        bail!("{} holds no texts", file.display());
    }
    Ok(lines)
}

/// The paths of `videos` as the index holds them (absolute); an error names one that is not
/// indexed.
fn indexed_paths(engine: &Engine, videos: &[PathBuf]) -> Result<Vec<String>> {
    let indexed: std::collections::HashSet<String> = engine.videos()?.into_iter().map(|v| v.meta.path).collect();
    let cwd = std::env::current_dir()?;
    videos
        .iter()
        .map(|v| {
            let path = cwd.join(v).to_string_lossy().into_owned();
            if indexed.contains(&path) {
                Ok(path)
            } else {
                bail!("{} is not in the index", v.display())
            }
        })
        .collect()
}

fn print_motion(video: &std::path::Path, options: &IndexOptions, json: bool) -> Result<()> {
    let segments = vtx::motion(video, options).with_context(|| format!("{}", video.display()))?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&segments)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<25} {:>8} {:>8} {:>7} {:>7} {:>8}  kind",
        "segment", "camera_x", "camera_y", "zoom", "moving", "local_v"
    )?;
    for s in &segments {
        writeln!(
            out,
            "{}-{} {:>8.3} {:>8.3} {:>7.3} {:>6.1}% {:>8.3}  {}",
            format_time(s.start),
            format_time(s.end),
            s.camera.0,
            s.camera.1,
            s.zoom,
            s.moving_share * 100.0,
            s.local_speed,
            s.kind
        )?;
    }
    writeln!(
        out,
        "(speeds in frame widths per second; camera: right and down positive)"
    )?;
    Ok(())
}

fn run_info(json: bool, list_videos: bool, common: Common) -> Result<()> {
    let engine = open_engine(&common, false)?;
    let info = engine.info()?;
    let videos = if list_videos { engine.videos()? } else { vec![] };
    if json {
        let mut value = serde_json::to_value(&info)?;
        if list_videos {
            value["list"] = videos
                .iter()
                .map(|v| {
                    Ok(serde_json::json!({
                        "video": v.meta.path, "duration": v.meta.duration, "frames": v.meta.frames,
                        "codec": v.meta.codec, "format": v.meta.format, "width": v.meta.width,
                        "height": v.meta.height, "fps": v.meta.fps, "size": v.meta.size, "hash": v.meta.hash,
                        "shots": engine
                            .video_shots(v.id)?
                            .into_iter()
                            .map(|s| serde_json::json!({ "start": s.start, "end": s.end, "boundary": s.boundary }))
                            .collect::<Vec<_>>(),
                        "segments": engine
                            .video_segments(v.id)?
                            .into_iter()
                            .map(|s| serde_json::json!({
                                "segment": s.id, "start": s.start, "end": s.end, "thumbnail": s.has_thumbnail,
                            }))
                            .collect::<Vec<_>>(),
                        "spaces": engine
                            .video_spaces(v.id)?
                            .into_iter()
                            .map(|(space, n)| (space, serde_json::Value::from(n)))
                            .collect::<serde_json::Map<_, _>>(),
                    }))
                })
                .collect::<Result<_>>()?;
        }
        say!("{value}")?;
        return Ok(());
    }
    say!("index:    {}", info.index_dir)?;
    say!("videos:   {}", info.videos)?;
    say!("frames:   {}", info.frames)?;
    say!("segments: {}", info.segments)?;
    say!("duration: {}", format_time(info.total_duration_s))?;
    say!("on disk:  {:.1} MiB", info.bytes_on_disk as f64 / (1 << 20) as f64)?;
    for s in &info.spaces {
        let search = if s.approximate { "graph" } else { "exact" };
        say!(
            "space:    {} ({}-d, {}): {} segment vectors, searched {search}",
            s.name,
            s.dim,
            s.model,
            s.segment_vectors
        )?;
    }
    for v in &videos {
        let m = &v.meta;
        say!(
            "{}  {}  {}x{}  {}  {} frames",
            m.path,
            format_time(m.duration),
            m.width,
            m.height,
            m.codec,
            m.frames
        )?;
    }
    Ok(())
}

fn write_thumbnail(segment: i64, output: &std::path::Path, common: &Common) -> Result<()> {
    let engine = open_engine(common, false)?;
    let Some(jpeg) = engine.thumbnail(segment)? else {
        bail!("segment {segment} has no thumbnail (or does not exist): search hits and `vtx info --videos --json` name segments");
    };
    if output == std::path::Path::new("-") {
        std::io::stdout().lock().write_all(&jpeg)?;
    } else {
        std::fs::write(output, &jpeg).with_context(|| format!("cannot write {}", output.display()))?;
    }
    Ok(())
}

/// A benchmark's report as JSON or as its table.
fn print_report<R: serde::Serialize>(report: vtx::Result<R>, json: bool, table: fn(&R) -> String) -> Result<ExitCode> {
    let report = report?;
    if json {
        say!("{}", serde_json::to_string(&report)?)?;
    } else {
        print!("{}", table(&report));
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = ["warn", "info", "debug", "trace"][usize::from(cli.verbose.min(3))];
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_level.into()))
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Index {
            paths,
            common,
            sampling,
            models,
            batch,
            force,
            dedup,
            dedup_bits,
            no_shots,
            segment_seconds,
            pool,
            no_motion,
            prune,
        } => (|| {
            if no_shots && sampling.sampling == Some(SamplingMode::Shots) {
                bail!("--sampling shots needs shot detection: drop --no-shots");
            }
            let options = IndexOptions {
                sampling: sampling.sampling(segment_seconds)?,
                batch_size: batch,
                force,
                models,
                near_duplicate_bits: dedup.then_some(dedup_bits),
                shots: (!no_shots).then(ShotOptions::default),
                segment_seconds,
                pooling: pool,
                motion: (!no_motion).then(MotionOptions::default),
                prune,
                ..Default::default()
            };
            run_index(paths, common, options)
        })(),
        Command::Search {
            query,
            queries,
            output,
            space,
            per_video,
            tag,
            exact,
            common,
        } => {
            let search = vtx::SearchOptions {
                top: output.top,
                space: space.space,
                per_video,
                tag,
                exact,
            };
            run_search(query, queries, search, output.json, common).map(|()| ExitCode::SUCCESS)
        }
        Command::Tag {
            videos,
            labels,
            top,
            min_score,
            json,
            common,
        } => (|| {
            let engine = open_engine(&common, false)?;
            let options = vtx::TagOptions {
                labels: labels.as_deref().map(Labels::parse),
                top,
                min_score,
                only: indexed_paths(&engine, &videos)?,
            };
            let tagged = engine.tag(&options)?;
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string(&tagged)?)?;
            } else {
                let list = |tags: &[(String, f32)]| {
                    tags.iter()
                        .map(|(l, s)| format!("{l} {s:.2}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                for video in &tagged {
                    writeln!(out, "{}  {}", video.video, list(&video.tags))?;
                    for s in &video.segments {
                        writeln!(
                            out,
                            "  {}-{}  {}",
                            format_time(s.start),
                            format_time(s.end),
                            list(&s.tags)
                        )?;
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        })(),
        Command::Thumbnail {
            segment,
            output,
            common,
        } => write_thumbnail(segment, &output, &common).map(|()| ExitCode::SUCCESS),
        Command::Models { command, dir } => models::run(command, &dir.path()).map(|()| ExitCode::SUCCESS),
        Command::Similar {
            video,
            output: HitsArgs { top, json },
            space,
            stream,
            common,
            sampling,
        } => (|| {
            let engine = open_engine(&common, false)?;
            let options = IndexOptions {
                sampling: sampling.sampling(vtx::DEFAULT_SEGMENT_SECONDS)?,
                ..Default::default()
            };
            let stream = stream.stream();
            let label = match stream {
                Stream::Rgb => engine.visual_space(space.space.as_deref())?.name,
                Stream::Motion => vtx::MOTION_SPACE.to_string(),
                Stream::Both { .. } => format!(
                    "{}+{}",
                    engine.visual_space(space.space.as_deref())?.name,
                    vtx::MOTION_SPACE
                ),
            };
            let hits = engine.similar(&video, top, space.space.as_deref(), stream, &options)?;
            print_hits(None, &label, &hits, json, &mut std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        })(),
        Command::Motion {
            video,
            segment_seconds,
            no_shots,
            json,
        } => {
            let options = IndexOptions {
                segment_seconds,
                shots: (!no_shots).then(ShotOptions::default),
                ..Default::default()
            };
            print_motion(&video, &options, json).map(|()| ExitCode::SUCCESS)
        }
        Command::Cluster {
            cluster,
            level,
            labels,
            texts,
            text_min_score,
            pictures,
            json,
            common,
        } => (|| {
            let level = match level {
                LevelArg::Video => vtx::cluster::Level::Video,
                LevelArg::Segment => vtx::cluster::Level::Segment,
            };
            let texts = match texts {
                Some(file) => read_lines(&file)?,
                None => Vec::new(),
            };
            let engine = open_engine(&common, false)?;
            let options = vtx::cluster::ClusterOptions {
                labels: labels.as_deref().map(Labels::parse),
                texts,
                text_min_score,
                pictures,
                ..cluster.options(level)
            };
            let clustering = engine.cluster(&options)?;
            print_clusters(&clustering, json)?;
            Ok(ExitCode::SUCCESS)
        })(),
        Command::Eval {
            what:
                EvalCommand::Retrieval {
                    captions,
                    space,
                    json,
                    common,
                },
        } => (|| {
            let captioned = read_tsv(&captions, "caption")?;
            let engine = open_engine(&common, false)?;
            let result = engine.evaluate_retrieval(&captioned, space.space.as_deref())?;
            if json {
                say!("{}", serde_json::to_string(&result)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            say!(
                "{} captions of {} videos, space {}",
                result.captions,
                result.videos,
                result.space
            )?;
            say!("direction        R@1    R@5   R@10  median rank  mean rank")?;
            for (name, r) in [
                ("text -> video", &result.text_to_video),
                ("video -> text", &result.video_to_text),
            ] {
                say!(
                    "{name:<14} {:>5.3}  {:>5.3}  {:>5.3}  {:>11.1}  {:>9.2}",
                    r.r1,
                    r.r5,
                    r.r10,
                    r.median_rank,
                    r.mean_rank
                )?;
            }
            Ok(ExitCode::SUCCESS)
        })(),
        Command::Eval {
            what:
                EvalCommand::Clusters {
                    labels,
                    cluster,
                    json,
                    common,
                },
        } => (|| {
            let labelled = read_tsv(&labels, "label")?;
            let engine = open_engine(&common, false)?;
            let result = engine.evaluate_clusters(&labelled, &cluster.options(vtx::cluster::Level::Video))?;
            if json {
                say!("{}", serde_json::to_string(&result)?)?;
            } else {
                say!("videos    {}", result.videos)?;
                say!("space     {}", result.space)?;
                say!("labels    {}", result.agreement.labels)?;
                say!("clusters  {}", result.agreement.clusters)?;
                if result.noise > 0 {
                    say!("noise     {}", result.noise)?;
                }
                say!("NMI       {:.3}", result.agreement.nmi)?;
                say!("ARI       {:.3}", result.agreement.ari)?;
                say!("purity    {:.3}", result.agreement.purity)?;
            }
            Ok(ExitCode::SUCCESS)
        })(),
        Command::Serve {
            addr,
            token,
            token_file,
            allow_hosts,
            header_timeout,
            max_connections,
            workers,
            timeout,
            max_body_mb,
            common,
        } => (|| {
            let token = match token_file {
                Some(file) => {
                    let text = std::fs::read_to_string(&file)
                        .with_context(|| format!("cannot read the token file {}", file.display()))?;
                    let token = text.lines().next().unwrap_or("").trim().to_string();
                    if token.is_empty() {
                        bail!("the token file {} is empty", file.display());
                    }
                    Some(token)
                }
                None => token.filter(|t| !t.is_empty()),
            };
            if !addr.ip().is_loopback() && token.is_none() {
                eprintln!(
                    "vtx serve: warning: listening on {addr} without a token: anyone who can reach it can search the library and download its videos (set $VTX_TOKEN or --token-file)"
                );
            }
            let options = vtx_server::ServeOptions {
                addr,
                token,
                workers,
                timeout: std::time::Duration::from_secs(timeout.max(1)),
                max_body: max_body_mb.max(1) << 20,
                allow_hosts,
                header_timeout: std::time::Duration::from_secs(header_timeout.max(1)),
                max_connections,
            };
            let config = engine_config(&common)?;
            let index = config.index_dir.display().to_string();
            vtx_server::serve(config, &options, |bound| {
                println!("vtx serve: http://{bound}/ (index {index}; Ctrl-C stops)");
                let _ = std::io::stdout().flush();
            })
            .context("vtx serve")?;
            Ok(ExitCode::SUCCESS)
        })(),
        Command::Info { json, videos, common } => run_info(json, videos, common).map(|()| ExitCode::SUCCESS),
        Command::Shots {
            video,
            detector,
            threshold,
            adaptive_threshold,
            min_content,
            fade_threshold,
            min_shot,
            json,
            csv,
        } => {
            let options = ShotOptions {
                detector: match detector {
                    DetectorArg::Content => Detector::Content,
                    DetectorArg::Adaptive => Detector::Adaptive,
                },
                threshold,
                adaptive_threshold,
                min_content,
                fade_threshold,
                min_shot,
                ..ShotOptions::default()
            };
            print_shots(&video, &options, json, csv).map(|()| ExitCode::SUCCESS)
        }
        Command::BenchModel {
            model,
            models,
            batch,
            items,
            repeat,
            json,
        } => print_report(
            vtx::bench::run_model(&models.path(), &model, batch, items.max(1), repeat.max(1)),
            json,
            vtx::bench::ModelBenchReport::table,
        ),
        Command::Remove { paths, common } => (|| {
            let engine = open_engine(&common, false)?;
            let removed = engine.remove(&paths)?;
            for video in &removed {
                say!("removed {}", video.meta.path)?;
            }
            eprintln!("removed {} video(s) from the index", removed.len());
            Ok(ExitCode::SUCCESS)
        })(),
        Command::Bench {
            what: Some(BenchCommand::Search(args)),
            ..
        } => (|| {
            let report = bench_search::run(&args)?;
            if args.json {
                say!("{}", serde_json::to_string(&report)?)?;
            } else {
                print!("{}", report.table());
            }
            Ok(ExitCode::SUCCESS)
        })(),
        Command::Bench {
            what: None,
            videos,
            models,
            model,
            sampling,
            repeat,
            json,
        } => print_report(
            sampling
                .sampling(vtx::DEFAULT_SEGMENT_SECONDS)
                .map_err(|e| vtx::EngineError::Input(e.to_string()))
                .and_then(|sampling| vtx::bench::run(&videos, &models.path(), &model, sampling, repeat.max(1))),
            json,
            vtx::bench::BenchReport::table,
        ),
    };
    match result {
        Ok(code) => code,
        // The reader went away (`vtx cluster | head`): nothing more to say, and nothing went wrong.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
