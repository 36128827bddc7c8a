//! [`VectorStore`] on one SQLite file in write-ahead-log mode, with an HNSW graph per large space
//! beside it (`search.rs`, `crate::ann`).
//!
//! Each video is written in one transaction, so a run killed at any point leaves the index as it
//! was after the last finished video. Every transaction that changes a video's vectors also
//! appends to a change log (`vector_log`), which is how a graph built earlier knows what it does
//! not cover. The exact scan streams rows, so its memory stays flat whatever the index size.

mod claims;
mod search;
mod text;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use crate::ids;
use crate::{
    AnnOptions, Catalog, Cursor, Filter, Hit, IndexError, Keywords, ObjectFilter, ObjectTrack, Optimized, Page, Result,
    ScoredPoint, SearchRequest, Segment, SegmentObjects, SegmentSpan, ShotSpan, Space, SpaceVectors, StoreStats, Tag,
    TextMatch, TextSource, TimedVector, TrackPoint, VectorIndex, VectorStore, VideoMeta, VideoObjects, VideoRecord,
    VideoText, VideoWriter,
};
use vtx_core::{dot, TopK};

/// Bumped whenever the tables change shape or meaning; an index of another version is refused, not
/// misread. 3: spaces name the installed model (manifest name) that writes them. 4: segments.
/// 5: the language of a transcript and the times of its words (a version 4 index gains the two
/// columns when opened).
const SCHEMA_VERSION: i64 = 5;
const DB_FILE: &str = "vtx.sqlite";
/// Tries at a free id before giving up (each a fresh 53-bit hash: a second is already rare).
const MAX_ATTEMPTS: u32 = 64;
/// Frames per stored row: 1024 x 1280-d f32 is 5 MiB.
const CHUNK_FRAMES: usize = 1024;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS spaces (name TEXT PRIMARY KEY, dim INTEGER NOT NULL, model TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS videos (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT NOT NULL,
    duration REAL NOT NULL,
    fps REAL,
    format TEXT NOT NULL,
    codec TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    frames INTEGER NOT NULL
);
-- One row per video, space and run of up to CHUNK_FRAMES frames: a search reads a few large
-- blobs sequentially instead of one small row per frame (see docs/design.md for the measurements),
-- and no row grows past a few MiB however long the video.
CREATE TABLE IF NOT EXISTS frame_vectors (
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    space TEXT NOT NULL REFERENCES spaces(name),
    chunk INTEGER NOT NULL,
    -- f64 little-endian seconds, one per frame
    times BLOB NOT NULL,
    -- f32 little-endian, frames x dim, row-major
    vecs BLOB NOT NULL,
    PRIMARY KEY (video_id, space, chunk)
);
CREATE TABLE IF NOT EXISTS shots (
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    start REAL NOT NULL,
    end REAL NOT NULL,
    boundary TEXT NOT NULL,
    PRIMARY KEY (video_id, start)
);
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    start REAL NOT NULL,
    end REAL NOT NULL,
    -- JPEG
    thumbnail BLOB
);
CREATE INDEX IF NOT EXISTS segments_by_video ON segments (video_id, start);
-- Pooled from frame_vectors at commit, chunked the same way: one row per video, space and run of
-- up to CHUNK_FRAMES segments.
CREATE TABLE IF NOT EXISTS segment_vectors (
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    space TEXT NOT NULL REFERENCES spaces(name),
    chunk INTEGER NOT NULL,
    -- i64 little-endian segment ids
    ids BLOB NOT NULL,
    -- f32 little-endian, segments x dim, row-major
    vecs BLOB NOT NULL,
    PRIMARY KEY (video_id, space, chunk)
);
-- Zero-shot tags of segments (`vtx tag`), replaced per video.
CREATE TABLE IF NOT EXISTS tags (
    segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    score REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tags_by_video ON tags (video_id);
-- What a detector found (`vtx index --objects`), replaced per video and dropped with its segments.
CREATE TABLE IF NOT EXISTS video_objects (
    video_id INTEGER PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE,
    detector TEXT NOT NULL,
    fps REAL NOT NULL,
    frames INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tracks (
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    id INTEGER NOT NULL,
    label TEXT NOT NULL,
    start REAL NOT NULL,
    end REAL NOT NULL,
    score REAL NOT NULL,
    vx REAL NOT NULL,
    vy REAL NOT NULL,
    heading TEXT NOT NULL,
    -- a person's actions: 'action start end' separated by ';'
    actions TEXT NOT NULL,
    -- per box, little-endian: t f64, then x0 y0 x1 y1 score f32
    boxes BLOB NOT NULL,
    PRIMARY KEY (video_id, id)
);
CREATE TABLE IF NOT EXISTS segment_objects (
    segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    -- 'object' (a detector's label) or 'action' (what people do)
    kind TEXT NOT NULL,
    label TEXT NOT NULL COLLATE NOCASE,
    count INTEGER NOT NULL,
    score REAL NOT NULL,
    share REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS segment_objects_by_label ON segment_objects (kind, label, count);
CREATE INDEX IF NOT EXISTS segment_objects_by_video ON segment_objects (video_id);
-- What a text reader (`vtx index --ocr`) or a speech model (`--speech`) found, replaced per video
-- and source, and dropped with the video's segments.
CREATE TABLE IF NOT EXISTS video_text (
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    -- 'screen' (read in the picture) or 'speech' (heard)
    source TEXT NOT NULL,
    reader TEXT NOT NULL,
    fps REAL NOT NULL,
    frames INTEGER NOT NULL,
    -- of what was heard, where the speech model says (an ISO 639-1 code)
    language TEXT,
    PRIMARY KEY (video_id, source)
);
CREATE TABLE IF NOT EXISTS text_lines (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    -- as in video_text
    source TEXT NOT NULL,
    start REAL NOT NULL,
    end REAL NOT NULL,
    text TEXT NOT NULL,
    score REAL NOT NULL,
    -- x0 y0 x1 y1 as little-endian f32
    box BLOB NOT NULL,
    -- speech: its words with their times (a JSON array of objects with start end and text)
    words TEXT
);
CREATE INDEX IF NOT EXISTS text_lines_by_video ON text_lines (video_id, start);
-- The lines' words for keyword search (BM25), kept in step with text_lines by its triggers, which
-- cascaded deletes fire too.
CREATE VIRTUAL TABLE IF NOT EXISTS text_search USING fts5(
    text, content = 'text_lines', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS text_lines_added AFTER INSERT ON text_lines BEGIN
    INSERT INTO text_search (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS text_lines_dropped AFTER DELETE ON text_lines BEGIN
    INSERT INTO text_search (text_search, rowid, text) VALUES ('delete', old.id, old.text);
END;
-- One row per video and space whose vectors a transaction changed or removed, in commit order:
-- a graph built at position N trusts only the videos with no entry after N.
CREATE TABLE IF NOT EXISTS vector_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    space TEXT NOT NULL,
    video_id INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS vector_log_by_space ON vector_log (space, seq);
CREATE TABLE IF NOT EXISTS video_vectors (
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    space TEXT NOT NULL REFERENCES spaces(name),
    vec BLOB NOT NULL,
    PRIMARY KEY (video_id, space)
);
";

/// The embedded store. Each thread that reads leases a connection of its own from a small pool
/// (opened on demand, kept for the next), so searches run side by side while a video is written.
pub struct SqliteStore {
    dir: PathBuf,
    ann: AnnOptions,
    idle: Mutex<Vec<Connection>>,
    /// The claims file's one connection in this process, opened on first use (`claims.rs`).
    claims: Mutex<Option<Connection>>,
}

/// A connection leased from the store's pool; it goes back when dropped.
struct Lease<'s> {
    store: &'s SqliteStore,
    conn: Option<Connection>,
}

impl Lease<'_> {
    fn db(&self) -> Db<'_> {
        Db {
            conn: self.conn.as_ref().expect("a lease holds its connection until dropped"),
            dir: &self.store.dir,
            ann: &self.store.ann,
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.store.idle.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
        }
    }
}

/// The queries of the store, on one connection.
struct Db<'c> {
    conn: &'c Connection,
    dir: &'c Path,
    ann: &'c AnnOptions,
}

/// Open a connection to the index file with the settings every connection needs.
fn connect(file: &Path) -> Result<Connection> {
    let conn = Connection::open(file).map_err(storage)?;
    // WAL keeps readers working during a write; NORMAL sync is crash-safe for the application
    // (kill -9) and loses at most the last transaction on power loss.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 10000;",
    )
    .map_err(storage)?;
    // Every statement a search runs stays prepared (the default keeps 16).
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn storage(e: rusqlite::Error) -> IndexError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => IndexError::DiskFull,
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => IndexError::Busy,
        _ => IndexError::Storage(e.to_string()),
    }
}

fn encode(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn blob<'r>(row: &'r rusqlite::Row<'_>, column: usize) -> Result<&'r [u8]> {
    row.get_ref(column)
        .map_err(storage)?
        .as_blob()
        .map_err(|e| IndexError::Storage(e.to_string()))
}

/// Score every segment in an (ids, vectors) pair of blobs against `query`.
fn score_blob(ids: &[u8], vecs: &[u8], query: &[f32], mut scored: impl FnMut(i64, f32)) {
    let row_bytes = query.len() * 4;
    let mut v = Vec::with_capacity(query.len());
    for (id, bytes) in ids.chunks_exact(8).zip(vecs.chunks_exact(row_bytes)) {
        decode_into(bytes, &mut v);
        scored(i64::from_le_bytes(id.try_into().expect("8-byte chunk")), dot(query, &v));
    }
}

fn encode_actions(actions: &[(String, f64, f64)]) -> String {
    actions
        .iter()
        .map(|(action, start, end)| format!("{action} {start} {end}"))
        .collect::<Vec<_>>()
        .join(";")
}

fn decode_actions(text: &str) -> Vec<(String, f64, f64)> {
    text.split(';')
        .filter_map(|span| {
            let mut parts = span.split_whitespace();
            let action = parts.next()?.to_string();
            Some((action, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
        })
        .collect()
}

const TRACK_POINT_BYTES: usize = 8 + 5 * 4;

fn encode_track_points(points: &[TrackPoint]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.len() * TRACK_POINT_BYTES);
    for p in points {
        out.extend(p.t.to_le_bytes());
        for x in p.bbox.iter().chain([&p.score]) {
            out.extend(x.to_le_bytes());
        }
    }
    out
}

fn decode_track_points(bytes: &[u8]) -> Vec<TrackPoint> {
    bytes
        .chunks_exact(TRACK_POINT_BYTES)
        .map(|b| {
            let f = |i: usize| f32::from_le_bytes(b[8 + 4 * i..12 + 4 * i].try_into().expect("4 bytes"));
            TrackPoint {
                t: f64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
                bbox: [f(0), f(1), f(2), f(3)],
                score: f(4),
            }
        })
        .collect()
}

fn decode_into(bytes: &[u8], out: &mut Vec<f32>) {
    out.clear();
    out.extend(
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
    );
}

impl SqliteStore {
    /// Open the index in `dir` for reading and searching; an index that does not exist is an error
    /// (a typo in `--index` should not look like an empty library).
    pub fn open_existing(dir: &Path) -> Result<Self> {
        Self::open_existing_with(dir, AnnOptions::default())
    }

    /// [`open_existing`](Self::open_existing) with graphs built and searched as `ann` says.
    pub fn open_existing_with(dir: &Path, ann: AnnOptions) -> Result<Self> {
        let file = dir.join(DB_FILE);
        if !file.exists() {
            return Err(IndexError::NotFound(dir.display().to_string()));
        }
        // Looked at read-only first: a file that holds no index (empty, left by a failed start)
        // is reported, not turned into one.
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let probe = Connection::open_with_flags(&file, flags).map_err(storage)?;
        let has_meta: bool = probe
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
                [],
                |r| r.get(0),
            )
            .map_err(storage)?;
        let versioned = has_meta
            && probe
                .query_row("SELECT 1 FROM meta WHERE key = 'schema_version'", [], |_| Ok(()))
                .optional()
                .map_err(storage)?
                .is_some();
        drop(probe);
        match versioned {
            true => Self::open_with(dir, ann),
            false => Err(IndexError::NotFound(dir.display().to_string())),
        }
    }

    /// Open the index in `dir`, creating the directory and an empty index if needed.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, AnnOptions::default())
    }

    /// [`open`](Self::open) with graphs built and searched as `ann` says.
    pub fn open_with(dir: &Path, ann: AnnOptions) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| IndexError::Storage(format!("cannot create index directory {}: {e}", dir.display())))?;
        let file = dir.join(DB_FILE);
        let created = !file.exists();
        let opened = Self::open_file(dir, &file, ann);
        if created && opened.is_err() {
            // A new index that could not be written (a full disk) leaves no empty file behind.
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
            if let Err(IndexError::DiskFull) = opened {
                return Err(IndexError::Storage(format!(
                    "cannot create an index at {}: the disk is full",
                    dir.display()
                )));
            }
        }
        opened
    }

    fn open_file(dir: &Path, file: &Path, ann: AnnOptions) -> Result<Self> {
        let conn = connect(file)?;
        conn.execute_batch("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")
            .map_err(storage)?;
        let version: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get(0))
            .optional()
            .map_err(storage)?;
        match version.map(|v| v.parse::<i64>().unwrap_or(-1)) {
            None => {
                let tx = conn.unchecked_transaction().map_err(storage)?;
                tx.execute_batch(SCHEMA).map_err(storage)?;
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                    [SCHEMA_VERSION.to_string()],
                )
                .map_err(storage)?;
                tx.commit().map_err(storage)?;
            }
            // Tables added since (all `IF NOT EXISTS`) appear in older indexes of this version.
            Some(SCHEMA_VERSION) => conn.execute_batch(SCHEMA).map_err(storage)?,
            Some(4) => {
                let tx = conn.unchecked_transaction().map_err(storage)?;
                tx.execute_batch(
                    "ALTER TABLE video_text ADD COLUMN language TEXT;
                     ALTER TABLE text_lines ADD COLUMN words TEXT;
                     UPDATE meta SET value = '5' WHERE key = 'schema_version';",
                )
                .map_err(storage)?;
                tx.execute_batch(SCHEMA).map_err(storage)?;
                tx.commit().map_err(storage)?;
            }
            Some(other) => return Err(IndexError::Schema(dir.display().to_string(), other, SCHEMA_VERSION)),
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            ann,
            idle: Mutex::new(vec![conn]),
            claims: Mutex::new(None),
        })
    }

    /// A connection of the pool, or a new one when all are in use.
    fn lease(&self) -> Result<Lease<'_>> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => connect(&self.dir.join(DB_FILE))?,
        };
        Ok(Lease {
            store: self,
            conn: Some(conn),
        })
    }
}

impl Db<'_> {
    /// The one video matching `condition` (on `?1`), if any.
    fn video_where(&self, condition: &str, value: impl rusqlite::ToSql) -> Result<Option<VideoRecord>> {
        self.conn
            .query_row(
                &format!("SELECT {VIDEO_COLUMNS} FROM videos WHERE {condition}"),
                [value],
                record,
            )
            .optional()
            .map_err(storage)
    }

    fn space(&self, name: &str) -> Result<Space> {
        self.conn
            .prepare_cached("SELECT name, dim, model FROM spaces WHERE name = ?1")
            .map_err(storage)?
            .query_row([name], |r| {
                Ok(Space {
                    name: r.get(0)?,
                    dim: r.get::<_, i64>(1)? as usize,
                    model: r.get(2)?,
                })
            })
            .optional()
            .map_err(storage)?
            .ok_or_else(|| IndexError::UnknownSpace(name.to_string()))
    }

    fn check_dim(&self, space: &str, got: usize) -> Result<()> {
        let expected = self.space(space)?.dim;
        if expected != got {
            return Err(IndexError::Dimension {
                space: space.to_string(),
                expected,
                got,
            });
        }
        Ok(())
    }

    fn resolve(&self, scored: &[ScoredPoint]) -> Result<Vec<Hit>> {
        // One cached statement a hit: the look-ups are most of a graph search's time otherwise.
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT s.start, s.end, v.path FROM segments s JOIN videos v ON v.id = s.video_id WHERE s.id = ?1",
            )
            .map_err(storage)?;
        let mut hits = Vec::with_capacity(scored.len());
        for point in scored {
            let found = stmt
                .query_row([point.segment], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
                .map_err(storage)?;
            if let Some((start, end, path)) = found {
                hits.push(Hit::at(point, path, start, end));
            }
        }
        Ok(hits)
    }

    /// A video's moments in one space, in time order.
    fn moments(&self, video_id: i64, space: &str) -> Result<Vec<TimedVector>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT times, vecs FROM frame_vectors WHERE video_id = ?1 AND space = ?2 ORDER BY chunk")
            .map_err(storage)?;
        let mut rows = stmt.query(params![video_id, space]).map_err(storage)?;
        let mut moments = Vec::new();
        while let Some(row) = rows.next().map_err(storage)? {
            let (times, vecs) = (blob(row, 0)?, blob(row, 1)?);
            let dim = if times.is_empty() {
                0
            } else {
                vecs.len() / 4 / (times.len() / 8)
            };
            for (t, bytes) in times.chunks_exact(8).zip(vecs.chunks_exact(dim.max(1) * 4)) {
                let mut vector = Vec::with_capacity(dim);
                decode_into(bytes, &mut vector);
                moments.push(TimedVector {
                    t: f64::from_le_bytes(t.try_into().expect("8-byte chunk")),
                    vector,
                });
            }
        }
        moments.sort_by(|a, b| a.t.total_cmp(&b.t));
        Ok(moments)
    }

    /// The segments with a tag whose label contains `word` (any case), with their videos.
    fn segments_tagged(&self, word: &str) -> Result<Vec<(i64, i64)>> {
        let pattern = format!(
            "%{}%",
            word.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
        );
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT segment_id, video_id FROM tags WHERE label LIKE ?1 ESCAPE '\\'")
            .map_err(storage)?;
        let rows = stmt
            .query_map([pattern], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }

    fn insert_segments(&self, video_id: i64, segments: &[SegmentSpan]) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO segments (id, video_id, start, end, thumbnail) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(storage)?;
        for (position, s) in segments.iter().enumerate() {
            let mut attempt = 0;
            let id = |attempt| ids::segment_id(video_id, position, attempt);
            while stmt
                .execute(params![id(attempt), video_id, s.start, s.end, s.thumbnail])
                .map_err(storage)?
                == 0
            {
                attempt += 1;
                if attempt == MAX_ATTEMPTS {
                    return Err(IndexError::Storage(format!(
                        "no free id for segment {position} of video {video_id} after {MAX_ATTEMPTS} tries"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Count one more write of the index (in the writing transaction).
fn bump_generation(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('generation', '1')
         ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        [],
    )?;
    Ok(())
}

/// Note in the change log that a video's vectors changed (or went) in every space.
fn log_change(conn: &Connection, video_id: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO vector_log (space, video_id) SELECT name, ?1 FROM spaces",
        [video_id],
    )?;
    Ok(())
}

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<VideoRecord> {
    Ok(VideoRecord {
        id: r.get(0)?,
        meta: VideoMeta {
            path: r.get(1)?,
            size: r.get::<_, i64>(2)? as u64,
            mtime_ns: r.get(3)?,
            hash: r.get(4)?,
            duration: r.get(5)?,
            fps: r.get(6)?,
            format: r.get(7)?,
            codec: r.get(8)?,
            width: r.get(9)?,
            height: r.get(10)?,
            frames: r.get(11)?,
        },
    })
}

const VIDEO_COLUMNS: &str = "id, path, size, mtime_ns, hash, duration, fps, format, codec, width, height, frames";

impl Db<'_> {
    fn ensure_space(&self, space: &Space) -> Result<()> {
        match self.space(&space.name) {
            Ok(existing) if existing.model != space.model => Err(IndexError::ForeignModel {
                space: space.name.clone(),
                holds: existing.model,
                got: space.model.clone(),
            }),
            Ok(existing) if existing.dim == space.dim => Ok(()),
            Ok(existing) => Err(IndexError::Dimension {
                space: space.name.clone(),
                expected: existing.dim,
                got: space.dim,
            }),
            Err(IndexError::UnknownSpace(_)) => {
                // Another process may declare it at the same moment (two `vtx index` runs on a new
                // index): the first declaration stands, and this one is checked against it.
                let inserted = self
                    .conn
                    .execute(
                        "INSERT OR IGNORE INTO spaces (name, dim, model) VALUES (?1, ?2, ?3)",
                        params![space.name, space.dim as i64, space.model],
                    )
                    .map_err(storage)?;
                if inserted == 0 {
                    return self.ensure_space(space);
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn spaces(&self) -> Result<Vec<Space>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, dim, model FROM spaces ORDER BY name")
            .map_err(storage)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Space {
                    name: r.get(0)?,
                    dim: r.get::<_, i64>(1)? as usize,
                    model: r.get(2)?,
                })
            })
            .map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }

    fn video_by_path(&self, path: &str) -> Result<Option<VideoRecord>> {
        self.video_where("path = ?1", path)
    }

    fn video_by_id(&self, id: i64) -> Result<Option<VideoRecord>> {
        self.video_where("id = ?1", id)
    }

    fn videos(&self) -> Result<Vec<VideoRecord>> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {VIDEO_COLUMNS} FROM videos ORDER BY path"))
            .map_err(storage)?;
        let rows = stmt.query_map([], record).map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }

    /// Take the write lock and replace the video at `path` by an empty placeholder; its id.
    fn begin_video(&self, path: &str, content: &str) -> Result<i64> {
        // IMMEDIATE takes the write lock now, so a second writer waits here rather than failing
        // half-way through a video.
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(storage)?;
        let placeholder = (|| {
            let replaced: Option<i64> = self
                .conn
                .query_row("SELECT id FROM videos WHERE path = ?1", [path], |r| r.get(0))
                .optional()?;
            if let Some(old) = replaced {
                log_change(self.conn, old)?;
            }
            self.conn.execute("DELETE FROM videos WHERE path = ?1", [path])?;
            let mut insert = self.conn.prepare_cached(
                "INSERT OR IGNORE INTO videos (id, path, size, mtime_ns, hash, duration, format, codec, width, height, frames)
                 VALUES (?1, ?2, 0, 0, '', 0, '', '', 0, 0, 0)",
            )?;
            for attempt in 0..MAX_ATTEMPTS {
                let id = ids::video_id(content, attempt);
                if insert.execute(params![id, path])? == 1 {
                    return Ok(Some(id));
                }
            }
            Ok(None)
        })();
        match placeholder {
            Ok(Some(id)) => Ok(id),
            failed => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(failed.map_err(storage).err().unwrap_or(IndexError::Storage(format!(
                    "no free video id for {path} after {MAX_ATTEMPTS} tries"
                ))))
            }
        }
    }

    /// Take the write lock and clear a stored video's vectors in `spaces`; the next free chunk.
    fn begin_extend(&self, video_id: i64, spaces: &[String]) -> Result<i64> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(storage)?;
        let cleared = (|| {
            let next_chunk: i64 = self.conn.query_row(
                "SELECT COALESCE(MAX(chunk) + 1, 0) FROM frame_vectors WHERE video_id = ?1",
                [video_id],
                |r| r.get(0),
            )?;
            for space in spaces {
                for table in ["frame_vectors", "segment_vectors", "video_vectors"] {
                    self.conn.execute(
                        &format!("DELETE FROM {table} WHERE video_id = ?1 AND space = ?2"),
                        params![video_id, space],
                    )?;
                }
            }
            Ok(next_chunk)
        })();
        cleared.map_err(|e| {
            let _ = self.conn.execute_batch("ROLLBACK");
            storage(e)
        })
    }

    fn add_frames(&self, id: i64, next_chunk: &mut i64, space: &str, frames: &[TimedVector]) -> Result<()> {
        let dim = self.space(space)?.dim;
        if let Some(bad) = frames.iter().find(|f| f.vector.len() != dim) {
            return Err(IndexError::Dimension {
                space: space.to_string(),
                expected: dim,
                got: bad.vector.len(),
            });
        }
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO frame_vectors (video_id, space, chunk, times, vecs) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(storage)?;
        for chunk in frames.chunks(CHUNK_FRAMES) {
            let times: Vec<u8> = chunk.iter().flat_map(|f| f.t.to_le_bytes()).collect();
            let vecs: Vec<u8> = chunk.iter().flat_map(|f| encode(&f.vector)).collect();
            stmt.execute(params![id, space, *next_chunk, times, vecs])
                .map_err(storage)?;
            *next_chunk += 1;
        }
        Ok(())
    }

    fn put_vectors(&self, id: i64, vectors: &SpaceVectors) -> Result<()> {
        let space = vectors.space.as_str();
        let dim = self.space(space)?.dim;
        let segments = self.segments(id)?;
        if vectors.segments.len() != segments.len() {
            return Err(IndexError::Usage(
                "one vector (or none) is needed for each of the video's segments",
            ));
        }
        let given = vectors.segments.iter().flatten().chain(&vectors.video);
        if let Some(bad) = given.into_iter().find(|v| v.len() != dim) {
            return Err(IndexError::Dimension {
                space: space.to_string(),
                expected: dim,
                got: bad.len(),
            });
        }
        for table in ["segment_vectors", "video_vectors"] {
            self.conn
                .execute(
                    &format!("DELETE FROM {table} WHERE video_id = ?1 AND space = ?2"),
                    params![id, space],
                )
                .map_err(storage)?;
        }
        let kept: Vec<(i64, &Vec<f32>)> = segments
            .iter()
            .zip(&vectors.segments)
            .filter_map(|(segment, v)| v.as_ref().map(|v| (segment.id, v)))
            .collect();
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO segment_vectors (video_id, space, chunk, ids, vecs) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(storage)?;
        for (chunk, rows) in kept.chunks(CHUNK_FRAMES).enumerate() {
            let ids: Vec<u8> = rows.iter().flat_map(|(id, _)| id.to_le_bytes()).collect();
            let vecs: Vec<u8> = rows.iter().flat_map(|(_, v)| encode(v)).collect();
            stmt.execute(params![id, space, chunk as i64, ids, vecs])
                .map_err(storage)?;
        }
        if let Some(video) = &vectors.video {
            self.conn
                .execute(
                    "INSERT INTO video_vectors (video_id, space, vec) VALUES (?1, ?2, ?3)",
                    params![id, space, encode(video)],
                )
                .map_err(storage)?;
        }
        Ok(())
    }

    fn commit_video(&self, id: i64, m: &VideoMeta) -> Result<()> {
        log_change(self.conn, id).map_err(storage)?;
        bump_generation(self.conn).map_err(storage)?;
        self.conn
            .execute(
                "UPDATE videos SET path = ?2, size = ?3, mtime_ns = ?4, hash = ?5, duration = ?6, fps = ?7,
                 format = ?8, codec = ?9, width = ?10, height = ?11, frames = ?12 WHERE id = ?1",
                params![
                    id,
                    m.path,
                    m.size as i64,
                    m.mtime_ns,
                    m.hash,
                    m.duration,
                    m.fps,
                    m.format,
                    m.codec,
                    m.width,
                    m.height,
                    m.frames
                ],
            )
            .map_err(storage)?;
        self.conn.execute_batch("COMMIT").map_err(storage)
    }

    fn set_shots(&self, id: i64, shots: &[ShotSpan]) -> Result<()> {
        self.conn
            .execute("DELETE FROM shots WHERE video_id = ?1", [id])
            .map_err(storage)?;
        let mut stmt = self
            .conn
            .prepare_cached("INSERT OR REPLACE INTO shots (video_id, start, end, boundary) VALUES (?1, ?2, ?3, ?4)")
            .map_err(storage)?;
        for shot in shots {
            stmt.execute(params![id, shot.start, shot.end, shot.boundary])
                .map_err(storage)?;
        }
        Ok(())
    }

    fn shots(&self, video_id: i64) -> Result<Vec<ShotSpan>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT start, end, boundary FROM shots WHERE video_id = ?1 ORDER BY start")
            .map_err(storage)?;
        let rows = stmt
            .query_map([video_id], |r| {
                Ok(ShotSpan {
                    start: r.get(0)?,
                    end: r.get(1)?,
                    boundary: r.get(2)?,
                })
            })
            .map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }

    fn set_segments(&self, id: i64, segments: &[SegmentSpan]) -> Result<()> {
        // Objects and text belong to the content they were found in: new segments, new reading.
        for table in [
            "segments",
            "segment_vectors",
            "video_vectors",
            "tracks",
            "video_objects",
            "text_lines",
            "video_text",
        ] {
            self.conn
                .execute(&format!("DELETE FROM {table} WHERE video_id = ?1"), [id])
                .map_err(storage)?;
        }
        self.insert_segments(id, segments)
    }

    fn set_tags(&self, video_id: i64, tags: &[Tag]) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(storage)?;
        tx.execute("DELETE FROM tags WHERE video_id = ?1", [video_id])
            .map_err(storage)?;
        {
            let mut stmt = tx
                .prepare_cached("INSERT INTO tags (segment_id, video_id, label, score) VALUES (?1, ?2, ?3, ?4)")
                .map_err(storage)?;
            for tag in tags {
                stmt.execute(params![tag.segment, video_id, tag.label, tag.score])
                    .map_err(storage)?;
            }
        }
        bump_generation(&tx).map_err(storage)?;
        tx.commit().map_err(storage)
    }

    fn set_objects(&self, video_id: i64, objects: &VideoObjects) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(storage)?;
        for table in ["video_objects", "tracks", "segment_objects"] {
            tx.execute(&format!("DELETE FROM {table} WHERE video_id = ?1"), [video_id])
                .map_err(storage)?;
        }
        tx.execute(
            "INSERT INTO video_objects (video_id, detector, fps, frames) VALUES (?1, ?2, ?3, ?4)",
            params![video_id, objects.detector, objects.fps, objects.frames],
        )
        .map_err(storage)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO tracks (video_id, id, label, start, end, score, vx, vy, heading, actions, boxes)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .map_err(storage)?;
            for t in &objects.tracks {
                stmt.execute(params![
                    video_id,
                    t.id,
                    t.label,
                    t.start,
                    t.end,
                    t.score,
                    t.velocity.0,
                    t.velocity.1,
                    t.heading,
                    encode_actions(&t.actions),
                    encode_track_points(&t.boxes)
                ])
                .map_err(storage)?;
            }
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO segment_objects (segment_id, video_id, kind, label, count, score, share)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(storage)?;
            let labelled = objects.segments.iter().map(|s| ("object", s));
            for (kind, s) in labelled.chain(objects.actions.iter().map(|s| ("action", s))) {
                stmt.execute(params![s.segment, video_id, kind, s.label, s.count, s.score, s.share])
                    .map_err(storage)?;
            }
        }
        bump_generation(&tx).map_err(storage)?;
        tx.commit().map_err(storage)
    }

    fn objects(&self, video_id: i64) -> Result<Option<VideoObjects>> {
        let run: Option<(String, f64, u32)> = self
            .conn
            .query_row(
                "SELECT detector, fps, frames FROM video_objects WHERE video_id = ?1",
                [video_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(storage)?;
        let Some((detector, fps, frames)) = run else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, label, start, end, score, vx, vy, heading, actions, boxes FROM tracks WHERE video_id = ?1 ORDER BY id",
            )
            .map_err(storage)?;
        let tracks = stmt
            .query_map([video_id], |r| {
                Ok(ObjectTrack {
                    id: r.get(0)?,
                    label: r.get(1)?,
                    start: r.get(2)?,
                    end: r.get(3)?,
                    score: r.get(4)?,
                    velocity: (r.get(5)?, r.get(6)?),
                    heading: r.get(7)?,
                    actions: decode_actions(&r.get::<_, String>(8)?),
                    boxes: decode_track_points(&r.get::<_, Vec<u8>>(9)?),
                })
            })
            .map_err(storage)?
            .collect::<rusqlite::Result<_>>()
            .map_err(storage)?;
        Ok(Some(VideoObjects {
            detector,
            fps,
            frames,
            tracks,
            segments: self.segment_labels(video_id, "object")?,
            actions: self.segment_labels(video_id, "action")?,
        }))
    }

    /// A video's per-segment labels of one kind (objects or actions), in time order.
    fn segment_labels(&self, video_id: i64, kind: &str) -> Result<Vec<SegmentObjects>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT o.segment_id, o.label, o.count, o.score, o.share FROM segment_objects o
                 JOIN segments s ON s.id = o.segment_id WHERE o.video_id = ?1 AND o.kind = ?2
                 ORDER BY s.start, o.label",
            )
            .map_err(storage)?;
        let rows = stmt
            .query_map(params![video_id, kind], |r| {
                Ok(SegmentObjects {
                    segment: r.get(0)?,
                    label: r.get(1)?,
                    count: r.get(2)?,
                    score: r.get(3)?,
                    share: r.get(4)?,
                })
            })
            .map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }

    /// The segments holding `object`, with their videos and mean detection scores.
    fn segments_with(&self, object: &ObjectFilter) -> Result<Vec<(i64, i64, f32)>> {
        self.segments_labelled("object", &object.label, object.min_count)
    }

    /// The segments where someone does `action`, with their videos.
    fn segments_doing(&self, action: &str) -> Result<Vec<(i64, i64, f32)>> {
        self.segments_labelled("action", action, 1)
    }

    fn segments_labelled(&self, kind: &str, label: &str, min_count: u32) -> Result<Vec<(i64, i64, f32)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT segment_id, video_id, score FROM segment_objects WHERE kind = ?1 AND label = ?2 AND count >= ?3",
            )
            .map_err(storage)?;
        let rows = stmt
            .query_map(params![kind, label, min_count], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }

    fn tags(&self, video_id: i64) -> Result<Vec<Tag>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT t.segment_id, t.label, t.score FROM tags t JOIN segments s ON s.id = t.segment_id
                 WHERE t.video_id = ?1 ORDER BY s.start, t.score DESC",
            )
            .map_err(storage)?;
        let rows = stmt
            .query_map([video_id], |r| {
                Ok(Tag {
                    segment: r.get(0)?,
                    label: r.get(1)?,
                    score: r.get(2)?,
                })
            })
            .map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }

    fn segments(&self, video_id: i64) -> Result<Vec<Segment>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, start, end, thumbnail IS NOT NULL FROM segments WHERE video_id = ?1 ORDER BY start, id",
            )
            .map_err(storage)?;
        let rows = stmt
            .query_map([video_id], |r| {
                Ok(Segment {
                    id: r.get(0)?,
                    video_id,
                    start: r.get(1)?,
                    end: r.get(2)?,
                    has_thumbnail: r.get(3)?,
                })
            })
            .map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }

    fn thumbnail(&self, segment_id: i64) -> Result<Option<Vec<u8>>> {
        self.conn
            .query_row("SELECT thumbnail FROM segments WHERE id = ?1", [segment_id], |r| {
                r.get(0)
            })
            .optional()
            .map(Option::flatten)
            .map_err(storage)
    }

    fn touch_video(&self, id: i64, mtime_ns: i64) -> Result<()> {
        self.conn
            .execute("UPDATE videos SET mtime_ns = ?1 WHERE id = ?2", params![mtime_ns, id])
            .map_err(storage)?;
        Ok(())
    }

    fn video_vector(&self, id: i64, space: &str) -> Result<Option<Vec<f32>>> {
        let bytes: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT vec FROM video_vectors WHERE video_id = ?1 AND space = ?2",
                params![id, space],
                |r| r.get(0),
            )
            .optional()
            .map_err(storage)?;
        Ok(bytes.map(|b| {
            let mut v = Vec::new();
            decode_into(&b, &mut v);
            v
        }))
    }

    fn video_spaces(&self, id: i64) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT space FROM video_vectors WHERE video_id = ?1 ORDER BY space")
            .map_err(storage)?;
        let rows = stmt.query_map([id], |r| r.get(0)).map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }

    fn stored_vectors(&self, id: i64, space: &str) -> Result<SpaceVectors> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT ids, vecs FROM segment_vectors WHERE video_id = ?1 AND space = ?2 ORDER BY chunk")
            .map_err(storage)?;
        let mut rows = stmt.query(params![id, space]).map_err(storage)?;
        let mut by_segment: HashMap<i64, Vec<f32>> = HashMap::new();
        while let Some(row) = rows.next().map_err(storage)? {
            let ids: Vec<i64> = blob(row, 0)?
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("chunks of 8")))
                .collect();
            let mut vecs = Vec::new();
            decode_into(blob(row, 1)?, &mut vecs);
            let dim = if ids.is_empty() { 0 } else { vecs.len() / ids.len() };
            for (i, segment) in ids.into_iter().enumerate() {
                by_segment.insert(segment, vecs[i * dim..(i + 1) * dim].to_vec());
            }
        }
        Ok(SpaceVectors {
            space: space.to_string(),
            segments: self.segments(id)?.iter().map(|s| by_segment.remove(&s.id)).collect(),
            video: self.video_vector(id, space)?,
        })
    }

    fn video_vectors(&self, space: &str) -> Result<Vec<(i64, Vec<f32>)>> {
        self.space(space)?;
        let mut stmt = self
            .conn
            .prepare("SELECT video_id, vec FROM video_vectors WHERE space = ?1 ORDER BY video_id")
            .map_err(storage)?;
        let mut rows = stmt.query([space]).map_err(storage)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(storage)? {
            let mut v = Vec::new();
            decode_into(blob(row, 1)?, &mut v);
            out.push((row.get(0).map_err(storage)?, v));
        }
        Ok(out)
    }

    fn scroll(&self, space: &str, from: Option<&Cursor>, limit: usize) -> Result<Page> {
        let dim = self.space(space)?.dim;
        // (video, chunk, position in the chunk) of the next point.
        let (mut video, mut chunk, mut skip) = match from.map(|c| c.0.as_slice()) {
            None => (i64::MIN, i64::MIN, 0usize),
            Some(&[video, chunk, skip]) => (video, chunk, skip.max(0) as usize),
            Some(_) => return Err(IndexError::Usage("a scroll cursor from another store")),
        };
        let mut points = Vec::new();
        let mut next = None;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT video_id, chunk, ids, vecs FROM segment_vectors WHERE space = ?1 AND (video_id, chunk) >= (?2, ?3)
                 ORDER BY video_id, chunk",
            )
            .map_err(storage)?;
        let mut rows = stmt.query(params![space, video, chunk]).map_err(storage)?;
        let mut spans: HashMap<i64, Segment> = HashMap::new();
        let mut spans_of = -1;
        'rows: while let Some(row) = rows.next().map_err(storage)? {
            (video, chunk) = (row.get(0).map_err(storage)?, row.get(1).map_err(storage)?);
            if video != spans_of {
                spans = self.segments(video)?.into_iter().map(|s| (s.id, s)).collect();
                spans_of = video;
            }
            let (ids, vecs) = (blob(row, 2)?, blob(row, 3)?);
            for (position, (id, bytes)) in ids
                .chunks_exact(8)
                .zip(vecs.chunks_exact(dim * 4))
                .enumerate()
                .skip(skip)
            {
                if points.len() == limit.max(1) {
                    next = Some(Cursor(vec![video, chunk, position as i64]));
                    break 'rows;
                }
                let id = i64::from_le_bytes(id.try_into().expect("8-byte chunk"));
                if let Some(segment) = spans.get(&id) {
                    let mut v = Vec::with_capacity(dim);
                    decode_into(bytes, &mut v);
                    points.push((segment.clone(), v));
                }
            }
            skip = 0;
        }
        Ok(Page { points, next })
    }

    fn frame_times(&self, id: i64, space: &str) -> Result<Vec<f64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT times FROM frame_vectors WHERE video_id = ?1 AND space = ?2 ORDER BY chunk")
            .map_err(storage)?;
        let mut rows = stmt.query(params![id, space]).map_err(storage)?;
        let mut times = Vec::new();
        while let Some(row) = rows.next().map_err(storage)? {
            times.extend(
                blob(row, 0)?
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().expect("8-byte chunk"))),
            );
        }
        Ok(times)
    }

    fn search(&self, request: &SearchRequest<'_>) -> Result<Vec<ScoredPoint>> {
        self.check_dim(request.space, request.query.len())?;
        let ranked = self.ranked(request)?;
        Ok(ranked
            .into_iter()
            .map(|(score, video, segment)| ScoredPoint { segment, video, score })
            .collect())
    }

    fn count(&self, space: &str) -> Result<u64> {
        self.space(space)?;
        self.points_in(space)
    }

    fn remove_videos(&self, ids: &[i64]) -> Result<()> {
        let tx = rusqlite::Transaction::new_unchecked(self.conn, rusqlite::TransactionBehavior::Immediate)
            .map_err(storage)?;
        for &id in ids {
            log_change(&tx, id).map_err(storage)?;
            tx.execute("DELETE FROM videos WHERE id = ?1", [id]).map_err(storage)?;
        }
        bump_generation(&tx).map_err(storage)?;
        tx.commit().map_err(storage)
    }

    fn optimize(&self, started: &mut dyn FnMut(&str, u64)) -> Result<Vec<Optimized>> {
        self.spaces()?
            .iter()
            .map(|space| self.optimize_space(space, started))
            .collect()
    }

    fn search_videos(&self, space: &str, query: &[f32], top: usize) -> Result<Vec<(i64, f32)>> {
        self.check_dim(space, query.len())?;
        let mut stmt = self
            .conn
            .prepare("SELECT video_id, vec FROM video_vectors WHERE space = ?1")
            .map_err(storage)?;
        let mut rows = stmt.query([space]).map_err(storage)?;
        let mut best = TopK::new(top);
        let mut v = Vec::with_capacity(query.len());
        while let Some(row) = rows.next().map_err(storage)? {
            let video_id: i64 = row.get(0).map_err(storage)?;
            decode_into(blob(row, 1)?, &mut v);
            best.push(dot(query, &v), video_id);
        }
        Ok(best.finish().into_iter().map(|(score, video)| (video, score)).collect())
    }

    fn generation(&self) -> Result<u64> {
        let value: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'generation'", [], |r| r.get(0))
            .optional()
            .map_err(storage)?;
        Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    fn stats(&self) -> Result<StoreStats> {
        let (videos, total_duration): (i64, f64) = self
            .conn
            .query_row("SELECT COUNT(*), COALESCE(SUM(duration), 0) FROM videos", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(storage)?;
        let frames: i64 = self
            .conn
            .query_row("SELECT COALESCE(SUM(frames), 0) FROM videos", [], |r| r.get(0))
            .map_err(storage)?;
        let segments: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM segments", [], |r| r.get(0))
            .map_err(storage)?;
        let bytes_on_disk = std::fs::read_dir(self.dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        Ok(StoreStats {
            videos: videos as u64,
            frames: frames as u64,
            segments: segments as u64,
            total_duration,
            bytes_on_disk,
            text: self.text_stats()?,
            cluster: None,
        })
    }
}

impl Catalog for SqliteStore {
    fn video_by_id(&self, id: i64) -> Result<Option<VideoRecord>> {
        self.lease()?.db().video_by_id(id)
    }

    fn video_by_path(&self, path: &str) -> Result<Option<VideoRecord>> {
        self.lease()?.db().video_by_path(path)
    }

    fn videos(&self) -> Result<Vec<VideoRecord>> {
        self.lease()?.db().videos()
    }

    fn shots(&self, video_id: i64) -> Result<Vec<ShotSpan>> {
        self.lease()?.db().shots(video_id)
    }

    fn segments(&self, video_id: i64) -> Result<Vec<Segment>> {
        self.lease()?.db().segments(video_id)
    }

    fn thumbnail(&self, segment_id: i64) -> Result<Option<Vec<u8>>> {
        self.lease()?.db().thumbnail(segment_id)
    }

    fn touch_video(&self, id: i64, mtime_ns: i64) -> Result<()> {
        self.lease()?.db().touch_video(id, mtime_ns)
    }

    fn frame_times(&self, id: i64, space: &str) -> Result<Vec<f64>> {
        self.lease()?.db().frame_times(id, space)
    }

    fn set_tags(&self, video_id: i64, tags: &[Tag]) -> Result<()> {
        self.lease()?.db().set_tags(video_id, tags)
    }

    fn tags(&self, video_id: i64) -> Result<Vec<Tag>> {
        self.lease()?.db().tags(video_id)
    }

    fn set_objects(&self, video_id: i64, objects: &VideoObjects) -> Result<()> {
        self.lease()?.db().set_objects(video_id, objects)
    }

    fn objects(&self, video_id: i64) -> Result<Option<VideoObjects>> {
        self.lease()?.db().objects(video_id)
    }

    fn object_hits(&self, filter: &Filter, limit: usize) -> Result<Vec<ScoredPoint>> {
        self.lease()?.db().object_hits(filter, limit)
    }

    fn set_text(&self, video_id: i64, text: &VideoText) -> Result<()> {
        self.lease()?.db().set_text(video_id, text)
    }

    fn text(&self, video_id: i64, source: TextSource) -> Result<Option<VideoText>> {
        self.lease()?.db().text(video_id, source)
    }

    fn text_matches(&self, keywords: &Keywords, filter: &Filter, limit: usize) -> Result<Vec<TextMatch>> {
        self.lease()?.db().text_matches(keywords, filter, limit)
    }

    fn stats(&self) -> Result<StoreStats> {
        self.lease()?.db().stats()
    }

    fn resolve(&self, scored: &[ScoredPoint]) -> Result<Vec<Hit>> {
        self.lease()?.db().resolve(scored)
    }

    fn generation(&self) -> Result<u64> {
        self.lease()?.db().generation()
    }
}

impl VectorIndex for SqliteStore {
    fn ensure_space(&self, space: &Space) -> Result<()> {
        self.lease()?.db().ensure_space(space)
    }

    fn spaces(&self) -> Result<Vec<Space>> {
        self.lease()?.db().spaces()
    }

    fn video_vector(&self, id: i64, space: &str) -> Result<Option<Vec<f32>>> {
        self.lease()?.db().video_vector(id, space)
    }

    fn video_spaces(&self, id: i64) -> Result<Vec<String>> {
        self.lease()?.db().video_spaces(id)
    }

    fn moments(&self, id: i64, space: &str) -> Result<Vec<TimedVector>> {
        self.lease()?.db().moments(id, space)
    }

    fn stored_vectors(&self, id: i64, space: &str) -> Result<SpaceVectors> {
        self.lease()?.db().stored_vectors(id, space)
    }

    fn video_vectors(&self, space: &str) -> Result<Vec<(i64, Vec<f32>)>> {
        self.lease()?.db().video_vectors(space)
    }

    fn scroll(&self, space: &str, from: Option<&Cursor>, limit: usize) -> Result<Page> {
        self.lease()?.db().scroll(space, from, limit)
    }

    fn search(&self, request: &SearchRequest<'_>) -> Result<Vec<ScoredPoint>> {
        self.lease()?.db().search(request)
    }

    fn count(&self, space: &str) -> Result<u64> {
        self.lease()?.db().count(space)
    }

    fn search_videos(&self, space: &str, query: &[f32], top: usize) -> Result<Vec<(i64, f32)>> {
        self.lease()?.db().search_videos(space, query, top)
    }

    fn optimize(&self, started: &mut dyn FnMut(&str, u64)) -> Result<Vec<Optimized>> {
        self.lease()?.db().optimize(started)
    }
}

impl VectorStore for SqliteStore {
    fn write_video(&self, path: &str, content: &str) -> Result<Box<dyn VideoWriter + '_>> {
        let lease = self.lease()?;
        let id = lease.db().begin_video(path, content)?;
        Ok(Box::new(SqliteWriter {
            lease,
            id,
            next_chunk: 0,
            open: true,
        }))
    }

    fn extend_video(&self, video_id: i64, spaces: &[String]) -> Result<Box<dyn VideoWriter + '_>> {
        let lease = self.lease()?;
        let next_chunk = lease.db().begin_extend(video_id, spaces)?;
        Ok(Box::new(SqliteWriter {
            lease,
            id: video_id,
            next_chunk,
            open: true,
        }))
    }

    fn remove_videos(&self, ids: &[i64]) -> Result<()> {
        self.lease()?.db().remove_videos(ids)
    }
}

/// A video being written: one SQLite transaction on a connection of its own, rolled back unless
/// committed.
struct SqliteWriter<'s> {
    lease: Lease<'s>,
    id: i64,
    next_chunk: i64,
    /// The transaction is still open (neither committed nor failed to commit).
    open: bool,
}

impl VideoWriter for SqliteWriter<'_> {
    fn add_frames(&mut self, space: &str, frames: &[TimedVector]) -> Result<()> {
        self.lease.db().add_frames(self.id, &mut self.next_chunk, space, frames)
    }

    fn moments(&self, space: &str) -> Result<Vec<TimedVector>> {
        self.lease.db().moments(self.id, space)
    }

    fn set_shots(&mut self, shots: &[ShotSpan]) -> Result<()> {
        self.lease.db().set_shots(self.id, shots)
    }

    fn set_segments(&mut self, segments: &[SegmentSpan]) -> Result<()> {
        self.lease.db().set_segments(self.id, segments)
    }

    fn segments(&self) -> Result<Vec<Segment>> {
        self.lease.db().segments(self.id)
    }

    fn put_vectors(&mut self, vectors: &SpaceVectors) -> Result<()> {
        self.lease.db().put_vectors(self.id, vectors)
    }

    fn set_text(&mut self, text: &VideoText) -> Result<()> {
        self.lease.db().set_text_in_write(self.id, text)
    }

    fn commit(mut self: Box<Self>, meta: &VideoMeta) -> Result<i64> {
        self.lease.db().commit_video(self.id, meta)?;
        self.open = false;
        Ok(self.id)
    }
}

impl Drop for SqliteWriter<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.lease.db().conn.execute_batch("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::{Filter, Pooling, VideoEntry};

    fn search_in(s: &SqliteStore, space: &str, query: &[f32], limit: usize, per_video: bool) -> Result<Vec<Hit>> {
        s.hits(&SearchRequest {
            group_by_video: per_video,
            ..SearchRequest::new(space, query, limit)
        })
    }

    fn search(s: &SqliteStore, query: &[f32], limit: usize, per_video: bool) -> Vec<Hit> {
        search_in(s, "s", query, limit, per_video).unwrap()
    }

    fn best_segment(s: &SqliteStore, video: i64, query: &[f32]) -> Option<Hit> {
        s.hits(&SearchRequest {
            filter: Filter::video(video),
            ..SearchRequest::new("s", query, 1)
        })
        .unwrap()
        .pop()
    }

    fn meta(path: &str) -> VideoMeta {
        VideoMeta {
            path: path.into(),
            size: 10,
            mtime_ns: 1,
            hash: "h".into(),
            duration: 3.0,
            fps: Some(25.0),
            format: "avi".into(),
            codec: "mpeg4".into(),
            width: 64,
            height: 48,
            frames: 2,
        }
    }

    fn entry(path: &str, frames: &[(f64, [f32; 2])]) -> VideoEntry {
        segmented(path, frames, &[])
    }

    /// A video whose segments start at `starts` (each ends where the next begins, the last at 10 s).
    fn segmented(path: &str, frames: &[(f64, [f32; 2])], starts: &[f64]) -> VideoEntry {
        pooled(path, frames, starts, Pooling::Mean)
    }

    fn pooled(path: &str, frames: &[(f64, [f32; 2])], starts: &[f64], pooling: Pooling) -> VideoEntry {
        let ends = starts.iter().skip(1).copied().chain([10.0]);
        VideoEntry::pooled(
            VideoMeta {
                frames: frames.len() as u32,
                ..meta(path)
            },
            vec![(
                "s".into(),
                frames
                    .iter()
                    .map(|(t, v)| TimedVector {
                        t: *t,
                        vector: v.to_vec(),
                    })
                    .collect(),
            )],
            starts
                .iter()
                .zip(ends)
                .map(|(&start, end)| SegmentSpan {
                    start,
                    end,
                    thumbnail: Some(vec![0xFF, 0xD8, start as u8]),
                })
                .collect(),
            pooling,
        )
    }

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path()).unwrap();
        s.ensure_space(&Space {
            name: "s".into(),
            dim: 2,
            model: "m".into(),
        })
        .unwrap();
        (dir, s)
    }

    fn span(hit: &Hit) -> (&str, f64, f64) {
        (hit.path.as_str(), hit.start, hit.end)
    }

    #[test]
    fn search_returns_segments_ranked_or_the_best_per_video() {
        let (_d, s) = store();
        s.put_video(&segmented(
            "/a.mp4",
            &[(0.0, [1.0, 0.0]), (1.0, [0.6, 0.8])],
            &[0.0, 1.0],
        ))
        .unwrap();
        s.put_video(&segmented(
            "/b.mp4",
            &[(0.0, [0.0, 1.0]), (2.0, [0.8, 0.6])],
            &[0.0, 2.0],
        ))
        .unwrap();
        let query = [0.0, 1.0];
        let hits = search(&s, &query, 10, false);
        let spans: Vec<_> = hits.iter().map(span).collect();
        assert_eq!(
            spans,
            [
                ("/b.mp4", 0.0, 2.0),
                ("/a.mp4", 1.0, 10.0),
                ("/b.mp4", 2.0, 10.0),
                ("/a.mp4", 0.0, 1.0)
            ]
        );
        assert!((hits[1].score - 0.8).abs() < 1e-6);
        let grouped = search(&s, &query, 10, true);
        let spans: Vec<_> = grouped.iter().map(span).collect();
        assert_eq!(spans, [("/b.mp4", 0.0, 2.0), ("/a.mp4", 1.0, 10.0)]);
        assert_eq!(search(&s, &query, 1, false).len(), 1);
        let best = best_segment(&s, grouped[1].video_id, &query).unwrap();
        assert_eq!((best.start, best.segment), (1.0, grouped[1].segment));
        assert_eq!(best_segment(&s, 999, &query), None);
        assert_eq!(s.thumbnail(best.segment).unwrap(), Some(vec![0xFF, 0xD8, 1]));
        assert_eq!(s.thumbnail(12345).unwrap(), None);
        // Tags: stored per video, found by a word of their label in any case, and usable as a
        // search filter.
        let b = hits[0].video_id;
        let tag = |segment: i64, label: &str, score: f32| Tag {
            segment,
            label: label.into(),
            score,
        };
        s.set_tags(
            b,
            &[
                tag(hits[0].segment, "tabby, tabby cat", 0.6),
                tag(hits[2].segment, "dog", 0.5),
            ],
        )
        .unwrap();
        assert_eq!(s.tags(b).unwrap().len(), 2);
        let tagged = |word: &str| -> HashSet<i64> {
            s.lease()
                .unwrap()
                .db()
                .segments_tagged(word)
                .unwrap()
                .into_iter()
                .map(|(seg, _)| seg)
                .collect()
        };
        assert_eq!(tagged("CAT"), HashSet::from([hits[0].segment]));
        assert!(tagged("50%").is_empty(), "LIKE wildcards are escaped");
        let filtered = s
            .hits(&SearchRequest {
                filter: Filter {
                    tag: Some("dog".into()),
                    ..Filter::default()
                },
                ..SearchRequest::new("s", &query, 10)
            })
            .unwrap();
        assert_eq!(
            filtered.iter().map(|h| h.segment).collect::<Vec<_>>(),
            [hits[2].segment]
        );
        s.set_tags(b, &[]).unwrap();
        assert!(s.tags(b).unwrap().is_empty(), "replaced per video");
    }

    #[test]
    fn segments_and_videos_pool_their_moments() {
        let (_d, s) = store();
        let max = pooled(
            "/max.mp4",
            &[(0.0, [0.6, -0.8]), (1.0, [-0.8, 0.6]), (7.0, [0.0, 1.0])],
            &[0.0, 5.0, 6.0],
            Pooling::Max,
        );
        let id = s.put_video(&max).unwrap();
        let segments = s.segments(id).unwrap();
        assert_eq!(segments.len(), 3);
        assert!(segments.iter().all(|seg| seg.has_thumbnail && seg.video_id == id));
        let h = std::f32::consts::FRAC_1_SQRT_2;
        // Segment 0 pools two frames by element-wise max; segment 1 has no frame and no vector.
        let hit = best_segment(&s, id, &[h, h]).unwrap();
        assert_eq!((hit.start, hit.end), (0.0, 5.0));
        assert!((hit.score - 1.0).abs() < 1e-6);
        let found: Vec<f64> = search(&s, &[1.0, 0.0], 10, false).iter().map(|hit| hit.start).collect();
        assert_eq!(found, [0.0, 6.0], "the empty 5-6 s segment is not searchable");
        // The video's vector is the mean of its two segment vectors: (h, h) and (0, 1).
        let v = s.video_vector(id, "s").unwrap().unwrap();
        let expected = [
            h / (h * h + (h + 1.0) * (h + 1.0)).sqrt(),
            (h + 1.0) / (h * h + (h + 1.0) * (h + 1.0)).sqrt(),
        ];
        assert!(
            (v[0] - expected[0]).abs() < 1e-6 && (v[1] - expected[1]).abs() < 1e-6,
            "{v:?}"
        );
        // A video stored without segments gets one spanning it whole.
        let whole = s.put_video(&entry("/whole.mp4", &[(0.0, [1.0, 0.0])])).unwrap();
        let segments = s.segments(whole).unwrap();
        assert_eq!(
            segments.iter().map(|seg| (seg.start, seg.end)).collect::<Vec<_>>(),
            [(0.0, 3.0)]
        );
        assert_eq!(s.stats().unwrap().segments, 4);
        // Everything at once, for clustering: two videos, three segment vectors (one segment has none).
        assert_eq!(s.video_vectors("s").unwrap().len(), 2);
        let all = s.scroll("s", None, 100).unwrap().points;
        let spans: Vec<(i64, f64)> = all.iter().map(|(seg, _)| (seg.video_id, seg.start)).collect();
        let mut expected = vec![(id, 0.0), (id, 6.0), (whole, 0.0)];
        expected.sort_by_key(|(video, _)| *video);
        assert_eq!(spans, expected, "by video, then time");
        assert!(matches!(s.scroll("nope", None, 10), Err(IndexError::UnknownSpace(_))));
    }

    #[test]
    fn put_replaces_previous_version_of_same_path() {
        let (_d, s) = store();
        s.put_video(&entry("/a.mp4", &[(0.0, [1.0, 0.0]), (1.0, [0.0, 1.0])]))
            .unwrap();
        s.put_video(&entry("/a.mp4", &[(5.0, [1.0, 0.0])])).unwrap();
        let st = s.stats().unwrap();
        assert_eq!((st.videos, st.frames), (1, 1));
        let hits = search(&s, &[0.0, 1.0], 5, false);
        assert_eq!(hits.len(), 1);
        assert_eq!(s.video_vector(hits[0].video_id, "s").unwrap(), Some(vec![1.0, 0.0]));
    }

    #[test]
    fn wrong_dimension_writes_nothing() {
        let (_d, s) = store();
        let mut bad = entry("/a.mp4", &[(0.0, [1.0, 0.0])]);
        bad.frames[0].1[0].vector.push(0.0);
        assert!(matches!(s.put_video(&bad), Err(IndexError::Dimension { .. })));
        assert_eq!(s.stats().unwrap().videos, 0);
        assert!(matches!(
            search_in(&s, "s", &[1.0], 1, false),
            Err(IndexError::Dimension { .. })
        ));
        assert!(matches!(
            search_in(&s, "nope", &[1.0], 1, false),
            Err(IndexError::UnknownSpace(_))
        ));
        let clash = Space {
            name: "s".into(),
            dim: 3,
            model: "m".into(),
        };
        assert!(matches!(s.ensure_space(&clash), Err(IndexError::Dimension { .. })));
        let foreign = Space {
            name: "s".into(),
            dim: 2,
            model: "another".into(),
        };
        assert!(matches!(s.ensure_space(&foreign), Err(IndexError::ForeignModel { .. })));
    }

    #[test]
    fn long_videos_are_stored_in_chunks_and_searched_whole() {
        let (_d, s) = store();
        let n = CHUNK_FRAMES * 2 + 5;
        let mut frames: Vec<(f64, [f32; 2])> = (0..n).map(|i| (i as f64, [1.0, 0.0])).collect();
        frames[CHUNK_FRAMES + 3].1 = [0.0, 1.0];
        let starts: Vec<f64> = (0..n).map(|i| i as f64).collect();
        s.put_video(&segmented("/long.mp4", &frames, &starts)).unwrap();
        let hit = &search(&s, &[0.0, 1.0], 1, false)[0];
        assert_eq!((hit.start, hit.score), ((CHUNK_FRAMES + 3) as f64, 1.0));
        let best = best_segment(&s, hit.video_id, &[0.0, 1.0]).unwrap();
        assert_eq!(best.start, (CHUNK_FRAMES + 3) as f64);
        let stats = s.stats().unwrap();
        assert_eq!((stats.frames, stats.segments), (n as u64, n as u64));
    }

    #[test]
    fn an_index_of_another_schema_is_refused() {
        let (dir, s) = store();
        s.lease()
            .unwrap()
            .db()
            .conn
            .execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'", [])
            .unwrap();
        drop(s);
        assert!(matches!(
            SqliteStore::open(dir.path()),
            Err(IndexError::Schema(_, 1, SCHEMA_VERSION))
        ));
    }

    #[test]
    fn an_index_of_the_version_before_gains_the_language_of_its_transcripts() {
        let (dir, s) = store();
        let id = s.put_video(&entry("/a.mp4", &[(0.0, [1.0, 0.0])])).unwrap();
        s.lease()
            .unwrap()
            .db()
            .conn
            .execute_batch(
                "ALTER TABLE video_text DROP COLUMN language;
                 ALTER TABLE text_lines DROP COLUMN words;
                 UPDATE meta SET value = '4' WHERE key = 'schema_version';",
            )
            .unwrap();
        drop(s);
        let s = SqliteStore::open(dir.path()).unwrap();
        let heard = VideoText {
            source: TextSource::Speech,
            reader: "whisper".into(),
            fps: 0.0,
            frames: 2,
            language: Some("de".into()),
            lines: vec![crate::TextSpan {
                start: 1.0,
                end: 2.0,
                text: "guten Tag".into(),
                score: 0.5,
                bbox: [0.0; 4],
                words: vec![
                    crate::TimedWord {
                        start: 1.0,
                        end: 1.4,
                        text: "guten".into(),
                    },
                    crate::TimedWord {
                        start: 1.4,
                        end: 2.0,
                        text: "Tag".into(),
                    },
                ],
            }],
        };
        s.set_text(id, &heard).unwrap();
        assert_eq!(s.text(id, TextSource::Speech).unwrap(), Some(heard));
        drop(s);
        assert!(SqliteStore::open(dir.path()).is_ok(), "opened again at the new version");
    }

    fn moment(t: f64, v: &[f32]) -> TimedVector {
        TimedVector { t, vector: v.to_vec() }
    }

    #[test]
    fn a_video_written_in_batches_is_invisible_until_committed_and_a_dropped_writer_keeps_the_old_one() {
        let (dir, s) = store();
        let a = s.put_video(&entry("/a.mp4", &[(0.0, [1.0, 0.0])])).unwrap();
        let frames = [moment(1.0, &[0.0, 1.0]), moment(2.0, &[0.6, 0.8])];
        let write = || {
            let mut writer = s.write_video("/a.mp4", "h").unwrap();
            for frame in &frames {
                writer.add_frames("s", std::slice::from_ref(frame)).unwrap();
            }
            writer
        };
        let other = SqliteStore::open(dir.path()).unwrap();
        let writer = write();
        // A search on the same store and one from another process still see the old version.
        assert_eq!(s.stats().unwrap().frames, 1);
        assert_eq!(other.stats().unwrap().frames, 1);
        drop(writer);
        assert_eq!(other.video_vector(a, "s").unwrap(), Some(vec![1.0, 0.0]));
        let mut writer = write();
        assert_eq!(writer.moments("s").unwrap(), frames, "the write's own moments");
        writer
            .set_segments(&[SegmentSpan {
                start: 0.0,
                end: 3.0,
                thumbnail: None,
            }])
            .unwrap();
        let too_many = SpaceVectors {
            space: "s".into(),
            segments: vec![None, None],
            video: None,
        };
        assert!(matches!(writer.put_vectors(&too_many), Err(IndexError::Usage(_))));
        writer
            .put_vectors(&crate::pool_space("s", &frames, &[0.0], Pooling::Mean))
            .unwrap();
        // A second writer waits for the first to finish, then writes.
        std::thread::scope(|scope| {
            let second = scope.spawn(|| s.put_video(&entry("/b.mp4", &[(0.0, [1.0, 0.0])])));
            std::thread::sleep(std::time::Duration::from_millis(200));
            assert_eq!(other.stats().unwrap().videos, 1, "the second writer waits");
            assert_eq!(
                writer.commit(&meta("/a.mp4")).unwrap(),
                a,
                "the same content keeps its id"
            );
            second.join().unwrap().unwrap();
        });
        assert_eq!(other.stats().unwrap().frames, 3);
        let v = other.video_vector(a, "s").unwrap().unwrap();
        assert!(v[1] > v[0], "the new frames' vector: {v:?}");
    }

    #[test]
    fn a_space_added_later_extends_a_video_and_keeps_the_others() {
        let (dir, s) = store();
        let id = s
            .put_video(&entry("/a.mp4", &[(0.0, [1.0, 0.0]), (1.0, [0.0, 1.0])]))
            .unwrap();
        let wide = Space {
            name: "w".into(),
            dim: 3,
            model: "m3".into(),
        };
        s.ensure_space(&wide).unwrap();
        assert_eq!(s.video_spaces(id).unwrap(), ["s"]);
        assert_eq!(s.frame_times(id, "s").unwrap(), [0.0, 1.0]);
        let windows: Vec<TimedVector> = (0..3)
            .map(|i| TimedVector {
                t: f64::from(i) * 0.5,
                vector: vec![0.0, 0.0, 1.0],
            })
            .collect();
        let meta = s.video_by_path("/a.mp4").unwrap().unwrap().meta;
        let extend = || {
            let mut writer = s.extend_video(id, &["w".into()]).unwrap();
            writer.add_frames("w", &windows).unwrap();
            writer
        };
        // An abandoned extension leaves nothing behind.
        drop(extend());
        assert_eq!(s.video_spaces(id).unwrap(), ["s"]);
        let mut writer = extend();
        assert_eq!(
            SqliteStore::open(dir.path()).unwrap().video_spaces(id).unwrap(),
            ["s"],
            "invisible until committed"
        );
        let starts: Vec<f64> = writer.segments().unwrap().iter().map(|seg| seg.start).collect();
        let moments = writer.moments("w").unwrap();
        writer
            .put_vectors(&crate::pool_space("w", &moments, &starts, Pooling::Mean))
            .unwrap();
        writer.commit(&meta).unwrap();
        assert_eq!(s.video_spaces(id).unwrap(), ["s", "w"]);
        assert_eq!(s.frame_times(id, "w").unwrap(), [0.0, 0.5, 1.0]);
        assert_eq!(s.segments(id).unwrap().len(), 1, "the segments stay");
        let kept = s.video_vector(id, "s").unwrap().unwrap();
        assert!(
            (kept[0] - kept[1]).abs() < 1e-6 && kept[0] > 0.7,
            "old space intact: {kept:?}"
        );
        assert_eq!(search_in(&s, "w", &[0.0, 0.0, 1.0], 1, false).unwrap()[0].video_id, id);
        // The frame count is the caller's: extending kept the stored one.
        assert_eq!(s.stats().unwrap().frames, 2);
    }

    #[test]
    fn shots_are_written_with_the_video() {
        let (_d, s) = store();
        let mut writer = s.write_video("/a.mp4", "h").unwrap();
        writer
            .add_frames("s", &[moment(0.5, &[1.0, 0.0]), moment(4.0, &[0.0, 1.0])])
            .unwrap();
        let span = |start: f64, end: f64, boundary: &str| ShotSpan {
            start,
            end,
            boundary: boundary.into(),
        };
        writer
            .set_shots(&[span(0.0, 3.0, "start"), span(3.0, 6.0, "cut")])
            .unwrap();
        let id = writer.commit(&meta("/a.mp4")).unwrap();
        assert_eq!(s.shots(id).unwrap().len(), 2);
        // Re-indexing the path replaces its shots with the video.
        s.put_video(&entry("/a.mp4", &[(0.0, [1.0, 0.0])])).unwrap();
        let id = s.video_by_path("/a.mp4").unwrap().unwrap().id;
        assert!(s.shots(id).unwrap().is_empty());
    }

    fn contract_with(ann: AnnOptions) {
        let dir = tempfile::tempdir().unwrap();
        crate::contract::run(
            &|path| Box::new(SqliteStore::open_with(path, ann.clone()).unwrap()),
            dir.path(),
        );
        let graph = crate::ann::graph_path(&dir.path().join("approximate"), "s");
        assert_eq!(
            graph.exists(),
            ann.min_points == 0,
            "a graph was walked exactly when one was asked for"
        );
    }

    #[test]
    fn passes_the_contract_searching_exactly() {
        contract_with(AnnOptions {
            min_points: u64::MAX,
            ..AnnOptions::default()
        });
    }

    #[test]
    fn passes_the_contract_with_graphs_merged_at_every_optimisation() {
        contract_with(AnnOptions {
            min_points: 0,
            merge_at: 0,
            ..AnnOptions::default()
        });
    }

    #[test]
    fn passes_the_contract_with_graphs_and_changes_scanned_beside_them() {
        contract_with(AnnOptions {
            min_points: 0,
            merge_at: u64::MAX,
            ..AnnOptions::default()
        });
    }

    #[test]
    fn a_damaged_or_missing_graph_is_rebuilt_never_searched() {
        let dir = tempfile::tempdir().unwrap();
        // One insert thread: the same points then always build the same graph, so a rebuilt
        // graph must answer exactly as the damaged one did when it was whole.
        let ann = AnnOptions {
            min_points: 100,
            threads: 1,
            ..AnnOptions::default()
        };
        let s = SqliteStore::open_with(dir.path(), ann.clone()).unwrap();
        s.ensure_space(&Space {
            name: "s".into(),
            dim: 8,
            model: "m".into(),
        })
        .unwrap();
        let mut draw = crate::Synthetic::new(8, 4, 4, 9);
        for i in 0..10 {
            let frames: Vec<TimedVector> = (0..30)
                .map(|t| TimedVector {
                    t: t as f64,
                    vector: draw.draw().0,
                })
                .collect();
            let segments: Vec<SegmentSpan> = (0..30)
                .map(|t| SegmentSpan {
                    start: t as f64,
                    end: t as f64 + 1.0,
                    thumbnail: None,
                })
                .collect();
            let entry = VideoEntry::pooled(
                meta(&format!("/v{i}.mp4")),
                vec![("s".into(), frames)],
                segments,
                Pooling::Mean,
            );
            s.put_video(&entry).unwrap();
        }
        let built = s.optimize(&mut |_, _| {}).unwrap();
        assert_eq!(built[0].action, crate::OptimizeAction::Built);
        assert_eq!(built[0].points, 300);
        let graph = crate::ann::graph_path(dir.path(), "s");
        let query = draw.draw().0;
        let good = search_in(&s, "s", &query, 10, false).unwrap();
        let again = s.optimize(&mut |_, _| {}).unwrap();
        assert_eq!(again[0].action, crate::OptimizeAction::UpToDate);
        // One flipped byte deep in the graph: the checksum catches it, and a fresh store (a new
        // process) rebuilds the file before answering.
        let mut bytes = std::fs::read(&graph).unwrap();
        let at = bytes.len() - 100;
        bytes[at] ^= 0x55;
        std::fs::write(&graph, &bytes).unwrap();
        assert!(crate::ann::Graph::load(&graph, 8, &ann).is_err());
        let reader = SqliteStore::open_with(dir.path(), ann.clone()).unwrap();
        assert_eq!(search_in(&reader, "s", &query, 10, false).unwrap(), good);
        assert!(crate::ann::Graph::load(&graph, 8, &ann).unwrap().is_some(), "rebuilt");
        std::fs::write(&graph, &bytes[..bytes.len() / 2]).unwrap();
        assert!(crate::ann::Graph::load(&graph, 8, &ann).is_err(), "cut short");
        std::fs::remove_file(&graph).unwrap();
        assert_eq!(search_in(&reader, "s", &query, 10, false).unwrap(), good);
        assert!(graph.exists(), "a missing graph is rebuilt too");
        // Below the threshold a space has no graph.
        let ids: Vec<i64> = s.videos().unwrap().iter().skip(1).map(|v| v.id).collect();
        s.remove_videos(&ids).unwrap();
        assert_eq!(
            s.optimize(&mut |_, _| {}).unwrap()[0].action,
            crate::OptimizeAction::Exact
        );
        assert!(!graph.exists());
    }

    #[test]
    fn the_change_log_keeps_only_what_the_graph_in_use_needs() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open_with(
            dir.path(),
            AnnOptions {
                min_points: 0,
                merge_at: u64::MAX,
                ..AnnOptions::default()
            },
        )
        .unwrap();
        s.ensure_space(&Space {
            name: "s".into(),
            dim: 2,
            model: "m".into(),
        })
        .unwrap();
        let logged = || -> i64 {
            rusqlite::Connection::open(dir.path().join("vtx.sqlite"))
                .unwrap()
                .query_row("SELECT COUNT(*) FROM vector_log", [], |r| r.get(0))
                .unwrap()
        };
        let top = |query: [f32; 2]| search(&s, &query, 1, false)[0].path.clone();
        let at = |degrees: f32| [degrees.to_radians().cos(), degrees.to_radians().sin()];
        for n in 0..20 {
            s.put_video(&entry(&format!("/{n}.mp4"), &[(0.0, at(n as f32 * 10.0))]))
                .unwrap();
        }
        assert_eq!(logged(), 20);
        // A graph built from a snapshot needs nothing logged before it.
        assert_eq!(
            s.optimize(&mut |_, _| {}).unwrap()[0].action,
            crate::OptimizeAction::Built
        );
        assert_eq!(logged(), 0);
        // Changes after the graph are kept while that graph is the one searched...
        s.put_video(&entry("/new.mp4", &[(0.0, at(275.0))])).unwrap();
        s.put_video(&entry("/0.mp4", &[(0.0, at(245.0))])).unwrap();
        let since_graph = logged();
        assert!(since_graph >= 2);
        assert_eq!(
            s.optimize(&mut |_, _| {}).unwrap()[0].action,
            crate::OptimizeAction::UpToDate
        );
        assert_eq!(logged(), since_graph);
        assert_eq!(top(at(275.0)), "/new.mp4");
        assert_eq!(top(at(245.0)), "/0.mp4");
        // ...and while it is the graph a reader may have loaded, even after a newer one is built;
        // they are forgotten once the newer graph is the one on disk when optimising starts.
        for n in 1..7 {
            s.put_video(&entry(&format!("/{n}.mp4"), &[(0.0, at(300.0 + n as f32 * 5.0))]))
                .unwrap();
        }
        let before_rebuild = logged();
        assert!(before_rebuild > since_graph);
        assert_eq!(
            s.optimize(&mut |_, _| {}).unwrap()[0].action,
            crate::OptimizeAction::Built
        );
        assert_eq!(logged(), before_rebuild);
        assert_eq!(
            s.optimize(&mut |_, _| {}).unwrap()[0].action,
            crate::OptimizeAction::UpToDate
        );
        assert_eq!(logged(), 0);
        assert_eq!(top(at(275.0)), "/new.mp4");
        assert_eq!(top(at(315.0)), "/3.mp4");
        assert_eq!(s.count("s").unwrap(), 21);
    }

    #[test]
    fn a_graph_that_cannot_be_written_leaves_search_exact_and_working() {
        let dir = tempfile::tempdir().unwrap();
        let ann = AnnOptions {
            min_points: 0,
            ..AnnOptions::default()
        };
        let s = SqliteStore::open_with(dir.path(), ann).unwrap();
        s.ensure_space(&Space {
            name: "s".into(),
            dim: 2,
            model: "m".into(),
        })
        .unwrap();
        s.put_video(&entry("/a.mp4", &[(0.0, [1.0, 0.0])])).unwrap();
        s.put_video(&entry("/b.mp4", &[(0.0, [0.0, 1.0])])).unwrap();
        // Where the graphs go is a file: no graph can be saved (as on a full or read-only disk).
        std::fs::write(dir.path().join("ann"), b"in the way").unwrap();
        assert!(s.optimize(&mut |_, _| {}).is_err(), "optimising says it failed");
        let hits = search(&s, &[0.0, 1.0], 2, false);
        assert_eq!(
            hits.iter().map(|h| h.path.as_str()).collect::<Vec<_>>(),
            ["/b.mp4", "/a.mp4"]
        );
    }

    #[test]
    fn data_survives_reopen() {
        let (dir, s) = store();
        s.put_video(&entry("/a.mp4", &[(0.0, [1.0, 0.0])])).unwrap();
        drop(s);
        let s = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(
            s.video_by_path("/a.mp4").unwrap().unwrap().meta,
            VideoMeta {
                frames: 1,
                ..meta("/a.mp4")
            }
        );
        let id = s.video_by_path("/a.mp4").unwrap().unwrap().id;
        assert_eq!(s.video_vector(id, "s").unwrap(), Some(vec![1.0, 0.0]));
    }
}
