//! Approximate search: one HNSW graph (usearch) per vector space, over its segment vectors.
//!
//! SQLite stays the record; a graph is derived from it and can always be rebuilt from it. Each
//! graph is one file, `ann/<space>.hnsw`, holding a header, the (segment, video) pairs it covers
//! and the serialised graph, with a BLAKE3 checksum of everything after the header: a file that
//! is missing, cut short, of another layout or whose bytes do not match is never searched, it is
//! rebuilt. Files are written under a temporary name and renamed, so a crash leaves the old graph
//! or the new one, never half of one.
//!
//! A graph remembers the last entry of the store's change log it has seen. Videos changed or
//! removed since are "dirty": their points in the graph are skipped while it is walked, and their
//! current vectors are scanned exactly beside it. So new work is searchable at once and a removed
//! video never comes back, whatever the age of the graph; merging (`optimize`) only makes the
//! exact part small again.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::{IndexError, Result};

const MAGIC: &[u8; 8] = b"VTXHNSW1";
/// magic, change-log position, dimension, quantisation (+3 spare), points, graph bytes, checksum.
const HEADER_BYTES: usize = 8 + 8 + 4 + 4 + 8 + 8 + 32;

/// How vectors are stored inside the graph (the f32 originals stay in SQLite).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantization {
    F32,
    /// Half the memory of f32; cosines within about 1e-3 of the exact ones.
    F16,
    /// A quarter of f32; coarse for unit vectors of many dimensions (each component is small).
    I8,
}

impl Quantization {
    pub fn as_str(self) -> &'static str {
        match self {
            Quantization::F32 => "f32",
            Quantization::F16 => "f16",
            Quantization::I8 => "i8",
        }
    }

    fn code(self) -> u8 {
        match self {
            Quantization::F32 => 0,
            Quantization::F16 => 1,
            Quantization::I8 => 2,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        [Quantization::F32, Quantization::F16, Quantization::I8]
            .into_iter()
            .find(|q| q.code() == code)
    }

    fn scalar(self) -> usearch::ScalarKind {
        match self {
            Quantization::F32 => usearch::ScalarKind::F32,
            Quantization::F16 => usearch::ScalarKind::F16,
            Quantization::I8 => usearch::ScalarKind::I8,
        }
    }
}

vtx_core::names!(Quantization, "quantisation", {
    Quantization::F32 => "f32",
    Quantization::F16 => "f16",
    Quantization::I8 => "i8",
});

/// When and how the embedded store builds and walks graphs.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnOptions {
    /// Spaces with fewer segment vectors are searched exactly (and get no graph): below this an
    /// exact scan takes a few milliseconds.
    pub min_points: u64,
    pub quantization: Quantization,
    /// Neighbours per node (HNSW's M).
    pub connectivity: usize,
    /// Candidates kept while inserting (efConstruction).
    pub expansion_add: usize,
    /// Candidates kept while searching (ef); at least the number of results asked for.
    pub expansion_search: usize,
    /// Dirty points (changed since the graph was built) that `optimize` leaves to the exact scan
    /// beside the graph; more are merged into it.
    pub merge_at: u64,
    /// Threads that insert into a graph being built.
    pub threads: usize,
}

impl Default for AnnOptions {
    fn default() -> Self {
        Self {
            min_points: 20_000,
            quantization: Quantization::F16,
            connectivity: 16,
            expansion_add: 128,
            expansion_search: 64,
            merge_at: 4096,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// What `optimize` did to one space.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimized {
    pub space: String,
    pub action: OptimizeAction,
    /// Points in the graph afterwards (0 without one).
    pub points: u64,
    pub seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptimizeAction {
    /// A graph was built from scratch (none, a damaged one, or too much had changed).
    Built,
    /// The dirty videos' points were replaced in the existing graph.
    Merged,
    /// The graph is current, or what changed is small enough for the exact scan beside it.
    UpToDate,
    /// Too few points for a graph: searched exactly (a graph it had was dropped).
    Exact,
}

/// A graph loaded for searching.
pub(crate) struct Graph {
    // Declared before `bytes`: fields drop in order, and the index views into them.
    index: usearch::Index,
    /// (segment, video), by segment id.
    points: Vec<(i64, i64)>,
    /// The change-log position it reflects.
    pub(crate) log_seq: i64,
    /// The file as read: the index is a view into its graph part.
    bytes: Vec<u8>,
    /// The file's identity when it was read, to notice a newer one.
    pub(crate) stamp: FileStamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileStamp {
    len: u64,
    modified: SystemTime,
}

pub(crate) fn stamp(path: &Path) -> Option<FileStamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        len: meta.len(),
        modified: meta.modified().ok()?,
    })
}

fn graph_error(e: impl std::fmt::Display) -> IndexError {
    IndexError::Graph(e.to_string())
}

/// The graph file of a space: its name where that is a safe file name, else a hex spelling.
pub(crate) fn graph_path(dir: &Path, space: &str) -> PathBuf {
    let safe = !space.is_empty() && space.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let stem = if safe {
        space.to_string()
    } else {
        space.bytes().map(|b| format!("{b:02x}")).collect()
    };
    dir.join("ann").join(format!("{stem}.hnsw"))
}

fn usearch_options(dim: usize, options: &AnnOptions) -> usearch::IndexOptions {
    usearch::IndexOptions {
        dimensions: dim,
        metric: usearch::MetricKind::Cos,
        quantization: options.quantization.scalar(),
        connectivity: options.connectivity,
        expansion_add: options.expansion_add,
        expansion_search: options.expansion_search,
        multi: false,
    }
}

/// A graph being filled: built from scratch, or loaded (copied, so it can change) to merge into.
pub(crate) struct GraphBuilder {
    index: usearch::Index,
    points: Vec<(i64, i64)>,
    dim: usize,
    quantization: Quantization,
    threads: usize,
}

impl GraphBuilder {
    pub(crate) fn new(dim: usize, capacity: usize, options: &AnnOptions) -> Result<Self> {
        let index = usearch::Index::new(&usearch_options(dim, options)).map_err(graph_error)?;
        let threads = options.threads.max(1);
        index
            .reserve_capacity_and_threads(capacity.max(1), threads)
            .map_err(graph_error)?;
        Ok(Self {
            index,
            points: Vec::with_capacity(capacity),
            dim,
            quantization: options.quantization,
            threads,
        })
    }

    /// An existing graph, to merge into.
    pub(crate) fn from_graph(graph: &Graph, options: &AnnOptions) -> Result<Self> {
        let bytes = &graph.bytes[graph_offset(graph.points.len())..];
        let index = usearch::Index::restore_from_buffer(bytes).map_err(graph_error)?;
        index.change_expansion_add(options.expansion_add);
        index.change_expansion_search(options.expansion_search);
        let threads = options.threads.max(1);
        Ok(Self {
            dim: index.dimensions(),
            quantization: graph.quantization(),
            index,
            points: graph.points.clone(),
            threads,
        })
    }

    /// Take out every point of these videos.
    pub(crate) fn remove_videos(&mut self, videos: &HashSet<i64>) -> Result<()> {
        let mut kept = Vec::with_capacity(self.points.len());
        for &(segment, video) in &self.points {
            if videos.contains(&video) {
                self.index.remove(segment as u64).map_err(graph_error)?;
            } else {
                kept.push((segment, video));
            }
        }
        self.points = kept;
        Ok(())
    }

    /// Insert a run of points (one video's stored chunk: ids and f32 vectors), on all threads.
    pub(crate) fn add(&mut self, video: i64, ids: &[i64], vectors: &[f32]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let wanted = self.points.len() + ids.len();
        if wanted > self.index.capacity() {
            self.index
                .reserve_capacity_and_threads(wanted.max(self.index.capacity() * 2), self.threads)
                .map_err(graph_error)?;
        }
        let dim = self.dim;
        let index = &self.index;
        let per_thread = ids.len().div_ceil(self.threads);
        let failed = std::thread::scope(|scope| {
            let workers: Vec<_> = ids
                .chunks(per_thread)
                .zip(vectors.chunks(per_thread * dim))
                .map(|(ids, vectors)| {
                    scope.spawn(move || {
                        ids.iter()
                            .zip(vectors.chunks_exact(dim))
                            .try_for_each(|(&id, v)| index.add(id as u64, v).map_err(|e| e.to_string()))
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|_| Err("a graph insert thread panicked".into()))
                })
                .find_map(|r| r.err())
        });
        if let Some(why) = failed {
            return Err(IndexError::Graph(why));
        }
        self.points.extend(ids.iter().map(|&id| (id, video)));
        Ok(())
    }

    /// Write the graph to `path` (under a temporary name first), as of change-log position
    /// `log_seq`.
    pub(crate) fn save(mut self, path: &Path, log_seq: i64) -> Result<u64> {
        self.points.sort_unstable();
        let dir = path.parent().expect("graph paths have a folder");
        std::fs::create_dir_all(dir).map_err(|e| IndexError::Storage(format!("{}: {e}", dir.display())))?;
        remove_abandoned_parts(dir);
        let serial = path.with_extension(format!("usearch.{}.tmp", std::process::id()));
        let part = path.with_extension(format!("hnsw.{}.tmp", std::process::id()));
        let result = (|| {
            let serial_name = serial.to_str().ok_or_else(|| graph_error("index path is not UTF-8"))?;
            self.index.save(serial_name).map_err(graph_error)?;
            let graph_len = std::fs::metadata(&serial).map_err(io_error(&serial))?.len();
            let points: Vec<u8> = self
                .points
                .iter()
                .flat_map(|(s, v)| s.to_le_bytes().into_iter().chain(v.to_le_bytes()))
                .collect();
            let mut hasher = blake3::Hasher::new();
            hasher.update(&points);
            hasher
                .update_reader(std::fs::File::open(&serial).map_err(io_error(&serial))?)
                .map_err(io_error(&serial))?;
            let mut header = Vec::with_capacity(HEADER_BYTES);
            header.extend_from_slice(MAGIC);
            header.extend_from_slice(&log_seq.to_le_bytes());
            header.extend_from_slice(&(self.dim as u32).to_le_bytes());
            header.extend_from_slice(&[self.quantization.code(), 0, 0, 0]);
            header.extend_from_slice(&(self.points.len() as u64).to_le_bytes());
            header.extend_from_slice(&graph_len.to_le_bytes());
            header.extend_from_slice(hasher.finalize().as_bytes());
            let mut out = std::io::BufWriter::new(std::fs::File::create(&part).map_err(io_error(&part))?);
            out.write_all(&header).map_err(io_error(&part))?;
            out.write_all(&points).map_err(io_error(&part))?;
            std::io::copy(&mut std::fs::File::open(&serial).map_err(io_error(&serial))?, &mut out)
                .map_err(io_error(&part))?;
            let file = out.into_inner().map_err(|e| io_error(&part)(e.into_error()))?;
            file.sync_all().map_err(io_error(&part))?;
            std::fs::rename(&part, path).map_err(io_error(path))?;
            Ok(self.points.len() as u64)
        })();
        let _ = std::fs::remove_file(&serial);
        if result.is_err() {
            let _ = std::fs::remove_file(&part);
        }
        result
    }
}

/// Delete the temporary files of graph writers that died (`kill -9` in the middle of a save):
/// each names its process, and a process that no longer exists will not finish it.
fn remove_abandoned_parts(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_suffix(".tmp") else {
            continue;
        };
        let writer = rest.rsplit('.').next().and_then(|pid| pid.parse::<u32>().ok());
        if writer.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> IndexError + '_ {
    move |e| match e.raw_os_error() {
        Some(28) => IndexError::DiskFull,
        _ => IndexError::Storage(format!("{}: {e}", path.display())),
    }
}

fn graph_offset(points: usize) -> usize {
    HEADER_BYTES + points * 16
}

/// What a graph file's header says, checked against the space and the file's length.
struct Header {
    log_seq: i64,
    points: usize,
}

fn read_header(head: &[u8], file_len: u64, dim: usize, options: &AnnOptions, path: &Path) -> Result<Header> {
    let damaged = |why: &str| IndexError::Graph(format!("{}: {why}", path.display()));
    if head.len() < HEADER_BYTES || &head[..8] != MAGIC {
        return Err(damaged("not a vtx graph file"));
    }
    let u64_at = |at: usize| u64::from_le_bytes(head[at..at + 8].try_into().expect("8 bytes"));
    let file_dim = u32::from_le_bytes(head[16..20].try_into().expect("4 bytes")) as usize;
    let quantization = Quantization::from_code(head[20]).ok_or_else(|| damaged("unknown quantisation"))?;
    let (points, graph_len) = (u64_at(24) as usize, u64_at(32));
    if file_dim != dim {
        return Err(damaged("built for another dimension"));
    }
    if quantization != options.quantization {
        return Err(damaged("built with another quantisation"));
    }
    if (graph_offset(points) as u64).checked_add(graph_len) != Some(file_len) {
        return Err(damaged("cut short or padded"));
    }
    Ok(Header {
        log_seq: u64_at(8) as i64,
        points,
    })
}

fn read_points(bytes: &[u8]) -> Vec<(i64, i64)> {
    bytes
        .chunks_exact(16)
        .map(|p| {
            (
                i64::from_le_bytes(p[..8].try_into().expect("8 bytes")),
                i64::from_le_bytes(p[8..].try_into().expect("8 bytes")),
            )
        })
        .collect()
}

fn count_of(points: &[(i64, i64)], videos: &HashSet<i64>) -> u64 {
    points.iter().filter(|p| videos.contains(&p.1)).count() as u64
}

/// A graph file's change-log position and point list, read without the graph itself (16 bytes a
/// point, against the graph's ~1.2 KB at 512-d): enough to tell whether it is up to date. Its
/// checksum is checked when the graph is loaded to be searched or merged.
pub(crate) struct Summary {
    pub(crate) log_seq: i64,
    points: Vec<(i64, i64)>,
}

impl Summary {
    pub(crate) fn peek(path: &Path, dim: usize, options: &AnnOptions) -> Result<Option<Summary>> {
        let mut file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(path)(e)),
        };
        let file_len = file.metadata().map_err(io_error(path))?.len();
        let mut head = vec![0u8; HEADER_BYTES.min(file_len as usize)];
        file.read_exact(&mut head).map_err(io_error(path))?;
        let header = read_header(&head, file_len, dim, options, path)?;
        let mut points = vec![0u8; header.points * 16];
        file.read_exact(&mut points).map_err(io_error(path))?;
        Ok(Some(Summary {
            log_seq: header.log_seq,
            points: read_points(&points),
        }))
    }

    pub(crate) fn len(&self) -> usize {
        self.points.len()
    }

    /// How many of its points belong to these videos.
    pub(crate) fn points_of(&self, videos: &HashSet<i64>) -> u64 {
        count_of(&self.points, videos)
    }
}

impl Graph {
    /// Read and check a graph file. `Ok(None)`: there is none. An error: it is damaged or not of
    /// this space (the caller rebuilds it).
    pub(crate) fn load(path: &Path, dim: usize, options: &AnnOptions) -> Result<Option<Graph>> {
        let Some(stamp) = stamp(path) else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        match std::fs::File::open(path) {
            Ok(mut f) => f.read_to_end(&mut bytes).map_err(io_error(path))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(path)(e)),
        };
        let header = read_header(&bytes, bytes.len() as u64, dim, options, path)?;
        let damaged = |why: &str| IndexError::Graph(format!("{}: {why}", path.display()));
        if blake3::hash(&bytes[HEADER_BYTES..]).as_bytes() != &bytes[40..72] {
            return Err(damaged("checksum mismatch"));
        }
        let pairs = read_points(&bytes[HEADER_BYTES..graph_offset(header.points)]);
        let graph_part = &bytes[graph_offset(header.points)..];
        let metadata = usearch::Index::metadata_from_buffer(graph_part).map_err(graph_error)?;
        let index = usearch::Index::new(&metadata.into()).map_err(graph_error)?;
        // SAFETY: the buffer is `bytes`, moved into the same struct below and dropped after
        // `index` (field order); a Vec's heap allocation does not move with the Vec.
        unsafe { index.view_from_buffer(graph_part) }.map_err(graph_error)?;
        if index.size() != header.points {
            return Err(damaged("graph and point list disagree"));
        }
        index.change_expansion_search(options.expansion_search);
        Ok(Some(Graph {
            index,
            points: pairs,
            log_seq: header.log_seq,
            bytes,
            stamp,
        }))
    }

    pub(crate) fn len(&self) -> usize {
        self.points.len()
    }

    fn quantization(&self) -> Quantization {
        Quantization::from_code(self.bytes[20]).expect("checked when loaded")
    }

    /// The video a graph point belongs to.
    pub(crate) fn video_of(&self, segment: i64) -> Option<i64> {
        self.points
            .binary_search_by_key(&segment, |p| p.0)
            .ok()
            .map(|i| self.points[i].1)
    }

    /// The `count` nearest points that pass `admit` (every point when `None`), as (score, video,
    /// segment), best first.
    pub(crate) fn search(
        &self,
        query: &[f32],
        count: usize,
        admit: Option<&dyn Fn(i64, i64) -> bool>,
    ) -> Result<Vec<(f32, i64, i64)>> {
        let matches = match admit {
            // The predicate costs a look-up per node visited: skip it when everything passes.
            None => self.index.search(query, count),
            Some(admit) => self.index.filtered_search(query, count, |key| {
                let segment = key as i64;
                self.video_of(segment).is_some_and(|video| admit(video, segment))
            }),
        }
        .map_err(graph_error)?;
        Ok(matches
            .keys
            .iter()
            .zip(&matches.distances)
            .filter_map(|(&key, &distance)| {
                let segment = key as i64;
                self.video_of(segment).map(|video| (1.0 - distance, video, segment))
            })
            .collect())
    }
}
