//! The embedded store's text: the lines a reader found in each video, and keyword search over
//! them with SQLite's FTS5 (BM25 ranking, highlighted snippets).

use std::collections::HashSet;

use rusqlite::{params, OptionalExtension};

use super::{storage, Db};
use crate::{
    Filter, IndexError, Keywords, Result, ScoredPoint, TextMatch, TextSource, TextSpan, TextStats, VideoText, HIGHLIGHT,
};

fn encode_box(b: &[f32; 4]) -> Vec<u8> {
    b.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn decode_box(bytes: &[u8]) -> [f32; 4] {
    let mut b = [0f32; 4];
    for (v, chunk) in b.iter_mut().zip(bytes.chunks_exact(4)) {
        *v = f32::from_le_bytes(chunk.try_into().expect("chunks of 4"));
    }
    b
}

/// Replace one source's text of a video, inside whatever transaction `conn` is in.
fn write_text(conn: &rusqlite::Connection, video_id: i64, text: &VideoText) -> Result<()> {
    let source = text.source.to_string();
    for table in ["video_text", "text_lines"] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE video_id = ?1 AND source = ?2"),
            params![video_id, source],
        )
        .map_err(storage)?;
    }
    conn.execute(
        "INSERT INTO video_text (video_id, source, reader, fps, frames, language)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![video_id, source, text.reader, text.fps, text.frames, text.language],
    )
    .map_err(storage)?;
    {
        let mut stmt = conn
            .prepare_cached(
                "INSERT INTO text_lines (video_id, source, start, end, text, score, box, words)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(storage)?;
        for line in &text.lines {
            stmt.execute(params![
                video_id,
                source,
                line.start,
                line.end,
                line.text,
                line.score,
                encode_box(&line.bbox),
                encode_words(&line.words)?
            ])
            .map_err(storage)?;
        }
    }
    Ok(())
}

impl Db<'_> {
    pub(super) fn set_text(&self, video_id: i64, text: &VideoText) -> Result<()> {
        let tx = self.conn.unchecked_transaction().map_err(storage)?;
        write_text(&tx, video_id, text)?;
        super::bump_generation(&tx).map_err(storage)?;
        tx.commit().map_err(storage)
    }

    /// Inside a video's own write, which commits it with the rest.
    pub(super) fn set_text_in_write(&self, video_id: i64, text: &VideoText) -> Result<()> {
        write_text(self.conn, video_id, text)
    }

    pub(super) fn text(&self, video_id: i64, source: TextSource) -> Result<Option<VideoText>> {
        let name = source.to_string();
        let run: Option<(String, f64, u32, Option<String>)> = self
            .conn
            .query_row(
                "SELECT reader, fps, frames, language FROM video_text WHERE video_id = ?1 AND source = ?2",
                params![video_id, name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(storage)?;
        let Some((reader, fps, frames, language)) = run else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT start, end, text, score, box, words FROM text_lines WHERE video_id = ?1 AND source = ?2
                 ORDER BY start, id",
            )
            .map_err(storage)?;
        let lines = stmt
            .query_map(params![video_id, name], |r| span(r, 5))
            .map_err(storage)?
            .collect::<rusqlite::Result<_>>()
            .map_err(storage)?;
        Ok(Some(VideoText {
            source,
            reader,
            fps,
            frames,
            language,
            lines,
        }))
    }

    pub(super) fn text_matches(&self, keywords: &Keywords, filter: &Filter, limit: usize) -> Result<Vec<TextMatch>> {
        let admit = self.admit(filter)?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT l.start, l.end, l.text, l.score, l.box, l.video_id,
                        highlight(text_search, 0, ?2, ?3), -bm25(text_search), l.source, l.words
                 FROM text_search JOIN text_lines l ON l.id = text_search.rowid
                 WHERE text_search MATCH ?1 ORDER BY bm25(text_search), l.start",
            )
            .map_err(storage)?;
        let mut segment_at = self
            .conn
            .prepare_cached("SELECT id FROM segments WHERE video_id = ?1 AND start <= ?2 ORDER BY start DESC LIMIT 1")
            .map_err(storage)?;
        let mut rows = stmt
            .query(params![keywords.to_fts5(), HIGHLIGHT.0, HIGHLIGHT.1])
            .map_err(storage)?;
        let mut found = Vec::new();
        let mut segments = HashSet::new();
        while found.len() < limit {
            let Some(row) = rows.next().map_err(storage)? else {
                break;
            };
            let line = span(row, 9).map_err(storage)?;
            let video: i64 = row.get(5).map_err(storage)?;
            let source: String = row.get(8).map_err(storage)?;
            let source: TextSource = source
                .parse()
                .map_err(|e| IndexError::Storage(format!("text_lines: {e}")))?;
            // A line belongs to the segment on screen when it appeared.
            let segment: Option<i64> = segment_at
                .query_row(params![video, line.start.max(0.0)], |r| r.get(0))
                .optional()
                .map_err(storage)?;
            let Some(segment) = segment else { continue };
            if !admit.segment(video, segment) || !segments.insert(segment) {
                continue;
            }
            found.push(TextMatch {
                point: ScoredPoint {
                    segment,
                    video,
                    score: row.get::<_, f64>(7).map_err(storage)? as f32,
                },
                line,
                source,
                snippet: row.get(6).map_err(storage)?,
            });
        }
        Ok(found)
    }
}

impl Db<'_> {
    pub(super) fn text_stats(&self) -> Result<Vec<TextStats>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT v.source, COUNT(*), COALESCE(SUM(n.lines), 0),
                        COALESCE(SUM(n.lines IS NULL), 0), COALESCE(SUM(n.lines IS NULL AND v.frames = 0), 0)
                 FROM video_text v LEFT JOIN
                      (SELECT video_id, source, COUNT(*) AS lines FROM text_lines GROUP BY video_id, source) n
                      ON n.video_id = v.video_id AND n.source = v.source
                 GROUP BY v.source ORDER BY v.source DESC",
            )
            .map_err(storage)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(storage)?;
        let mut stats = Vec::new();
        for row in rows {
            let (source, videos, lines, empty, nothing_there) = row.map_err(storage)?;
            stats.push(TextStats {
                source: source
                    .parse()
                    .map_err(|e| IndexError::Storage(format!("video_text: {e}")))?,
                videos: videos as u64,
                lines: lines as u64,
                empty: empty as u64,
                nothing_there: nothing_there as u64,
            });
        }
        Ok(stats)
    }
}

/// A line from its start, end, text, score and box (the first five columns) and its words (column
/// `words_at`).
fn span(r: &rusqlite::Row<'_>, words_at: usize) -> rusqlite::Result<TextSpan> {
    let words: Option<String> = r.get(words_at)?;
    let words = match words {
        Some(json) => serde_json::from_str(&json).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(words_at, rusqlite::types::Type::Text, Box::new(e))
        })?,
        None => Vec::new(),
    };
    Ok(TextSpan {
        start: r.get(0)?,
        end: r.get(1)?,
        text: r.get(2)?,
        score: r.get(3)?,
        bbox: decode_box(&r.get::<_, Vec<u8>>(4)?),
        words,
    })
}

/// A line's words as stored: JSON, or nothing for a line without them.
fn encode_words(words: &[crate::TimedWord]) -> Result<Option<String>> {
    match words.is_empty() {
        true => Ok(None),
        false => serde_json::to_string(words)
            .map(Some)
            .map_err(|e| IndexError::Storage(format!("a line's words: {e}"))),
    }
}
