//! The command line's schema: every command, flag and default, and nothing that acts on them
//! (`commands` does). Values with names (levels, algorithms, streams, pooling, detectors) parse
//! through the engine's own `FromStr`, so they are spelt as the HTTP API spells them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use vtx::cluster::{Algorithm, Level};
use vtx::{Detector, Pooling, Sampling, ShotOptions, Stream};

use crate::bench::search::SearchBenchArgs;
use crate::bench::workers::WorkersBenchArgs;

#[derive(Parser)]
#[command(
    name = "vtx",
    version,
    about = "Index a video library into embeddings and search it by text or by example."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output (repeat for more); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Subcommand)]
pub enum Command {
    /// Index video files and folders (recursively); unchanged files are skipped.
    Index(IndexArgs),
    /// Drop videos from the index (files, or folders: every indexed video under them), all or
    /// nothing; the files themselves are not touched.
    Remove(RemoveArgs),
    /// Copy an index directory into a Qdrant cluster (`--store`), videos, vectors, thumbnails,
    /// tags, objects and text, without decoding a video again; what the cluster already holds
    /// is skipped, so an interrupted copy goes on where it stopped.
    Export(TransferArgs),
    /// Copy the index in a Qdrant cluster (`--store`) into an index directory, the way `export`
    /// copies the other way.
    Import(TransferArgs),
    /// Find the moments that match a sentence.
    Search(SearchArgs),
    /// Tag every segment with its nearest labels (zero-shot), stored for `search --tag`.
    Tag(TagArgs),
    /// Write a segment's thumbnail (the `segment` of a search hit) as a JPEG file.
    Thumbnail(ThumbnailArgs),
    /// Find the videos most like a given video or picture (indexed or not).
    Similar(SimilarArgs),
    /// Find the shots of a video: hard cuts and fades through black.
    Shots(ShotsArgs),
    /// Measure a video's motion per segment: camera motion (pan, zoom) and objects moving on
    /// their own, from optical flow.
    Motion(MotionArgs),
    /// Find the objects of a video (indexed or not) and follow them over time: one track per
    /// object, with its label, its span, its boxes and its speed.
    Objects(ObjectsArgs),
    /// Read the text a video shows (indexed or not): each line, with when it is on screen and
    /// where.
    Text(TextArgs),
    /// Transcribe what is said in a video or a sound file: timed phrases, or subtitles.
    Transcript(TranscriptArgs),
    /// Group the index's videos (or segments) into clusters and name them.
    Cluster(ClusterCommandArgs),
    /// Measure quality against labelled data.
    Eval {
        #[command(subcommand)]
        what: EvalCommand,
    },
    /// Serve the index over HTTP: a JSON API, the videos, and a web page to search and watch.
    Serve(ServeArgs),
    /// Show what the index holds.
    Info(InfoArgs),
    /// Install, inspect and remove models.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
        #[command(flatten)]
        dir: ModelsDir,
    },
    /// Measure a model's encoders against the bare ONNX Runtime session on the same graph and batch.
    BenchModel(BenchModelArgs),
    /// Measure ingest throughput against FFmpeg's decode speed and ONNX Runtime's raw inference
    /// (`vtx bench VIDEO...`), or search (`vtx bench search`).
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Bench {
        #[command(subcommand)]
        what: Option<BenchCommand>,
        #[command(flatten)]
        ingest: BenchIngestArgs,
    },
    /// Print the reference of every command (markdown, from this help): docs/cli.md is its output.
    #[command(hide = true)]
    Reference,
}

#[derive(Args, Clone)]
pub struct Common {
    /// Index directory [default: $VTX_INDEX or ~/.local/share/vtx/index].
    #[arg(long, value_name = "DIR", conflicts_with = "store")]
    pub index: Option<PathBuf>,
    /// Keep the index in a Qdrant cluster instead: qdrant://HOST:PORT (its gRPC port), or
    /// qdrants://HOST:PORT over TLS; $VTX_QDRANT_API_KEY is its key [default: $VTX_STORE when
    /// --index is not given].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// The collection in the cluster that holds the index.
    #[arg(long, value_name = "NAME", default_value = vtx::DEFAULT_COLLECTION)]
    pub collection: String,
    #[command(flatten)]
    pub models: ModelsDir,
}

#[derive(Args, Clone)]
pub struct ModelsDir {
    /// Folder of installed models [default: $VTX_MODELS, else $VTX_CACHE/models, else ~/.cache/vtx/models].
    #[arg(long = "models-dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Where models run: cpu; cuda (the GPU runtime of `make setup-gpu` and a GPU, else an
    /// error); or auto (cuda when it can, else the CPU, saying why) [default: the model's
    /// manifest, else auto].
    #[arg(long, value_name = "DEVICE", env = "VTX_DEVICE")]
    pub device: Option<vtx::Device>,
}

fn parse_share(text: &str) -> Result<(u32, u32), String> {
    let parsed = text
        .split_once('/')
        .and_then(|(k, n)| Some((k.trim().parse::<u32>().ok()?, n.trim().parse::<u32>().ok()?)));
    match parsed {
        Some((k, n)) if n >= 1 && (1..=n).contains(&k) => Ok((k, n)),
        _ => Err(format!("'{text}' is not K/N with 1 <= K <= N (as in 2/3)")),
    }
}

/// The other place `--index` can point a command that reads what was stored: a cluster.
#[derive(Args, Clone)]
pub struct StoredOn {
    /// Read what was stored from the index in a Qdrant cluster instead: qdrant://HOST:PORT.
    #[arg(long, value_name = "URL", conflicts_with = "index")]
    pub store: Option<String>,
    /// The collection in the cluster.
    #[arg(long, value_name = "NAME", default_value = vtx::DEFAULT_COLLECTION)]
    pub collection: String,
}

/// How `vtx index --store` lays out a collection it creates (one that exists keeps its own).
#[derive(Args, Clone, Default)]
pub struct CollectionLayout {
    /// Shards of a new collection, spread over the cluster's nodes [default: the cluster's].
    #[arg(long, value_name = "N", requires = "store", value_parser = clap::value_parser!(u32).range(1..))]
    pub shards: Option<u32>,
    /// Copies of each shard in a new collection, on distinct nodes: with 2, search goes on while
    /// one node is down [default: the cluster's, usually 1].
    #[arg(long, value_name = "N", requires = "store", value_parser = clap::value_parser!(u32).range(1..))]
    pub replicas: Option<u32>,
    /// Copies that must take a write before it returns [default: 1].
    #[arg(long, value_name = "N", requires = "store", value_parser = clap::value_parser!(u32).range(1..))]
    pub write_consistency: Option<u32>,
    /// Keep int8 copies of a new collection's vectors, searched first and rescored: a quarter of
    /// the memory for a small loss of recall.
    #[arg(long, requires = "store")]
    pub int8: bool,
}

impl CollectionLayout {
    /// Lay out the collections a store on `cluster` creates as these flags say.
    pub fn apply(&self, cluster: &mut vtx::QdrantOptions) {
        cluster.shards = self.shards;
        cluster.replicas = self.replicas;
        cluster.write_consistency = self.write_consistency;
        cluster.quantize = self.int8;
    }
}

#[derive(Clone, Copy, PartialEq)]
pub enum SamplingMode {
    Fps,
    Frames,
    Keyframes,
    Shots,
}

vtx_core::names!(SamplingMode, "sampling", {
    SamplingMode::Fps => "fps",
    SamplingMode::Frames => "frames",
    SamplingMode::Keyframes => "keyframes",
    SamplingMode::Shots => "shots",
});

#[derive(Args, Clone)]
pub struct SamplingArgs {
    /// Sample F frames per second of video.
    #[arg(long, value_name = "F", default_value_t = 1.0, conflicts_with_all = ["frames", "keyframes"])]
    pub fps: f64,
    /// Sample N frames spread evenly over each video's measured duration, instead of --fps.
    #[arg(long, value_name = "N", conflicts_with = "keyframes")]
    pub frames: Option<usize>,
    /// Sample every keyframe and decode nothing else: a fast first pass over long videos (the
    /// spacing is the encoder's: often 2-10 s, more at scene changes).
    #[arg(long)]
    pub keyframes: bool,
    /// fps, frames, keyframes or shots. shots: --shot-frames frames spread over each segment
    /// (each shot, cut into spans of at most --segment-seconds), found by a first picture-less
    /// pass: every shot gets one, a long still shot no more than its length in segments.
    #[arg(long, value_name = "MODE")]
    pub sampling: Option<SamplingMode>,
    /// Frames per segment with --sampling shots.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub shot_frames: usize,
    /// Whether the decoder's deblocking filter runs: full (pixel-exact), off (about a quarter less
    /// H.264 decoding, for vectors that drift a little: docs/performance.md), or auto (off only
    /// where the file's index shows a keyframe at least every 2 s, where the drift stays small).
    #[arg(long, value_name = "HOW", default_value_t = vtx::IndexOptions::default().deblocking)]
    pub deblocking: vtx::Deblocking,
}

#[derive(Args, Clone)]
pub struct SpaceArg {
    /// The vector space to compare in (`vtx info` lists them) [default: the index's CLIP-family
    /// space if it has one, else its first suitable space].
    #[arg(long, value_name = "NAME")]
    pub space: Option<String>,
}

#[derive(Args, Clone)]
pub struct HitsArgs {
    /// Number of results to return.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// JSON output: one line per query (see the README for the fields).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct IndexArgs {
    /// Video files, or folders searched recursively for video files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Add this installed model to the index (repeatable; `vtx models list`). Videos already
    /// indexed get its vectors too. A new index without one gets efficientnet-lite0.
    #[arg(long = "model", value_name = "NAME")]
    pub models: Vec<String>,
    /// Frames per inference batch [default: each model's own].
    #[arg(long)]
    pub batch: Option<usize>,
    /// Videos decoded at once, each on a thread of its own; they share the loaded models, and
    /// each video is still written whole or not at all [default: 2, and one per 2 cores above 4, at
    /// most 8].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: Option<u16>,
    /// Re-index files even if they look unchanged.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub layout: CollectionLayout,
    /// Skip a sampled frame that looks like the last one kept (perceptual signatures at most
    /// --dedup-bits of 64 apart): static shots are encoded once.
    #[arg(long)]
    pub dedup: bool,
    /// How many of the 64 signature bits may differ for --dedup to skip a frame.
    #[arg(long, value_name = "BITS", default_value_t = 4, requires = "dedup")]
    pub dedup_bits: u32,
    /// Do not detect shots while indexing (saves 1-20% of the time): segments are then
    /// plain windows that may straddle a cut.
    #[arg(long)]
    pub no_shots: bool,
    /// Longest segment: shots longer than this are cut into equal parts.
    #[arg(long, value_name = "SECONDS", default_value_t = vtx::DEFAULT_SEGMENT_SECONDS)]
    pub segment_seconds: f64,
    /// How a segment's frame vectors become one: mean (its average look) or max (keeps what
    /// any one frame shows).
    #[arg(long, value_name = "HOW", default_value_t = Pooling::Mean)]
    pub pool: Pooling,
    /// Do not measure the motion stream (optical flow, two pairs of small frames a second).
    #[arg(long)]
    pub no_motion: bool,
    /// First drop the indexed videos under PATH... whose files no longer exist (a PATH that is
    /// itself missing, such as an unmounted drive, prunes nothing).
    #[arg(long)]
    pub prune: bool,
    /// Index only share K of N of the files, split by content (K from 1): N machines given the
    /// same paths and one `--store` index each file once between them.
    #[arg(long, value_name = "K/N", value_parser = parse_share)]
    pub shard: Option<(u32, u32)>,
    /// How long this worker's claim on a video lasts unless renewed. Workers given the same files
    /// claim each video before reading it and skip those another holds, then wait for them; a
    /// worker that dies holds its videos up this long, after which another takes them over.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub lease: u64,
    /// Also detect and track objects (COCO classes, people's actions), for `search --object` and
    /// `--action`: a new or changed video on the frames of its indexing decode (--object-fps of
    /// them), one indexed before without objects by a decode of its own.
    #[arg(long)]
    pub objects: bool,
    /// The detector model for --objects.
    #[arg(long, value_name = "MODEL", default_value = vtx::DEFAULT_DETECTOR, requires = "objects")]
    pub detector: String,
    /// Frames a second the detector sees, for --objects.
    #[arg(long, value_name = "FPS", default_value_t = vtx::DEFAULT_OBJECT_FPS, requires = "objects")]
    pub object_fps: f64,
    /// How much the objects and actions seen in a segment weigh in the index's ConSE text space,
    /// so that "a person running" finds them (0: not at all), for --objects.
    #[arg(long, value_name = "W", default_value_t = vtx::DEFAULT_TEXT_WEIGHT, requires = "objects")]
    pub object_text_weight: f32,
    /// With --objects.
    #[command(flatten)]
    pub pose: PoseArgs,
    /// Also read the on-screen text (titles, captions, slides, signs), for keyword search
    /// (`search --mode keyword`, and hybrid search by default) and `vtx text`: every video of the
    /// run that has no text from this reader yet, each by a decode of its own after indexing.
    #[arg(long)]
    pub ocr: bool,
    /// The text reader for --ocr.
    #[arg(long, value_name = "MODEL", default_value = vtx::DEFAULT_READER, requires = "ocr")]
    pub reader: String,
    /// Frames a second the text reader sees, for --ocr.
    #[arg(long, value_name = "FPS", default_value_t = vtx::DEFAULT_TEXT_FPS, requires = "ocr")]
    pub text_fps: f64,
    /// Also transcribe what is said, for keyword and hybrid search and `vtx transcript --index`:
    /// a new or changed video while its pictures are decoded, written with them; then every
    /// other video of the run that has no transcript from this model yet.
    #[arg(long)]
    pub speech: bool,
    /// The speech model for --speech: whisper-base (multilingual) or whisper-tiny-en (English
    /// only, about twice as fast).
    #[arg(long, value_name = "MODEL", default_value = vtx::DEFAULT_SPEECH_MODEL, requires = "speech")]
    pub speech_model: String,
    /// The language spoken, for --speech (see `vtx transcript --help`).
    #[arg(long, value_name = "CODE", default_value = "auto", requires = "speech")]
    pub language: String,
    /// Hear the whole sound, for --speech (see `vtx transcript --help`).
    #[arg(long, requires = "speech")]
    pub no_vad: bool,
}

/// The speech model, the language and the detector of `--speech-model`, `--language` and
/// `--no-vad`.
pub fn speech_options(model: &str, language: &str, no_vad: bool) -> vtx::SpeechOptions {
    vtx::SpeechOptions {
        model: model.into(),
        language: (!language.eq_ignore_ascii_case("auto")).then(|| language.to_string()),
        vad: !no_vad,
    }
}

#[derive(Args)]
pub struct TransferArgs {
    /// The index directory [default: $VTX_INDEX or ~/.local/share/vtx/index].
    #[arg(long, value_name = "DIR")]
    pub index: Option<PathBuf>,
    /// The cluster: qdrant://HOST:PORT, or qdrants://HOST:PORT over TLS ($VTX_QDRANT_API_KEY is
    /// its key).
    #[arg(long, value_name = "URL", required = true)]
    pub store: String,
    /// The collection in the cluster.
    #[arg(long, value_name = "NAME", default_value = vtx::DEFAULT_COLLECTION)]
    pub collection: String,
    #[command(flatten)]
    pub layout: CollectionLayout,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct RemoveArgs {
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub struct SearchArgs {
    /// The query text (or use --queries; or neither, with --object or --action).
    #[arg(required_unless_present_any = ["queries", "object", "action"], conflicts_with = "queries")]
    pub query: Option<String>,
    /// A file with one query per line; prints one result line per query.
    #[arg(long, value_name = "FILE")]
    pub queries: Option<PathBuf>,
    #[command(flatten)]
    pub output: HitsArgs,
    #[command(flatten)]
    pub space: SpaceArg,
    /// Only the best moment of each video.
    #[arg(long)]
    pub per_video: bool,
    /// Only moments tagged (`vtx tag`) with a label containing this word.
    #[arg(long, value_name = "WORD")]
    pub tag: Option<String>,
    /// Only moments where the detector saw this object (`vtx index --objects`; a COCO label
    /// such as person, car, dog). With no query, the moments are ranked by detection score.
    #[arg(long, value_name = "LABEL")]
    pub object: Option<String>,
    /// With --object: at least this many of it seen at once.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "object")]
    pub min_count: u32,
    /// Only moments where someone is standing, walking, running, sitting, lying or falling
    /// (read from the tracks of people, `vtx index --objects`). With no query and no --object,
    /// the moments are ranked by detection score.
    #[arg(long, value_name = "ACTION", value_parser = clap::builder::PossibleValuesParser::new(vtx::ACTIONS))]
    pub action: Option<String>,
    /// Scan every vector instead of walking the approximate index (large spaces only have
    /// one; see the README).
    #[arg(long)]
    pub exact: bool,
    /// hybrid: the pictures, the on-screen text and transcripts (`index --ocr`, `--speech`) and
    /// what is said by meaning, fused by reciprocal rank; visual: the pictures alone; keyword:
    /// the text alone ("quoted phrases" match word for word); speech: what is said alone, by
    /// meaning and by its words.
    #[arg(long, value_name = "MODE", default_value_t = vtx::SearchMode::Hybrid)]
    pub mode: vtx::SearchMode,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub struct TagArgs {
    /// Only these indexed videos [default: the whole index].
    #[arg(value_name = "VIDEO")]
    pub videos: Vec<PathBuf>,
    /// imagenet, coco, kinetics, or a file of one label per line [default: the labels of an
    /// image model of the index].
    #[arg(long, value_name = "SET|FILE")]
    pub labels: Option<String>,
    /// Labels kept per segment.
    #[arg(long, default_value_t = 3)]
    pub top: usize,
    /// Labels scoring under this cosine are left out.
    #[arg(long, default_value_t = 0.0)]
    pub min_score: f32,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub struct ThumbnailArgs {
    pub segment: i64,
    /// Where to write it ("-": standard output).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Clone, Copy)]
pub struct StreamArgs {
    /// rgb (what videos look like), motion (how things move in them: camera and object motion
    /// from optical flow), or both, mixed by --motion-weight.
    #[arg(long, value_name = "STREAM", default_value_t = Stream::Rgb)]
    pub stream: Stream,
    /// With --stream both: the motion score's share (the rgb score gets the rest), 0-1.
    #[arg(long, value_name = "W", default_value_t = vtx::DEFAULT_MOTION_WEIGHT, value_parser = share)]
    pub motion_weight: f32,
}

/// A share from 0 to 1, refused when out of range whatever the stream (as the HTTP API does).
fn share(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(w) if (0.0..=1.0).contains(&w) => Ok(w),
        Ok(w) => Err(format!("must be within 0-1, not {w}")),
        Err(e) => Err(e.to_string()),
    }
}

impl StreamArgs {
    pub fn stream(self) -> Stream {
        self.stream.with_motion_weight(self.motion_weight)
    }
}

#[derive(Args)]
pub struct SimilarArgs {
    pub video: PathBuf,
    #[command(flatten)]
    pub output: HitsArgs,
    #[command(flatten)]
    pub space: SpaceArg,
    #[command(flatten)]
    pub stream: StreamArgs,
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

#[derive(Args)]
pub struct ShotsArgs {
    pub video: PathBuf,
    /// content: a cut where the HSV difference to the previous frame reaches --threshold;
    /// adaptive: where it stands out --adaptive-threshold times from its neighbours' (camera
    /// motion does not fire it).
    #[arg(long, value_name = "DETECTOR", default_value_t = Detector::Adaptive)]
    pub detector: Detector,
    /// Content detector threshold (mean absolute HSV difference, 0-255).
    #[arg(long, default_value_t = ShotOptions::default().threshold)]
    pub threshold: f64,
    /// Adaptive detector: how many times its neighbours' average a cut's difference must be.
    #[arg(long, default_value_t = ShotOptions::default().adaptive_threshold)]
    pub adaptive_threshold: f64,
    /// Adaptive detector: the smallest difference that can be a cut.
    #[arg(long, default_value_t = ShotOptions::default().min_content)]
    pub min_content: f64,
    /// Mean pixel value under which a frame is black, for fades (0: no fade detection).
    #[arg(long, default_value_t = ShotOptions::default().fade_threshold)]
    pub fade_threshold: f64,
    /// Shortest shot, in seconds.
    #[arg(long, default_value_t = ShotOptions::default().min_shot)]
    pub min_shot: f64,
    /// A JSON list of shots, each with start, end and boundary.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// CSV: shot, start, end, length, boundary.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Args)]
pub struct MotionArgs {
    pub video: PathBuf,
    /// Longest segment, as for `vtx index`.
    #[arg(long, value_name = "SECONDS", default_value_t = vtx::DEFAULT_SEGMENT_SECONDS)]
    pub segment_seconds: f64,
    /// Segments are plain windows, not cut at shot boundaries.
    #[arg(long)]
    pub no_shots: bool,
    /// A JSON list of segments (start, end, camera, zoom, rotation, moving_share, local_speed,
    /// kind, samples).
    #[arg(long)]
    pub json: bool,
}

/// How people's postures are read, with objects.
#[derive(Args)]
pub struct PoseArgs {
    /// The pose model that reads the posture (upright, sitting, lying) of people at least a fifth
    /// of the frame tall [default: movenet-lightning].
    #[arg(long, value_name = "MODEL", conflicts_with = "no_pose")]
    pub pose: Option<String>,
    /// Read postures from the shape of people's boxes alone, with no pose model.
    #[arg(long)]
    pub no_pose: bool,
}

impl PoseArgs {
    pub fn model(&self) -> Option<String> {
        match self.no_pose {
            true => None,
            false => Some(self.pose.clone().unwrap_or_else(|| vtx::DEFAULT_POSE.into())),
        }
    }

    /// Whether either flag was given.
    pub fn given(&self) -> bool {
        self.pose.is_some() || self.no_pose
    }
}

#[derive(Args)]
pub struct ObjectsArgs {
    pub video: PathBuf,
    /// The detector model.
    #[arg(long, value_name = "MODEL", default_value = vtx::DEFAULT_DETECTOR)]
    pub detector: String,
    /// Frames a second the detector sees.
    #[arg(long, default_value_t = vtx::DEFAULT_OBJECT_FPS)]
    pub fps: f64,
    /// Least score for a detection to start a track (0-1); down to half of it continues one
    /// [default: the detector manifest's min_score].
    #[arg(long, value_name = "SCORE")]
    pub min_score: Option<f32>,
    /// Tracks seen in fewer frames are left out.
    #[arg(long, value_name = "FRAMES", default_value_t = vtx::TrackerOptions::default().min_hits)]
    pub min_frames: usize,
    #[command(flatten)]
    pub pose: PoseArgs,
    /// A JSON document: the video, the detector, the frames seen, and every track with its
    /// boxes (t, x0, y0, x1, y1 in fractions of the frame, score, and a person's posture where
    /// their pose was read).
    #[arg(long)]
    pub json: bool,
    /// Print what `vtx index --objects` stored for VIDEO in this index, without detecting again.
    #[arg(long, value_name = "DIR")]
    pub index: Option<PathBuf>,
    #[command(flatten)]
    pub stored_on: StoredOn,
    #[command(flatten)]
    pub models: ModelsDir,
}

#[derive(Args)]
pub struct TextArgs {
    pub video: PathBuf,
    /// The text reader model.
    #[arg(long, value_name = "MODEL", default_value = vtx::DEFAULT_READER)]
    pub reader: String,
    /// Frames a second the reader sees.
    #[arg(long, default_value_t = vtx::DEFAULT_TEXT_FPS)]
    pub fps: f64,
    /// A JSON document: the video, the reader, the frames seen, and every line with its start,
    /// end, text, score and box (x0, y0, x1, y1 in fractions of the frame).
    #[arg(long)]
    pub json: bool,
    /// Print what `vtx index --ocr` stored for VIDEO in this index, without reading again.
    #[arg(long, value_name = "DIR")]
    pub index: Option<PathBuf>,
    #[command(flatten)]
    pub stored_on: StoredOn,
    #[command(flatten)]
    pub models: ModelsDir,
}

#[derive(Args)]
pub struct TranscriptArgs {
    pub video: PathBuf,
    /// The speech model: whisper-base (multilingual) or whisper-tiny-en (English only, about
    /// twice as fast).
    #[arg(long, value_name = "MODEL", default_value = vtx::DEFAULT_SPEECH_MODEL)]
    pub speech_model: String,
    /// The language spoken, an ISO 639-1 code (en, fr, de, ...), or auto: a multilingual speech
    /// model names the language it hears in the first 30 s with speech, for the whole file.
    #[arg(long, value_name = "CODE", default_value = "auto")]
    pub language: String,
    /// Hear the whole sound, not only where the voice activity detector (Silero's) finds
    /// speech: without it, music and noise can be heard as words, and long stretches without
    /// speech are decoded too.
    #[arg(long)]
    pub no_vad: bool,
    /// SubRip subtitles.
    #[arg(long, conflicts_with_all = ["vtt", "json"])]
    pub srt: bool,
    /// WebVTT subtitles.
    #[arg(long, conflicts_with = "json")]
    pub vtt: bool,
    /// A JSON document: the video, the model, whether it has sound, and every phrase with its
    /// start, end, text and mean log-probability.
    #[arg(long)]
    pub json: bool,
    /// Print what `vtx index --speech` stored for VIDEO in this index, without transcribing again.
    #[arg(long, value_name = "DIR")]
    pub index: Option<PathBuf>,
    #[command(flatten)]
    pub stored_on: StoredOn,
    #[command(flatten)]
    pub models: ModelsDir,
}

#[derive(Args, Clone)]
pub struct ClusterArgs {
    /// kmeans (every item in a cluster) or hdbscan (no k; items in no dense group are noise).
    #[arg(long, value_name = "ALGORITHM", default_value = "kmeans")]
    pub algorithm: Algorithm,
    /// Number of k-means clusters [default: chosen by silhouette between 2 and --max-k, at most
    /// the square root of the number of items].
    #[arg(long)]
    pub k: Option<usize>,
    #[arg(long, default_value_t = 12)]
    pub max_k: usize,
    /// HDBSCAN: the smallest group that is a cluster.
    #[arg(long, default_value_t = vtx::cluster::DEFAULT_MIN_CLUSTER_SIZE)]
    pub min_cluster_size: usize,
    /// HDBSCAN: neighbours that make a point dense [default: --min-cluster-size].
    #[arg(long)]
    pub min_samples: Option<usize>,
    /// Seed of the k-means++ draws: the same seed gives the same clusters.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The space to cluster in: any space `vtx info` lists (`text` for the offline pack's text
    /// space), or several joined by `+` and weighted alike (`visual+text`) [default: as for
    /// `similar`].
    #[arg(long, value_name = "NAME[+NAME]")]
    pub space: Option<String>,
    /// PCA-whiten the vectors to this many dimensions first, so that the few directions of
    /// largest spread (mostly colour and layout) stop deciding the clusters alone.
    #[arg(long, value_name = "DIMS")]
    pub whiten: Option<usize>,
    #[command(flatten)]
    pub stream: StreamArgs,
}

impl ClusterArgs {
    pub fn options(&self, level: Level) -> vtx::cluster::ClusterOptions {
        let algorithm = match self.algorithm {
            Algorithm::KMeans => Algorithm::KMeans,
            Algorithm::Hdbscan { .. } => Algorithm::Hdbscan {
                min_cluster_size: self.min_cluster_size,
                min_samples: self.min_samples.unwrap_or(self.min_cluster_size),
            },
        };
        vtx::cluster::ClusterOptions {
            level,
            space: self.space.clone(),
            whiten: self.whiten,
            stream: self.stream.stream(),
            algorithm,
            k: self.k,
            max_k: self.max_k,
            seed: self.seed,
            ..Default::default()
        }
    }
}

#[derive(Args)]
pub struct ClusterCommandArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// video, or segment to cluster segments instead of whole videos.
    #[arg(long, value_name = "LEVEL", default_value_t = Level::Video)]
    pub level: Level,
    /// Names for clusters: imagenet, coco, kinetics, or a file of one label per line [default:
    /// the labels of an image model of the index, e.g. ImageNet's 1000 classes].
    #[arg(long, value_name = "SET|FILE")]
    pub labels: Option<String>,
    /// Texts (one per line) clustered with the videos: each lands in a cluster or forms its
    /// own. Clusters in a space that embeds text (as `search` picks it).
    #[arg(long, value_name = "FILE")]
    pub texts: Option<PathBuf>,
    /// A text joins the cluster of its nearest video when their cosine (texts and videos each
    /// centred on their mean) reaches this; else it forms its own.
    #[arg(long, default_value_t = vtx::cluster::TEXT_JOIN_MIN)]
    pub text_min_score: f32,
    /// Write a contact sheet per cluster (cluster-N.png) and a map of the library (map.png).
    #[arg(long, value_name = "DIR")]
    pub pictures: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Subcommand)]
pub enum EvalCommand {
    /// Captions against their videos: text-to-video and video-to-text R@1/5/10, median and mean
    /// rank.
    Retrieval {
        /// Lines of `video<TAB>caption`, or `video<TAB>caption<TAB>category` (videos already
        /// indexed; a video may have several captions). Categories get figures of their own.
        #[arg(long, value_name = "FILE.tsv")]
        captions: PathBuf,
        /// The text space to search in [default: as for `search`].
        #[command(flatten)]
        space: SpaceArg,
        /// Also list every caption whose video did not come first: its rank, and what came first.
        #[arg(long)]
        failures: bool,
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

#[derive(Args)]
pub struct ServeArgs {
    /// Where to listen; loopback unless you say otherwise (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// Require this bearer token on every request (the page: open /?token=TOKEN once). Other
    /// users see it in `ps`: prefer $VTX_TOKEN or --token-file.
    #[arg(long, env = "VTX_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Read the token from this file (its first line).
    #[arg(long, conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// A host name a loopback server also answers to (besides localhost, 127.0.0.1, [::1]);
    /// repeatable. Other names are refused, which stops DNS-rebinding pages.
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_hosts: Vec<String>,
    /// Seconds a client may take to send its request's headers before it is disconnected.
    #[arg(long, default_value_t = 10)]
    pub header_timeout: u64,
    /// Connections held at once (more wait to be accepted).
    #[arg(long, default_value_t = 256)]
    pub max_connections: usize,
    /// Requests answered at once (they share one engine and its loaded models).
    #[arg(long, alias = "engines", default_value_t = 2)]
    pub workers: usize,
    /// Seconds a request may take before it gets 408.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Largest request body (an uploaded picture or clip), in MiB.
    #[arg(long, default_value_t = 64)]
    pub max_body_mb: usize,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args)]
pub struct InfoArgs {
    #[arg(long)]
    pub json: bool,
    /// Also list every indexed video.
    #[arg(long)]
    pub videos: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Subcommand)]
pub enum ModelsCommand {
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

#[derive(Args)]
pub struct BenchModelArgs {
    /// An installed model (`vtx models list`).
    pub model: String,
    #[command(flatten)]
    pub models: ModelsDir,
    /// Inputs per inference call [default: the manifest's for images, 8 texts].
    #[arg(long)]
    pub batch: Option<usize>,
    /// Images (and texts) to encode per measurement.
    #[arg(long, default_value_t = 128)]
    pub items: usize,
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Search latency, recall against exact search, memory and disk of the embedded store, on
    /// synthetic embedding-like vectors (clusters in a low-dimensional subspace plus noise).
    Search(SearchBenchArgs),
    /// Ingest throughput of 1, 2, 4... `vtx index` workers started at once on the same videos
    /// (sharing them by claims) into one new index each: a Qdrant collection with --store.
    Workers(WorkersBenchArgs),
}

#[derive(Args)]
pub struct BenchIngestArgs {
    #[arg(required = true, value_name = "VIDEO")]
    pub videos: Vec<PathBuf>,
    #[command(flatten)]
    pub models: ModelsDir,
    /// The image model to index with.
    #[arg(long, default_value = vtx::DEFAULT_MODELS[0])]
    pub model: String,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Repeat each measurement and keep the fastest.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    #[arg(long)]
    pub json: bool,
}

impl SamplingArgs {
    /// The sampling asked for; `span` is the longest segment (for `--sampling shots`).
    pub fn sampling(&self, span: f64) -> anyhow::Result<Sampling> {
        Ok(match (self.sampling, self.keyframes, self.frames) {
            (Some(SamplingMode::Shots), false, None) => Sampling::Shots {
                frames: self.shot_frames,
                span,
            },
            (Some(SamplingMode::Shots), ..) => {
                anyhow::bail!("--sampling shots cannot be combined with --frames or --keyframes")
            }
            (Some(SamplingMode::Keyframes), ..) | (None, true, _) => Sampling::Keyframes,
            (Some(SamplingMode::Frames), _, None) => anyhow::bail!("--sampling frames needs --frames N"),
            (Some(SamplingMode::Frames) | None, _, Some(n)) => Sampling::Count(n),
            (Some(SamplingMode::Fps), _, Some(_)) => anyhow::bail!("--sampling fps cannot be combined with --frames"),
            (Some(SamplingMode::Fps) | None, ..) => Sampling::Fps(self.fps),
        })
    }
}
