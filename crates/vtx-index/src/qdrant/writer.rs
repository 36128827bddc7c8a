//! One video being written to the cluster: its frames go out in chunks as they come, under the
//! write's own generation; its segment and video points, and the row that makes them the current
//! version, go at commit. Dropped uncommitted, it deletes what it wrote; killed, it leaves points
//! no row names, which the next write of the video (or `optimize`) sweeps.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::MutexGuard;

use qdrant_client::qdrant::{Condition, Filter as QFilter, PointId, PointStruct};
use serde_json::json;

use super::{
    codec::{self, field, json_field, to_text},
    frames_point, kind, record_id, row_id, segment_point, thumb_point, video_point, QdrantStore,
};
use crate::{
    ids, Catalog, IndexError, Result, Segment, SegmentSpan, ShotSpan, SpaceVectors, TimedVector, VectorIndex,
    VideoMeta, VideoText, VideoWriter,
};

/// Moments in one stored chunk: 64 x 1280-d is 330 KB of vectors, well inside a gRPC message.
const CHUNK_FRAMES: usize = 64;
/// Tries at a free video id for new content (see [`ids`]).
const MAX_ATTEMPTS: u32 = 8;

/// A video's moments in `space` as its current row names them, vectors too when asked.
pub(super) fn stored_moments(store: &QdrantStore, video: i64, space: &str, vectors: bool) -> Result<Vec<TimedVector>> {
    let Some(row) = store.row(video, Some(&["gen", "frame_chunks"]))? else {
        return Ok(Vec::new());
    };
    let chunks: BTreeMap<String, usize> = json_field(&row.payload, "frame_chunks")?;
    let count = chunks.get(space).copied().unwrap_or(0);
    read_chunks(store, video, field(&row.payload, "gen")?, space, count, vectors)
}

fn read_chunks(
    store: &QdrantStore,
    video: i64,
    gen: i64,
    space: &str,
    count: usize,
    vectors: bool,
) -> Result<Vec<TimedVector>> {
    let ids: Vec<PointId> = (0..count).map(|c| frames_point(video, gen, space, c)).collect();
    let fields: &[&str] = if vectors { &["chunk", "t", "v"] } else { &["chunk", "t"] };
    let mut chunks: Vec<(usize, Vec<TimedVector>)> = Vec::with_capacity(count);
    for point in store.get(ids, Some(fields), false)? {
        let times: Vec<f64> = field(&point.payload, "t")?;
        let flat = if vectors {
            codec::decode_floats(&field::<String>(&point.payload, "v")?)?
        } else {
            Vec::new()
        };
        let dim = if times.is_empty() { 0 } else { flat.len() / times.len() };
        let moments = times
            .iter()
            .enumerate()
            .map(|(i, &t)| TimedVector {
                t,
                vector: if vectors {
                    flat[i * dim..(i + 1) * dim].to_vec()
                } else {
                    Vec::new()
                },
            })
            .collect();
        chunks.push((field(&point.payload, "chunk")?, moments));
    }
    if chunks.len() != count {
        return Err(IndexError::Storage(format!(
            "video {video} lost frames in space '{space}': {} of {count} chunks found",
            chunks.len()
        )));
    }
    chunks.sort_by_key(|(c, _)| *c);
    Ok(chunks.into_iter().flat_map(|(_, m)| m).collect())
}

/// A point's vectors, by space.
type NamedVectors = HashMap<String, Vec<f32>>;

fn no_vectors() -> NamedVectors {
    HashMap::new()
}

pub(super) struct QdrantWriter<'s> {
    store: &'s QdrantStore,
    _one_writer: MutexGuard<'s, ()>,
    video: i64,
    gen: i64,
    path: String,
    /// A video stored under this path with other content, dropped at commit.
    replaced: Option<i64>,
    /// For an extension: the generation it extends, and the spaces it keeps from it.
    base: Option<(i64, Vec<String>)>,
    shots: Vec<ShotSpan>,
    segments: Vec<Segment>,
    /// Per space: moments not yet sent, and chunks sent.
    pending: HashMap<String, Vec<TimedVector>>,
    chunks: BTreeMap<String, usize>,
    vectors: BTreeMap<String, SpaceVectors>,
    /// By source: written under this write's generation at commit, before the row names it.
    texts: BTreeMap<String, VideoText>,
    committed: bool,
}

impl<'s> QdrantWriter<'s> {
    fn lock(store: &'s QdrantStore) -> MutexGuard<'s, ()> {
        store.writing.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn new(store: &'s QdrantStore, path: &str, content: &str) -> Result<Self> {
        let one_writer = Self::lock(store);
        let mut chosen = None;
        for attempt in 0..MAX_ATTEMPTS {
            let id = ids::video_id(content, attempt);
            match store.row(id, Some(&["path"]))? {
                Some(row) if field::<String>(&row.payload, "path")? != path => continue,
                _ => {
                    chosen = Some(id);
                    break;
                }
            }
        }
        let video = chosen
            .ok_or_else(|| IndexError::Storage(format!("no free video id for {path} after {MAX_ATTEMPTS} tries")))?;
        let replaced = store.video_by_path(path)?.map(|r| r.id).filter(|&id| id != video);
        // Later than the version it replaces even if this machine's clock is behind the one
        // that wrote it.
        let gen = codec::now_us().max(store.current_generation(video)?.map_or(0, |g| g + 1));
        Ok(Self {
            store,
            _one_writer: one_writer,
            video,
            gen,
            path: path.to_string(),
            replaced,
            base: None,
            shots: Vec::new(),
            segments: Vec::new(),
            pending: HashMap::new(),
            chunks: BTreeMap::new(),
            vectors: BTreeMap::new(),
            texts: BTreeMap::new(),
            committed: false,
        })
    }

    pub(super) fn extend(store: &'s QdrantStore, video: i64, spaces: &[String]) -> Result<Self> {
        let one_writer = Self::lock(store);
        let row = store
            .row(video, Some(&["gen", "path", "shots", "frame_chunks"]))?
            .ok_or_else(|| IndexError::Query(format!("no video with id {video} in this index")))?;
        let base_gen: i64 = field(&row.payload, "gen")?;
        let frame_chunks: BTreeMap<String, usize> = json_field(&row.payload, "frame_chunks")?;
        let mut kept: HashSet<String> = frame_chunks.keys().cloned().collect();
        kept.extend(store.video_spaces(video)?);
        let kept: Vec<String> = kept.into_iter().filter(|s| !spaces.contains(s)).collect();
        let segments = store.row_segments(video)?;
        Ok(Self {
            store,
            _one_writer: one_writer,
            video,
            gen: codec::now_us().max(base_gen + 1),
            path: field(&row.payload, "path")?,
            replaced: None,
            base: Some((base_gen, kept)),
            shots: json_field(&row.payload, "shots")?,
            segments,
            pending: HashMap::new(),
            chunks: BTreeMap::new(),
            vectors: BTreeMap::new(),
            texts: BTreeMap::new(),
            committed: false,
        })
    }

    fn send_chunk(&mut self, space: &str, moments: &[TimedVector]) -> Result<()> {
        let chunk = self.chunks.get(space).copied().unwrap_or(0);
        let times: Vec<f64> = moments.iter().map(|m| m.t).collect();
        let flat: Vec<f32> = moments.iter().flat_map(|m| m.vector.iter().copied()).collect();
        self.store.upsert(vec![PointStruct::new(
            frames_point(self.video, self.gen, space, chunk),
            no_vectors(),
            codec::payload(json!({
                "kind": kind::FRAMES, "video": self.video, "gen": self.gen, "space": space,
                "chunk": chunk, "t": times, "v": codec::encode_floats(&flat),
            }))?,
        )])?;
        self.chunks.insert(space.to_string(), chunk + 1);
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let pending: Vec<(String, Vec<TimedVector>)> = self.pending.drain().collect();
        for (space, moments) in pending {
            if !moments.is_empty() {
                self.send_chunk(&space, &moments)?;
            }
        }
        Ok(())
    }

    /// Copy what an extension keeps (the other spaces' frames, and the video's tags, objects and
    /// text) from the generation it extends into its own.
    fn carry_over(&mut self, base_gen: i64, kept: &[String]) -> Result<()> {
        let row = self.store.row(self.video, Some(&["frame_chunks"]))?;
        let old_chunks: BTreeMap<String, usize> = match &row {
            Some(row) => json_field(&row.payload, "frame_chunks")?,
            None => BTreeMap::new(),
        };
        for space in kept {
            let count = old_chunks.get(space).copied().unwrap_or(0);
            let moments = read_chunks(self.store, self.video, base_gen, space, count, true)?;
            for chunk in moments.chunks(CHUNK_FRAMES) {
                self.send_chunk(space, chunk)?;
            }
        }
        let records = self.store.scroll_all(
            QFilter::must([
                Condition::matches("video", self.video),
                Condition::matches("gen", base_gen),
                Condition::matches(
                    "kind",
                    vec![
                        kind::TAGS.to_string(),
                        kind::OBJECTS.to_string(),
                        kind::TEXT.to_string(),
                        kind::LINE.to_string(),
                    ],
                ),
            ]),
            None,
            false,
        )?;
        let mut copies = Vec::with_capacity(records.len());
        for point in records {
            let mut payload = point.payload;
            payload.insert("gen".into(), self.gen.into());
            let record_kind: String = field(&payload, "kind")?;
            let id = if record_kind == kind::LINE {
                super::text::line_point(
                    self.video,
                    self.gen,
                    field(&payload, "source")?,
                    field(&payload, "tgen")?,
                    field(&payload, "i")?,
                )
            } else {
                record_id(&record_kind, self.video, self.gen, &field::<String>(&payload, "part")?)
            };
            copies.push(PointStruct::new(id, no_vectors(), payload));
        }
        self.store.upsert(copies)
    }

    /// The old generation's segment and video vectors in the spaces an extension keeps.
    fn kept_vectors(&self, base_gen: i64, kept: &[String]) -> Result<(HashMap<i64, NamedVectors>, NamedVectors)> {
        let mut ids: Vec<PointId> = self.segments.iter().map(|s| segment_point(s.id, base_gen)).collect();
        ids.push(video_point(self.video, base_gen));
        let mut segments = HashMap::new();
        let mut video = HashMap::new();
        for point in self.store.get(ids, Some(&["kind", "seg"]), true)? {
            let vectors: HashMap<String, Vec<f32>> = kept
                .iter()
                .filter_map(|space| Some((space.clone(), codec::vector(&point, space)?)))
                .collect();
            if field::<String>(&point.payload, "kind")? == kind::VIDEO {
                video = vectors;
            } else {
                segments.insert(field::<i64>(&point.payload, "seg")?, vectors);
            }
        }
        Ok((segments, video))
    }

    fn write_points(&mut self) -> Result<Vec<String>> {
        let (mut kept_segments, mut kept_video) = match &self.base {
            Some((base_gen, kept)) => self.kept_vectors(*base_gen, kept)?,
            None => (HashMap::new(), HashMap::new()),
        };
        let mut points = Vec::with_capacity(self.segments.len() + 1);
        for (position, segment) in self.segments.iter().enumerate() {
            let mut vectors = kept_segments.remove(&segment.id).unwrap_or_default();
            for (space, written) in &self.vectors {
                if let Some(Some(v)) = written.segments.get(position) {
                    vectors.insert(space.clone(), v.clone());
                }
            }
            points.push(PointStruct::new(
                segment_point(segment.id, self.gen),
                vectors,
                codec::payload(json!({
                    "kind": kind::SEGMENT, "video": self.video, "gen": self.gen, "seg": segment.id,
                    "pos": position, "start": segment.start, "end": segment.end,
                }))?,
            ));
        }
        for (space, written) in &self.vectors {
            if let Some(v) = &written.video {
                kept_video.insert(space.clone(), v.clone());
            }
        }
        let mut spaces: Vec<String> = kept_video.keys().cloned().collect();
        spaces.sort();
        points.push(PointStruct::new(
            video_point(self.video, self.gen),
            kept_video,
            codec::payload(json!({ "kind": kind::VIDEO, "video": self.video, "gen": self.gen }))?,
        ));
        self.store.upsert(points)?;
        Ok(spaces)
    }
}

impl VideoWriter for QdrantWriter<'_> {
    fn add_frames(&mut self, space: &str, frames: &[TimedVector]) -> Result<()> {
        let mut sizes: Vec<usize> = frames.iter().map(|f| f.vector.len()).collect();
        sizes.dedup();
        for size in sizes {
            self.store.check_space(space, size)?;
        }
        let mut pending = self.pending.remove(space).unwrap_or_default();
        pending.extend_from_slice(frames);
        while pending.len() >= CHUNK_FRAMES {
            let rest = pending.split_off(CHUNK_FRAMES);
            self.send_chunk(space, &pending)?;
            pending = rest;
        }
        self.pending.insert(space.to_string(), pending);
        Ok(())
    }

    fn moments(&self, space: &str) -> Result<Vec<TimedVector>> {
        let mut moments = match &self.base {
            Some((base_gen, kept)) if kept.iter().any(|k| k == space) => {
                let row = self.store.row(self.video, Some(&["frame_chunks"]))?;
                let old: BTreeMap<String, usize> = match &row {
                    Some(row) => json_field(&row.payload, "frame_chunks")?,
                    None => BTreeMap::new(),
                };
                read_chunks(
                    self.store,
                    self.video,
                    *base_gen,
                    space,
                    old.get(space).copied().unwrap_or(0),
                    true,
                )?
            }
            _ => {
                let count = self.chunks.get(space).copied().unwrap_or(0);
                read_chunks(self.store, self.video, self.gen, space, count, true)?
            }
        };
        moments.extend(self.pending.get(space).into_iter().flatten().cloned());
        moments.sort_by(|a, b| a.t.total_cmp(&b.t));
        Ok(moments)
    }

    fn set_shots(&mut self, shots: &[ShotSpan]) -> Result<()> {
        self.shots = shots.to_vec();
        Ok(())
    }

    fn set_segments(&mut self, segments: &[SegmentSpan]) -> Result<()> {
        let mut thumbs = Vec::new();
        self.segments = segments
            .iter()
            .enumerate()
            .map(|(position, span)| {
                let id = ids::segment_id(self.video, position, 0);
                if let Some(jpeg) = &span.thumbnail {
                    thumbs.push((id, jpeg));
                }
                Segment {
                    id,
                    video_id: self.video,
                    start: span.start,
                    end: span.end,
                    has_thumbnail: span.thumbnail.is_some(),
                }
            })
            .collect();
        self.vectors.clear();
        let mut points = Vec::with_capacity(thumbs.len());
        for (segment, jpeg) in thumbs {
            points.push(PointStruct::new(
                thumb_point(segment, self.gen),
                no_vectors(),
                codec::payload(json!({
                    "kind": kind::THUMB, "video": self.video, "gen": self.gen, "seg": segment,
                    "jpeg": codec::encode_base64(jpeg),
                }))?,
            ));
        }
        self.store.upsert(points)
    }

    fn segments(&self) -> Result<Vec<Segment>> {
        Ok(self.segments.clone())
    }

    fn put_vectors(&mut self, vectors: &SpaceVectors) -> Result<()> {
        if vectors.segments.len() != self.segments.len() {
            return Err(IndexError::Usage(
                "segment vectors must align with the video's segments",
            ));
        }
        for v in vectors.segments.iter().flatten().chain(vectors.video.iter()) {
            self.store.check_space(&vectors.space, v.len())?;
        }
        self.vectors.insert(vectors.space.clone(), vectors.clone());
        Ok(())
    }

    fn set_text(&mut self, text: &VideoText) -> Result<()> {
        self.texts.insert(text.source.to_string(), text.clone());
        Ok(())
    }

    fn commit(mut self: Box<Self>, meta: &VideoMeta) -> Result<i64> {
        self.flush()?;
        if let Some((base_gen, kept)) = self.base.clone() {
            self.carry_over(base_gen, &kept)?;
        }
        let spaces = self.write_points()?;
        // A newer write of this video committed while this one worked: it wins, and this one's
        // points go (readers never saw them).
        if let Some(current) = self.store.current_generation(self.video)? {
            if current > self.gen {
                return Ok(self.video);
            }
        }
        for text in self.texts.values() {
            let tgen = super::text::write_text(self.store, self.video, self.gen, text)?;
            // An extension carried the source's old lines over; the record now names the new.
            if self.base.is_some() {
                super::text::drop_older_lines(self.store, self.video, Some(self.gen), text.source, tgen)?;
            }
        }
        let mut meta = meta.clone();
        meta.path = self.path.clone();
        let segments: Vec<(i64, f64, f64, bool)> = self
            .segments
            .iter()
            .map(|s| (s.id, s.start, s.end, s.has_thumbnail))
            .collect();
        self.store.upsert(vec![PointStruct::new(
            row_id(self.video),
            no_vectors(),
            codec::payload(json!({
                "kind": kind::ROW, "video": self.video, "gen": self.gen, "path": self.path,
                "meta": to_text(&meta)?, "segments": to_text(&segments)?, "shots": to_text(&self.shots)?,
                "spaces": to_text(&spaces)?, "frame_chunks": to_text(&self.chunks)?,
                "segment_count": self.segments.len(),
            }))?,
        )])?;
        self.committed = true;
        if let Some(old) = self.replaced {
            self.store.remove_rows_and_points(&[old])?;
        }
        self.store.sweep(self.video, self.gen)?;
        self.store.tick(self.gen)?;
        Ok(self.video)
    }
}

impl Drop for QdrantWriter<'_> {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let filter = QFilter::must([
            Condition::matches("video", self.video),
            Condition::matches("gen", self.gen),
        ]);
        if let Err(e) = self.store.delete(filter) {
            tracing::warn!(
                "an abandoned write of {} left points behind (the next write sweeps them): {e}",
                self.path
            );
        }
    }
}
