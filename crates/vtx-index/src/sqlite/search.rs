//! How the embedded store answers a [`SearchRequest`]: an exact scan of the stored chunks, or a
//! walk of the space's HNSW graph plus an exact scan of the videos changed since it was built.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use rusqlite::params;

use super::{blob, decode_into, score_blob, storage, Db};
use crate::ann::{self, Graph, GraphBuilder, Summary};
use crate::ranking::{Scored, TopK};
use crate::{Filter, IndexError, OptimizeAction, Optimized, Result, ScoredPoint, SearchRequest, Space};

/// Videos whose rows are read one by one (an indexed look-up each) rather than by one scan of the
/// space that skips the others.
const FEW_VIDEOS: usize = 256;

/// Graphs loaded in this process, by file: every store opened on the same index (the server's
/// engines, a test's readers) shares one copy in memory, searched with the expansion of the store
/// that loaded it.
fn loaded() -> &'static Mutex<HashMap<std::path::PathBuf, Arc<Graph>>> {
    static GRAPHS: OnceLock<Mutex<HashMap<std::path::PathBuf, Arc<Graph>>>> = OnceLock::new();
    GRAPHS.get_or_init(Default::default)
}

/// What a filter lets through, resolved against the catalog tables once per search.
pub(super) struct Admit<'f> {
    filter: &'f Filter,
    /// Segments allowed by the tag and time conditions, with their videos; `None`: all.
    segments: Option<HashMap<i64, i64>>,
}

impl Admit<'_> {
    fn video(&self, video: i64) -> bool {
        self.filter.videos.as_ref().is_none_or(|v| v.contains(&video))
    }

    pub(super) fn segment(&self, video: i64, segment: i64) -> bool {
        self.video(video) && self.segments.as_ref().is_none_or(|s| s.contains_key(&segment))
    }

    /// The videos whose rows can hold an admitted segment; `None`: any.
    fn videos(&self) -> Option<HashSet<i64>> {
        let from_segments = self
            .segments
            .as_ref()
            .map(|s| s.values().copied().filter(|v| self.video(*v)).collect::<HashSet<_>>());
        from_segments.or_else(|| self.filter.videos.clone())
    }
}

impl Db<'_> {
    pub(super) fn admit<'f>(&self, filter: &'f Filter) -> Result<Admit<'f>> {
        let mut segments: Option<HashMap<i64, i64>> = None;
        if let Some(word) = &filter.tag {
            segments = Some(self.segments_tagged(word)?.into_iter().collect());
        }
        let labelled = [
            filter.object.as_ref().map(|o| self.segments_with(o)).transpose()?,
            filter.action.as_deref().map(|a| self.segments_doing(a)).transpose()?,
        ];
        for holding in labelled.into_iter().flatten() {
            let holding = holding.into_iter().map(|(s, v, _)| (s, v));
            segments = Some(match segments {
                Some(kept) => holding.filter(|(s, _)| kept.contains_key(s)).collect(),
                None => holding.collect(),
            });
        }
        if let Some(range) = filter.time {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT id, video_id FROM segments WHERE start < ?1 AND end > ?2")
                .map_err(storage)?;
            let rows = stmt
                .query_map(params![range.end, range.start], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(storage)?;
            let within: HashMap<i64, i64> = rows.collect::<rusqlite::Result<_>>().map_err(storage)?;
            segments = Some(match segments {
                Some(tagged) => tagged.into_iter().filter(|(s, _)| within.contains_key(s)).collect(),
                None => within,
            });
        }
        Ok(Admit { filter, segments })
    }

    /// The segments `filter` admits that hold its object (else where its action is done), best
    /// mean detection score first.
    pub(super) fn object_hits(&self, filter: &Filter, limit: usize) -> Result<Vec<ScoredPoint>> {
        let ranked = match (&filter.object, &filter.action) {
            (Some(object), _) => self.segments_with(object)?,
            (None, Some(action)) => self.segments_doing(action)?,
            (None, None) => {
                return Err(IndexError::Usage(
                    "a search by object needs a filter that names an object or an action",
                ))
            }
        };
        let admit = self.admit(filter)?;
        let mut found: Vec<ScoredPoint> = ranked
            .into_iter()
            .filter(|&(segment, video, _)| admit.segment(video, segment))
            .map(|(segment, video, score)| ScoredPoint { segment, video, score })
            .collect();
        found.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.segment.cmp(&b.segment)));
        found.truncate(limit);
        Ok(found)
    }

    /// Segment vectors stored in `space`.
    pub(super) fn points_in(&self, space: &str) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT COALESCE(SUM(length(ids)), 0) / 8 FROM segment_vectors WHERE space = ?1",
                [space],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(storage)
    }

    fn points_of(&self, space: &str, videos: &HashSet<i64>) -> Result<u64> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT COALESCE(SUM(length(ids)), 0) / 8 FROM segment_vectors WHERE space = ?1 AND video_id = ?2",
            )
            .map_err(storage)?;
        let mut total = 0u64;
        for video in videos {
            total += stmt
                .query_row(params![space, video], |r| r.get::<_, i64>(0))
                .map_err(storage)? as u64;
        }
        Ok(total)
    }

    /// Hand each stored chunk of `space` (of `videos` only, when given) to `take`: (video, segment
    /// ids, vectors), as stored.
    fn each_chunk(
        &self,
        space: &str,
        videos: Option<&HashSet<i64>>,
        mut take: impl FnMut(i64, &[u8], &[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut take_row = |row: &rusqlite::Row<'_>| -> Result<()> {
            let video: i64 = row.get(0).map_err(storage)?;
            if videos.is_some_and(|v| !v.contains(&video)) {
                return Ok(());
            }
            take(video, blob(row, 1)?, blob(row, 2)?)
        };
        match videos {
            Some(videos) if videos.len() <= FEW_VIDEOS => {
                let mut stmt = self
                    .conn
                    .prepare_cached(
                        "SELECT video_id, ids, vecs FROM segment_vectors WHERE space = ?1 AND video_id = ?2",
                    )
                    .map_err(storage)?;
                for video in videos {
                    let mut rows = stmt.query(params![space, video]).map_err(storage)?;
                    while let Some(row) = rows.next().map_err(storage)? {
                        take_row(row)?;
                    }
                }
            }
            _ => {
                let mut stmt = self
                    .conn
                    .prepare_cached("SELECT video_id, ids, vecs FROM segment_vectors WHERE space = ?1")
                    .map_err(storage)?;
                let mut rows = stmt.query([space]).map_err(storage)?;
                while let Some(row) = rows.next().map_err(storage)? {
                    take_row(row)?;
                }
            }
        }
        Ok(())
    }

    /// Score every admitted segment in the chunks of `videos` (all when `None`) into `top`.
    fn scan(
        &self,
        space: &str,
        query: &[f32],
        admit: &Admit<'_>,
        videos: Option<&HashSet<i64>>,
        top: &mut TopK,
    ) -> Result<()> {
        self.each_chunk(space, videos, |video, ids, vecs| {
            if admit.video(video) {
                score_blob(ids, vecs, query, |segment, score| {
                    if admit.segment(video, segment) {
                        top.push(score, video, segment);
                    }
                });
            }
            Ok(())
        })
    }

    /// The request's best (score, video, segment) triples.
    pub(super) fn ranked(&self, request: &SearchRequest<'_>) -> Result<Vec<Scored>> {
        if request.limit == 0 {
            return Ok(Vec::new());
        }
        let mut top = TopK::new(request.limit, request.group_by_video);
        let admit = self.admit(&request.filter)?;
        let videos = admit.videos();
        // A selective filter: exact over what it admits beats a walk that rejects most nodes.
        let selective = match (&admit.segments, &videos) {
            (Some(segments), _) => segments.len() as u64 <= self.ann.min_points,
            (None, Some(videos)) => {
                videos.len() <= FEW_VIDEOS && self.points_of(request.space, videos)? <= self.ann.min_points
            }
            (None, None) => false,
        };
        let graph = if request.exact || selective {
            None
        } else {
            self.graph(request.space)?
        };
        let Some(graph) = graph else {
            self.scan(request.space, request.query, &admit, videos.as_ref(), &mut top)?;
            return Ok(top.finish());
        };
        let dirty = self.dirty_videos(request.space, graph.log_seq)?;
        // Grouping keeps one segment a video, so ask the graph for more until enough videos come
        // back or it has nothing more to give.
        let mut count = if request.group_by_video {
            request.limit * 4
        } else {
            request.limit
        };
        let admit_node = |video: i64, segment: i64| !dirty.contains(&video) && admit.segment(video, segment);
        let everything = dirty.is_empty() && request.filter.is_empty();
        loop {
            let found = graph.search(
                request.query,
                count,
                (!everything).then_some(&admit_node as &dyn Fn(i64, i64) -> bool),
            )?;
            let exhausted = found.len() < count || count >= graph.len();
            let mut round = TopK::new(request.limit, request.group_by_video);
            for (score, video, segment) in found {
                round.push(score, video, segment);
            }
            if !request.group_by_video || exhausted || round.len() >= request.limit {
                top = round;
                break;
            }
            count = (count * 4).min(graph.len());
        }
        if !dirty.is_empty() {
            let fresh: HashSet<i64> = match &videos {
                Some(admitted) => dirty.intersection(admitted).copied().collect(),
                None => dirty,
            };
            if !fresh.is_empty() {
                self.scan(request.space, request.query, &admit, Some(&fresh), &mut top)?;
            }
        }
        Ok(top.finish())
    }

    fn dirty_videos(&self, space: &str, since: i64) -> Result<HashSet<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT video_id FROM vector_log WHERE space = ?1 AND seq > ?2")
            .map_err(storage)?;
        let rows = stmt.query_map(params![space, since], |r| r.get(0)).map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }

    /// The space's graph, loaded (or reloaded when the file changed); built first when the space
    /// is large enough and its file is missing or damaged. `None`: search it exactly.
    fn graph(&self, space: &str) -> Result<Option<Arc<Graph>>> {
        let path = ann::graph_path(self.dir, space);
        let current = ann::stamp(&path);
        if let Some(graph) = loaded()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&path)
        {
            if Some(graph.stamp) == current {
                return Ok(Some(graph.clone()));
            }
        }
        let dim = self.space(space)?.dim;
        let graph = match Graph::load(&path, dim, self.ann) {
            Ok(Some(graph)) => Some(graph),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!("{e}: rebuilding it");
                None
            }
        };
        let graph = match graph {
            Some(graph) => graph,
            None => {
                if self.points_in(space)? < self.ann.min_points {
                    return Ok(None);
                }
                tracing::warn!("building the approximate index of space '{space}' (it was missing or damaged)");
                // A store that cannot write its graph (a full disk, a read-only copy of the index)
                // still answers, exactly.
                match self.build(space, dim).and_then(|_| Graph::load(&path, dim, self.ann)) {
                    Ok(Some(graph)) => graph,
                    Ok(None) => return Ok(None),
                    Err(e) => {
                        tracing::warn!(
                            "cannot build the approximate index of space '{space}' ({e}): searching exactly"
                        );
                        return Ok(None);
                    }
                }
            }
        };
        let graph = Arc::new(graph);
        loaded()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(path, graph.clone());
        Ok(Some(graph))
    }

    /// Build the space's graph from scratch, from one consistent snapshot of the store.
    fn build(&self, space: &str, dim: usize) -> Result<u64> {
        let tx = self.conn.unchecked_transaction().map_err(storage)?;
        let log_seq = self.log_position()?;
        let mut builder = GraphBuilder::new(dim, self.points_in(space)? as usize, self.ann)?;
        self.feed(space, None, &mut builder)?;
        tx.commit().map_err(storage)?;
        builder.save(&ann::graph_path(self.dir, space), log_seq)
    }

    /// Forget the space's changes up to `position`, which no graph in use predates.
    fn prune_log(&self, space: &str, position: i64) -> Result<()> {
        self.conn
            .execute(
                "DELETE FROM vector_log WHERE space = ?1 AND seq <= ?2",
                params![space, position],
            )
            .map_err(storage)?;
        Ok(())
    }

    fn log_position(&self) -> Result<i64> {
        self.conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM vector_log", [], |r| r.get(0))
            .map_err(storage)
    }

    /// Insert the space's stored points (of `videos` only, when given) into a graph.
    fn feed(&self, space: &str, videos: Option<&HashSet<i64>>, builder: &mut GraphBuilder) -> Result<()> {
        let mut vectors = Vec::new();
        self.each_chunk(space, videos, |video, ids, vecs| {
            let ids: Vec<i64> = ids
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().expect("8-byte chunk")))
                .collect();
            decode_into(vecs, &mut vectors);
            builder.add(video, &ids, &vectors)
        })
    }

    /// Bring one space's graph up to date: build, merge, drop or leave it (see [`AnnOptions`]).
    pub(super) fn optimize_space(&self, space: &Space, started: &mut dyn FnMut(&str, u64)) -> Result<Optimized> {
        let clock = Instant::now();
        let path = ann::graph_path(self.dir, &space.name);
        let points = self.points_in(&space.name)?;
        let done = |action, points| Optimized {
            space: space.name.clone(),
            action,
            points,
            seconds: clock.elapsed().as_secs_f64(),
        };
        let existing = match Summary::peek(&path, space.dim, self.ann) {
            Ok(summary) => summary,
            Err(e) => {
                tracing::warn!("{e}: rebuilding it");
                None
            }
        };
        // The change log matters only after the position of a graph someone may still search:
        // the one on disk now, or, with none, the one about to be built from a fresh snapshot.
        let needed_after = match &existing {
            Some(summary) => summary.log_seq,
            None => self.log_position()?,
        };
        self.prune_log(&space.name, needed_after)?;
        if points < self.ann.min_points {
            if path.exists() {
                std::fs::remove_file(&path).map_err(|e| IndexError::Storage(format!("{}: {e}", path.display())))?;
            }
            return Ok(done(OptimizeAction::Exact, 0));
        }
        let Some(summary) = existing else {
            started(&space.name, points);
            let built = self.build(&space.name, space.dim)?;
            return Ok(done(OptimizeAction::Built, built));
        };
        let dirty = self.dirty_videos(&space.name, summary.log_seq)?;
        let changed = self.points_of(&space.name, &dirty)? + summary.points_of(&dirty);
        if changed <= self.ann.merge_at && changed < points / 4 + 1 {
            return Ok(done(OptimizeAction::UpToDate, summary.len() as u64));
        }
        started(&space.name, changed);
        // More than a quarter changed: a fresh build beats patching (and needs no old graph).
        let reusable = match changed > points / 4 {
            true => Ok(None),
            false => Graph::load(&path, space.dim, self.ann),
        };
        let graph = match reusable {
            Ok(Some(graph)) => graph,
            found => {
                if let Err(e) = found {
                    tracing::warn!("{e}: rebuilding it");
                }
                let built = self.build(&space.name, space.dim)?;
                return Ok(done(OptimizeAction::Built, built));
            }
        };
        let tx = self.conn.unchecked_transaction().map_err(storage)?;
        let log_seq = self.log_position()?;
        // Videos may have changed since `dirty` was read: take the set again inside the snapshot.
        let dirty = self.dirty_videos(&space.name, graph.log_seq)?;
        let mut builder = GraphBuilder::from_graph(&graph, self.ann)?;
        builder.remove_videos(&dirty)?;
        self.feed(&space.name, Some(&dirty), &mut builder)?;
        tx.commit().map_err(storage)?;
        let merged = builder.save(&path, log_seq)?;
        Ok(done(OptimizeAction::Merged, merged))
    }
}
