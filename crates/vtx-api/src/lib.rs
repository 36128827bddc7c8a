//! The documents vtx answers with, defined once: `vtx ... --json` prints them and the HTTP API
//! returns them, so a search gives the same document from either (a test holds them to it).
//! Links (`thumbnail`, `media`) are paths on the HTTP API; `vtx thumbnail SEGMENT` writes the
//! same picture from the command line.
//!
//! Reports that are plain engine results are re-exported as they are: [`IndexInfo`],
//! [`VideoTags`], [`SegmentMotion`] and the evaluations.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;
use vtx::{Engine, Result};

pub use vtx::eval::{ClusterEvaluation, RetrievalEvaluation};
pub use vtx::{
    IndexInfo, ObjectsReport, ScreenLine, SegmentMotion, SegmentTags, SpaceInfo, StoredTracks, TextReport, Track,
    TrackBox, Transcript, VideoTags,
};

/// Subtitle formats a transcript is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subtitles {
    /// SubRip: numbered cues, `HH:MM:SS,mmm`.
    Srt,
    /// WebVTT, what a page's `<track>` takes: `HH:MM:SS.mmm`.
    Vtt,
}

impl Subtitles {
    /// A transcript's phrases as cues.
    pub fn write(self, transcript: &Transcript) -> String {
        let mut out = String::new();
        if self == Self::Vtt {
            out.push_str("WEBVTT\n\n");
        }
        for (i, phrase) in transcript.phrases.iter().enumerate() {
            let (start, end) = (format_time(phrase.start), format_time(phrase.end.max(phrase.start)));
            // A cue's text cannot hold an empty line, which ends it, nor (in WebVTT) "-->".
            let text = phrase.text.replace("-->", "->").replace('\n', " ");
            match self {
                Self::Srt => out.push_str(&format!(
                    "{}\n{} --> {}\n{text}\n\n",
                    i + 1,
                    start.replace('.', ","),
                    end.replace('.', ",")
                )),
                Self::Vtt => out.push_str(&format!("{start} --> {end}\n{text}\n\n")),
            }
        }
        out
    }
}

/// A path as one line of text: control characters in a file name (a newline, a terminal escape)
/// are written escaped, so a name can neither break the report into lines nor drive the terminal,
/// and so are bytes that are not UTF-8 (`caf\xe9.mp4`), so the name shown is the name on disk.
pub fn one_line(path: &Path) -> String {
    let mut line = String::new();
    for chunk in path.as_os_str().as_encoded_bytes().utf8_chunks() {
        let text = chunk.valid();
        match text.chars().any(char::is_control) {
            true => line.extend(text.escape_debug()),
            false => line.push_str(text),
        }
        line.extend(chunk.invalid().iter().map(|b| format!("\\x{b:02x}")));
    }
    line
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

/// A path's file name, for lines and documents that name videos briefly.
pub fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// The API path of a segment's thumbnail.
pub fn thumbnail_link(segment: i64) -> String {
    format!("/api/thumbnails/{segment}")
}

/// The API path of a video's file, from `start` seconds on (a media fragment the browser seeks to).
pub fn media_link(video: i64, start: Option<f64>) -> String {
    match start {
        Some(t) => format!("/media/{video}#t={t:.3}"),
        None => format!("/media/{video}"),
    }
}

/// One moment found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub video_id: i64,
    /// The file's absolute path as it was indexed.
    pub video: String,
    /// Its file name.
    pub name: String,
    pub segment: i64,
    /// The segment, in seconds from the start of the video.
    pub start: f64,
    pub end: f64,
    /// `start` as `HH:MM:SS.mmm`.
    pub time: String,
    /// Cosine similarity (higher is closer); in a hybrid search that fused keyword matches, the
    /// reciprocal-rank fusion score; in a keyword search, BM25's relevance.
    pub score: f32,
    /// Why it matched: "visual" (its pictures are near the query), "keyword" (its on-screen text
    /// or transcript holds the query's words), "speech" (what is said in it means the query).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matched: Vec<String>,
    /// The line of text that matched, the matched words between `**` (for a match by meaning,
    /// what is said in the segment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    /// When that line appears, seconds into the video (`media` seeks there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet_at: Option<f64>,
    /// Where that line is: "screen" (read in the picture) or "speech" (heard).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet_from: Option<String>,
    pub thumbnail: String,
    pub media: String,
}

impl From<&vtx::SearchHit> for Hit {
    fn from(hit: &vtx::SearchHit) -> Self {
        let at = hit.snippet.as_ref().map(|s| s.start.max(hit.start));
        Self {
            video_id: hit.video_id,
            video: hit.path.clone(),
            name: file_name(&hit.path),
            segment: hit.segment,
            start: hit.start,
            end: hit.end,
            time: format_time(at.unwrap_or(hit.start)),
            score: hit.score,
            matched: hit.matched.clone(),
            snippet: hit.snippet.as_ref().map(|s| s.text.clone()),
            snippet_at: at,
            snippet_from: hit.snippet.as_ref().map(|s| s.source.to_string()),
            thumbnail: thumbnail_link(hit.segment),
            media: media_link(hit.video_id, Some(at.unwrap_or(hit.start))),
        }
    }
}

fn hits(found: &[vtx::SearchHit]) -> Vec<Hit> {
    found.iter().map(Hit::from).collect()
}

/// The answer to one text query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    pub query: String,
    /// The vector space searched.
    pub space: String,
    pub hits: Vec<Hit>,
}

impl SearchResults {
    pub fn new(query: &str, space: &str, found: &[vtx::SearchHit]) -> Self {
        Self {
            query: query.to_string(),
            space: space.to_string(),
            hits: hits(found),
        }
    }
}

/// Videos like a video or picture: ranked by whole-video vectors (`score`), each with its moment
/// most like the query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimilarResults {
    /// The query's id when it is an indexed video.
    pub video_id: Option<i64>,
    /// The space compared in (`space+motion` for both streams).
    pub space: String,
    pub hits: Vec<Hit>,
}

impl SimilarResults {
    pub fn new(video_id: Option<i64>, space: &str, found: &[vtx::SearchHit]) -> Self {
        Self {
            video_id,
            space: space.to_string(),
            hits: hits(found),
        }
    }
}

/// An indexed video.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Video {
    pub id: i64,
    pub video: String,
    pub name: String,
    /// Measured from decoded frames, in seconds.
    pub duration: f64,
    pub width: u32,
    pub height: u32,
    pub fps: Option<f64>,
    pub codec: String,
    pub format: String,
    /// Frames sampled for its image models.
    pub frames: u32,
    /// Bytes, and the BLAKE3 of them.
    pub size: u64,
    pub hash: String,
    /// The thumbnail that stands for the whole video (the segment nearest its middle).
    pub thumbnail: Option<String>,
    pub media: String,
}

impl Video {
    pub fn new(engine: &Engine, video: vtx::VideoRecord) -> Result<Self> {
        let thumbnail = engine.video_thumbnail_segment(video.id)?;
        Ok(Self::with_thumbnail(video, thumbnail))
    }

    /// `thumbnail`: the segment whose picture stands for the video.
    fn with_thumbnail(video: vtx::VideoRecord, thumbnail: Option<i64>) -> Self {
        let meta = video.meta;
        Self {
            id: video.id,
            name: file_name(&meta.path),
            video: meta.path,
            duration: meta.duration,
            width: meta.width,
            height: meta.height,
            fps: meta.fps,
            codec: meta.codec,
            format: meta.format,
            frames: meta.frames,
            size: meta.size,
            hash: meta.hash,
            thumbnail: thumbnail.map(thumbnail_link),
            media: media_link(video.id, None),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shot {
    pub start: f64,
    pub end: f64,
    /// `start`, `cut` or `fade`: how the shot began.
    pub boundary: String,
}

impl From<&vtx::Shot> for Shot {
    fn from(shot: &vtx::Shot) -> Self {
        Self {
            start: shot.start,
            end: shot.end,
            boundary: shot.boundary.as_str().to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub id: i64,
    pub start: f64,
    pub end: f64,
    pub thumbnail: Option<String>,
    /// `[label, score]`, best first (from `vtx tag`).
    pub tags: Vec<(String, f32)>,
}

/// A video with everything the index holds about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoDetail {
    #[serde(flatten)]
    pub video: Video,
    pub shots: Vec<Shot>,
    pub segments: Vec<Segment>,
    /// Vectors it has in each space.
    pub spaces: std::collections::BTreeMap<String, usize>,
}

impl VideoDetail {
    pub fn new(engine: &Engine, video: vtx::VideoRecord) -> Result<Self> {
        let id = video.id;
        let mut tags: HashMap<i64, Vec<(String, f32)>> = HashMap::new();
        for tag in engine.video_tags(id)? {
            let name = vtx::label_name(&tag.label).to_string();
            tags.entry(tag.segment).or_default().push((name, tag.score));
        }
        let stored = engine.video_segments(id)?;
        let thumbnail = vtx::middle_thumbnail(&stored);
        let segments = stored
            .into_iter()
            .map(|s| {
                let mut segment_tags = tags.remove(&s.id).unwrap_or_default();
                segment_tags.sort_by(|a, b| b.1.total_cmp(&a.1));
                Segment {
                    id: s.id,
                    start: s.start,
                    end: s.end,
                    thumbnail: s.has_thumbnail.then(|| thumbnail_link(s.id)),
                    tags: segment_tags,
                }
            })
            .collect();
        let shots = engine
            .video_shots(id)?
            .into_iter()
            .map(|s| Shot {
                start: s.start,
                end: s.end,
                boundary: s.boundary,
            })
            .collect();
        Ok(Self {
            video: Video::with_thumbnail(video, thumbnail),
            shots,
            segments,
            spaces: engine.video_spaces(id)?.into_iter().collect(),
        })
    }
}

/// What `vtx info` shows, with every video's detail when asked for.
#[derive(Debug, Clone, Serialize)]
pub struct Info {
    #[serde(flatten)]
    pub index: IndexInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list: Option<Vec<VideoDetail>>,
}

/// One clustered item: a video, a segment of one, or a text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    pub video_id: Option<i64>,
    /// The video's path as indexed ("" for a text).
    pub video: String,
    pub name: String,
    pub segment: Option<i64>,
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub text: Option<String>,
    /// Cosine to the cluster's centroid.
    pub similarity: f32,
    /// Where it lies on the library map (when the clustering was asked for one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<[f32; 2]>,
    pub thumbnail: Option<String>,
    pub media: Option<String>,
}

impl Member {
    pub fn new(engine: &Engine, member: &vtx::cluster::Member) -> Result<Self> {
        Ok(Self {
            video_id: member.video_id,
            name: file_name(&member.video),
            video: member.video.clone(),
            segment: member.segment,
            start: member.start,
            end: member.end,
            text: member.text.clone(),
            similarity: member.similarity,
            position: member.position,
            thumbnail: engine.member_thumbnail_segment(member)?.map(thumbnail_link),
            media: member
                .video_id
                .map(|v| media_link(v, Some(member.start.unwrap_or(0.0)))),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// 0 is the largest; HDBSCAN's noise comes last as the pseudo-cluster -1.
    pub id: i64,
    pub name: String,
    /// The labels nearest its centroid, with their cosines.
    pub names: Vec<(String, f32)>,
    /// The members' most frequent tags (`vtx tag`), with how many members carry each.
    pub tags: Vec<(String, usize)>,
    /// The objects most members show (`vtx index --objects`), with how many show each.
    pub objects: Vec<(String, usize)>,
    pub size: usize,
    /// Most typical first.
    pub members: Vec<Member>,
    /// The member nearest the centroid (none for noise).
    pub medoid: Option<Member>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clustering {
    pub space: String,
    /// `kmeans` or `hdbscan`.
    pub algorithm: String,
    /// Clusters found (noise not counted).
    pub k: usize,
    /// Mean silhouette (cosine) of the clustered items, -1..1.
    pub silhouette: f64,
    pub clusters: Vec<Cluster>,
}

impl Clustering {
    pub fn new(engine: &Engine, clustering: &vtx::cluster::Clustering) -> Result<Self> {
        let members = |list: &[vtx::cluster::Member]| -> Result<Vec<Member>> {
            list.iter().map(|m| Member::new(engine, m)).collect()
        };
        let mut clusters = clustering
            .clusters
            .iter()
            .map(|c| {
                Ok(Cluster {
                    id: c.id as i64,
                    name: c.name.clone(),
                    names: c.names.clone(),
                    tags: c.tags.clone(),
                    objects: c.objects.clone(),
                    size: c.size,
                    members: members(&c.members)?,
                    medoid: Some(Member::new(engine, &c.medoid)?),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if !clustering.noise.is_empty() {
            clusters.push(Cluster {
                id: -1,
                name: "noise".into(),
                names: Vec::new(),
                tags: Vec::new(),
                objects: Vec::new(),
                size: clustering.noise.len(),
                members: members(&clustering.noise)?,
                medoid: None,
            });
        }
        Ok(Self {
            space: clustering.space.clone(),
            algorithm: clustering.algorithm.clone(),
            k: clustering.k,
            silhouette: clustering.silhouette,
            clusters,
        })
    }
}

/// An installed model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSummary {
    pub name: String,
    /// `image`, `text`, `image-text`, `video`, `motion`, `detector`, `pose`, `ocr` or `speech`.
    pub kind: String,
    /// The vector space it writes; none for a model that finds things instead (boxes,
    /// keypoints, lines of text, phrases).
    pub space: Option<String>,
    /// Length of its vectors; 0 for a model that writes none.
    pub dim: usize,
    /// Whether it embeds text (queries, labels).
    pub text: bool,
    pub description: String,
    pub dir: std::path::PathBuf,
}

impl From<&vtx::Manifest> for ModelSummary {
    fn from(m: &vtx::Manifest) -> Self {
        Self {
            name: m.name.clone(),
            kind: m.kind.to_string(),
            space: m.kind.writes_vectors().then(|| m.space().to_string()),
            dim: m.dim,
            text: m.has_text(),
            description: m.description.clone(),
            dir: m.dir.clone(),
        }
    }
}

/// The model folder: what is installed, and what is there but cannot be read (and why).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelList {
    pub models: Vec<ModelSummary>,
    pub broken: Vec<String>,
}

/// A failed request or command, as the API answers it and `--json` commands print it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    pub error: String,
    /// `bad_input`, `not_found`, `conflict`, `busy`, `unavailable` or `internal`.
    pub kind: &'static str,
}

impl Failure {
    pub fn new(kind: vtx::ErrorKind, error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            kind: kind.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_control_characters_stay_on_one_line() {
        assert_eq!(one_line(Path::new("/a/cat.mp4")), "/a/cat.mp4");
        assert_eq!(one_line(Path::new("/a/b\nc\u{1b}[31m.mp4")), "/a/b\\nc\\u{1b}[31m.mp4");
        use std::os::unix::ffi::OsStrExt;
        let latin1 = std::ffi::OsStr::from_bytes(b"/caf\xe9/\xe9t\xc3\xa9.mp4");
        assert_eq!(one_line(Path::new(latin1)), "/caf\\xe9/\\xe9t\u{e9}.mp4");
    }

    #[test]
    fn time_format() {
        assert_eq!(format_time(0.0), "00:00:00.000");
        assert_eq!(format_time(4.2), "00:00:04.200");
        assert_eq!(format_time(3725.0456), "01:02:05.046");
        assert_eq!(format_time(-1.0), "00:00:00.000");
    }

    #[test]
    fn a_hit_links_to_its_picture_and_its_moment() {
        let hit = vtx::SearchHit {
            video_id: 7,
            path: "/clips/cat.mp4".into(),
            segment: 42,
            start: 3.0,
            end: 6.0,
            score: 0.5,
            matched: vec!["visual".into()],
            snippet: None,
        };
        let doc = Hit::from(&hit);
        assert_eq!((doc.name.as_str(), doc.time.as_str()), ("cat.mp4", "00:00:03.000"));
        assert_eq!(doc.thumbnail, "/api/thumbnails/42");
        assert_eq!(doc.media, "/media/7#t=3.000");
        // A hit by its text lands on the second the text appears.
        let read = vtx::SearchHit {
            snippet: Some(line_at("the **budget**", 4.0)),
            ..hit
        };
        let doc = Hit::from(&read);
        assert_eq!(
            (doc.time.as_str(), doc.media.as_str()),
            ("00:00:04.000", "/media/7#t=4.000")
        );
        assert_eq!(doc.snippet.as_deref(), Some("the **budget**"));
    }

    fn line_at(text: &str, start: f64) -> vtx::Snippet {
        vtx::Snippet {
            text: text.into(),
            source: vtx::TextSource::Screen,
            start,
            end: start + 1.0,
        }
    }
}
