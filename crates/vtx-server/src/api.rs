//! The JSON API, thumbnails and media. Every handler borrows an engine from the pool; ids in
//! paths are looked up in the index, so no part of a request ever names a file.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tower::ServiceExt;
use vtx::cluster::{Algorithm, Level};
use vtx::{SearchOptions, Stream};
use vtx_api::{Clustering, SearchResults, SimilarResults, Video, VideoDetail};

use crate::error::ApiError;
use crate::AppState;

type Shared = State<Arc<AppState>>;

/// The most results one request can ask for.
const MAX_TOP: usize = 1000;

fn parse_id(raw: &str, what: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::bad_request(format!("'{raw}' is not a {what} id (a number)")))
}

fn check_top(top: usize) -> Result<usize, ApiError> {
    if (1..=MAX_TOP).contains(&top) {
        Ok(top)
    } else {
        Err(ApiError::bad_request(format!(
            "top must be within 1-{MAX_TOP}, not {top}"
        )))
    }
}

fn query<T>(extracted: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    extracted
        .map(|Query(q)| q)
        .map_err(|e| ApiError::new(e.status(), e.body_text()))
}

pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such route (the API is described at /api/openapi.json)")
}

#[derive(Deserialize)]
pub(crate) struct SearchRequest {
    q: String,
    #[serde(default = "default_top")]
    top: usize,
    #[serde(default)]
    per_video: bool,
    /// Only moments tagged (`vtx tag`) with a label containing this word.
    tag: Option<String>,
    /// Only moments where the detector saw this object (`vtx index --objects`).
    object: Option<String>,
    /// With `object`: at least this many at once (ignored without one).
    min_count: Option<u32>,
    /// Only moments where someone does this (standing, walking, running, sitting, lying, falling).
    action: Option<String>,
    space: Option<String>,
    /// Scan every vector instead of walking the approximate index.
    #[serde(default)]
    exact: bool,
    /// hybrid (default), visual, keyword or speech.
    mode: Option<String>,
}

fn default_top() -> usize {
    20
}

async fn search(state: Arc<AppState>, request: SearchRequest) -> Result<Json<SearchResults>, ApiError> {
    let top = check_top(request.top)?;
    let object = request.object.filter(|o| !o.trim().is_empty());
    let mode: vtx::SearchMode = named(request.mode.as_deref(), "hybrid")?;
    let results = state
        .workers
        .run(move |engine| {
            let options = SearchOptions {
                top,
                space: request.space,
                per_video: request.per_video,
                tag: request.tag.filter(|t| !t.trim().is_empty()),
                object: object.map(|label| vtx::ObjectFilter {
                    label,
                    min_count: request.min_count.unwrap_or(1),
                }),
                action: request.action.filter(|a| !a.trim().is_empty()),
                exact: request.exact,
                mode,
            };
            let (space, mut found) = engine.search_with_space(&[&request.q], &options)?;
            Ok(SearchResults::new(&request.q, &space.name, &found.remove(0)))
        })
        .await?;
    Ok(Json(results))
}

pub(crate) async fn search_get(
    State(state): Shared,
    request: Result<Query<SearchRequest>, QueryRejection>,
) -> Result<Json<SearchResults>, ApiError> {
    search(state, query(request)?).await
}

pub(crate) async fn search_post(
    State(state): Shared,
    request: Result<Json<SearchRequest>, JsonRejection>,
) -> Result<Json<SearchResults>, ApiError> {
    let Json(request) = request.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    search(state, request).await
}

#[derive(Deserialize)]
pub(crate) struct SimilarRequest {
    /// An indexed video's id (GET); absent for an upload.
    video: Option<String>,
    #[serde(default = "default_top")]
    top: usize,
    /// rgb (default), motion or both.
    stream: Option<String>,
    motion_weight: Option<f32>,
}

/// A named value of a request (`level=segment`), or `default` when it is not given.
fn named<T: std::str::FromStr<Err = String>>(value: Option<&str>, default: &str) -> Result<T, ApiError> {
    value.unwrap_or(default).parse().map_err(ApiError::bad_request)
}

fn stream_of(request: &SimilarRequest) -> Result<Stream, ApiError> {
    let stream: Stream = named(request.stream.as_deref(), "rgb")?;
    // Checked whatever the stream, as the API documents it, though only `both` uses it.
    if let Some(weight) = request.motion_weight.filter(|w| !(0.0..=1.0).contains(w)) {
        return Err(ApiError::bad_request(format!(
            "motion_weight must be within 0-1, not {weight}"
        )));
    }
    Ok(stream.with_motion_weight(request.motion_weight.unwrap_or(vtx::DEFAULT_MOTION_WEIGHT)))
}

async fn similar(
    state: &AppState,
    query_file: std::path::PathBuf,
    video_id: Option<i64>,
    request: &SimilarRequest,
) -> Result<Json<SimilarResults>, ApiError> {
    let (top, stream) = (check_top(request.top)?, stream_of(request)?);
    let results = state
        .workers
        .run(move |engine| {
            let options = vtx::IndexOptions::default();
            let space = engine.similar_space(None, stream)?;
            let hits = engine.similar(&query_file, top, None, stream, &options)?;
            Ok(SimilarResults::new(video_id, &space, &hits))
        })
        .await?;
    Ok(Json(results))
}

/// Videos like an indexed one (`?video=ID`).
pub(crate) async fn similar_get(
    State(state): Shared,
    request: Result<Query<SimilarRequest>, QueryRejection>,
) -> Result<Json<SimilarResults>, ApiError> {
    let request = query(request)?;
    let raw = request
        .video
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("give ?video=ID, or POST a picture or clip"))?;
    let id = parse_id(raw, "video")?;
    let video = state.workers.run(move |engine| Ok(engine.video(id)?)).await?;
    let video = video.ok_or_else(|| ApiError::not_found(format!("no video {id} in the index")))?;
    similar(&state, video.meta.path.into(), Some(id), &request).await
}

/// Videos like an uploaded picture or clip (the request body; never added to the index).
pub(crate) async fn similar_upload(
    State(state): Shared,
    headers: HeaderMap,
    request: Result<Query<SimilarRequest>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SimilarResults>, ApiError> {
    let request = query(request)?;
    let body = body.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    if body.is_empty() {
        return Err(ApiError::bad_request("the body is empty: send the picture or clip"));
    }
    // FFmpeg recognises most formats by content; the suffix helps the still-image readers.
    let suffix = match headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        Some("image/jpeg") => ".jpg",
        Some("image/png") => ".png",
        Some("video/mp4") => ".mp4",
        Some("video/webm") => ".webm",
        _ => ".bin",
    };
    // Written off the async threads: an upload can be 64 MiB, and a disk can be slow.
    let file = tokio::task::spawn_blocking(move || -> std::io::Result<tempfile::NamedTempFile> {
        let mut file = tempfile::Builder::new()
            .prefix("vtx-query-")
            .suffix(suffix)
            .tempfile()?;
        std::io::Write::write_all(&mut file, &body)?;
        Ok(file)
    })
    .await
    .map_err(|e| ApiError::internal(&format!("worker: {e}")))?
    .map_err(|e| ApiError::of_kind(vtx::ErrorKind::of_io(&e), format!("cannot store the upload: {e}")))?;
    let answer = similar(&state, file.path().to_path_buf(), None, &request).await;
    drop(file);
    answer
}

pub(crate) async fn videos(State(state): Shared) -> Result<Json<Vec<Video>>, ApiError> {
    let list = state
        .workers
        .run(|engine| {
            let videos = engine.videos()?;
            Ok(videos
                .into_iter()
                .map(|v| Video::new(engine, v))
                .collect::<vtx::Result<Vec<_>>>()?)
        })
        .await?;
    Ok(Json(list))
}

pub(crate) async fn video(State(state): Shared, Path(raw): Path<String>) -> Result<Json<VideoDetail>, ApiError> {
    let id = parse_id(&raw, "video")?;
    let detail = state
        .workers
        .run(move |engine| {
            let Some(video) = engine.video(id)? else {
                return Err(ApiError::not_found(format!("no video {id} in the index")));
            };
            Ok(VideoDetail::new(engine, video)?)
        })
        .await?;
    Ok(Json(detail))
}

/// The objects a detector followed through a video (`vtx index --objects`).
pub(crate) async fn video_tracks(
    State(state): Shared,
    Path(raw): Path<String>,
) -> Result<Json<vtx_api::StoredTracks>, ApiError> {
    let found = ("objects were detected", "--objects");
    stored_of_video(state, &raw, found, vtx::Engine::video_tracks).await
}

/// The lines of text a reader found in a video (`vtx index --ocr`), with when each is on screen.
pub(crate) async fn video_text(
    State(state): Shared,
    Path(raw): Path<String>,
) -> Result<Json<vtx_api::TextReport>, ApiError> {
    stored_of_video(
        state,
        &raw,
        ("text was read", "--ocr"),
        vtx::Engine::video_found::<vtx::ScreenReader>,
    )
    .await
}

/// What is said in a video (`vtx index --speech`): its phrases, with their times.
pub(crate) async fn video_transcript(
    State(state): Shared,
    Path(raw): Path<String>,
) -> Result<Json<vtx_api::Transcript>, ApiError> {
    let found = ("speech was transcribed", "--speech");
    stored_of_video(state, &raw, found, vtx::Engine::video_found::<vtx::Transcriber>).await
}

/// The same as WebVTT subtitles, for a `<track>` of the page's player.
pub(crate) async fn video_subtitles(State(state): Shared, Path(raw): Path<String>) -> Result<Response, ApiError> {
    let found = ("speech was transcribed", "--speech");
    let Json(heard) = stored_of_video(state, &raw, found, vtx::Engine::video_found::<vtx::Transcriber>).await?;
    let vtt = vtx_api::Subtitles::Vtt.write(&heard);
    Ok(([(header::CONTENT_TYPE, "text/vtt; charset=utf-8")], vtt).into_response())
}

/// What an indexing pass (`found`, by `vtx index FLAG`) stored for a video; a 404 that says how to
/// make it when it never ran there.
async fn stored_of_video<T: Send + 'static>(
    state: Arc<AppState>,
    raw: &str,
    (found, flag): (&'static str, &'static str),
    stored: fn(&vtx::Engine, i64) -> vtx::Result<Option<T>>,
) -> Result<Json<T>, ApiError> {
    let id = parse_id(raw, "video")?;
    let document = state
        .workers
        .run(move |engine| {
            if engine.video(id)?.is_none() {
                return Err(ApiError::not_found(format!("no video {id} in the index")));
            }
            stored(engine, id)?.ok_or_else(|| {
                ApiError::not_found(format!("no {found} in video {id} (index it with `vtx index {flag}`)"))
            })
        })
        .await?;
    Ok(Json(document))
}

#[derive(Deserialize)]
pub(crate) struct ClusterRequest {
    k: Option<usize>,
    /// video (default) or segment.
    level: Option<String>,
    /// kmeans (default) or hdbscan.
    algorithm: Option<String>,
    min_cluster_size: Option<usize>,
    seed: Option<u64>,
    /// A space of the index, or several joined by `+`.
    space: Option<String>,
    /// PCA-whiten to this many dimensions first.
    whiten: Option<usize>,
    /// Give each member its position on a map of the library.
    #[serde(default)]
    map: bool,
}

/// The last clustering served, with what was asked and the index generation it was computed at.
/// `flight` lets one clustering run at a time: requests behind it wait (on the async side, not
/// holding a worker) and then read what it left here.
#[derive(Default)]
pub(crate) struct ClusterCache {
    last: Mutex<Option<(ClusterKey, Arc<Clustering>)>>,
    flight: tokio::sync::Mutex<()>,
}

/// What a clustering depends on: its options and the index's generation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClusterKey {
    k: Option<usize>,
    level: Level,
    algorithm: Algorithm,
    seed: u64,
    space: Option<String>,
    whiten: Option<usize>,
    map: bool,
    generation: u64,
}

/// Largest `k` a request may ask for.
const MAX_K: usize = 1000;
/// Most dimensions a request may whiten to: the cost grows with their number (1.2 s for 64 on
/// 20,000 x 1280 vectors), and the dev sets gain nothing past a handful.
const MAX_WHITEN: usize = 256;
/// Points (videos, or segments at segment level) a request may cluster, by algorithm: k-means
/// does 100,000 x 1280 in about 11 s here, HDBSCAN grows with the square of the points. Larger
/// libraries are clustered with `vtx cluster`.
const MAX_POINTS_KMEANS: u64 = 100_000;
const MAX_POINTS_HDBSCAN: u64 = 10_000;

/// The request's options, all checked before any work.
fn cluster_options(request: &ClusterRequest) -> Result<vtx::cluster::ClusterOptions, ApiError> {
    if let Some(k) = request.k {
        if !(1..=MAX_K).contains(&k) {
            return Err(ApiError::bad_request(format!("k must be from 1 to {MAX_K}, not {k}")));
        }
    }
    if let Some(dims) = request.whiten {
        if !(1..=MAX_WHITEN).contains(&dims) {
            return Err(ApiError::bad_request(format!(
                "whiten must be from 1 to {MAX_WHITEN}, not {dims}"
            )));
        }
    }
    let level: Level = named(request.level.as_deref(), "video")?;
    let min_cluster_size = request
        .min_cluster_size
        .unwrap_or(vtx::cluster::DEFAULT_MIN_CLUSTER_SIZE);
    if !(2..=10_000).contains(&min_cluster_size) {
        return Err(ApiError::bad_request(format!(
            "min_cluster_size must be from 2 to 10000, not {min_cluster_size}"
        )));
    }
    let algorithm = match named(request.algorithm.as_deref(), "kmeans")? {
        Algorithm::Hdbscan { .. } => Algorithm::Hdbscan {
            min_cluster_size,
            min_samples: min_cluster_size,
        },
        other => other,
    };
    Ok(vtx::cluster::ClusterOptions {
        k: request.k,
        seed: request.seed.unwrap_or(1),
        level,
        algorithm,
        space: request.space.clone(),
        whiten: request.whiten,
        map: request.map,
        ..Default::default()
    })
}

pub(crate) async fn clusters(
    State(state): Shared,
    request: Result<Query<ClusterRequest>, QueryRejection>,
) -> Result<Response, ApiError> {
    let options = cluster_options(&query(request)?)?;
    let max_points = match options.algorithm {
        Algorithm::KMeans => MAX_POINTS_KMEANS,
        Algorithm::Hdbscan { .. } => MAX_POINTS_HDBSCAN,
    };
    let _flight = state.clusters.flight.lock().await;
    let state_for_job = state.clone();
    let answer = state
        .workers
        .run_beside(move |engine| {
            let key = ClusterKey {
                k: options.k,
                level: options.level,
                algorithm: options.algorithm,
                seed: options.seed,
                space: options.space.clone(),
                whiten: options.whiten,
                map: options.map,
                generation: engine.generation()?,
            };
            let cache = &state_for_job.clusters.last;
            if let Some((cached_key, clustering)) = cache.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                if *cached_key == key {
                    return Ok(clustering.clone());
                }
            }
            let info = engine.info()?;
            let points = match options.level {
                Level::Video => info.videos,
                Level::Segment => info.segments,
            };
            if points > max_points {
                return Err(ApiError::bad_request(format!(
                    "{points} {}s are more than a request clusters with {} ({max_points}): run `vtx cluster` on the index",
                    key.level, key.algorithm
                )));
            }
            let clustering = Arc::new(Clustering::new(engine, &engine.cluster(&options)?)?);
            *cache.lock().unwrap_or_else(|p| p.into_inner()) = Some((key, clustering.clone()));
            Ok(clustering)
        })
        .await?;
    Ok(Json(answer.as_ref()).into_response())
}

/// A segment's thumbnail (JPEG), revalidated by ETag: a segment keeps its id when its video is
/// indexed again, and re-indexing with another segment length can give that id another picture.
pub(crate) async fn thumbnail(
    State(state): Shared,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&raw, "segment")?;
    let jpeg = state.workers.run(move |engine| Ok(engine.thumbnail(id)?)).await?;
    let jpeg = jpeg.ok_or_else(|| ApiError::not_found(format!("segment {id} has no thumbnail")))?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    jpeg.hash(&mut hasher);
    let etag = format!("\"{id}-{:016x}\"", hasher.finish());
    let cache = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, "private, no-cache".to_string()),
    ];
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    Ok((cache, [(header::CONTENT_TYPE, "image/jpeg".to_string())], jpeg).into_response())
}

/// An indexed video's file, with range requests (the browser seeks by asking for byte ranges).
/// Only ids are accepted: the file is the one the index recorded for that id.
pub(crate) async fn media(
    State(state): Shared,
    Path(raw): Path<String>,
    mut request: Request<Body>,
) -> Result<Response, ApiError> {
    let id = parse_id(&raw, "video")?;
    let video = state.workers.run(move |engine| Ok(engine.video(id)?)).await?;
    let video = video.ok_or_else(|| ApiError::not_found(format!("no video {id} in the index")))?;
    let file = open_indexed(id, &video.meta).await?;
    if let Some(range) = request.headers().get(header::RANGE) {
        if !crate::headers::single_satisfiable_range(range.as_bytes(), video.meta.size) {
            // RFC 9110 lets a server ignore a Range it will not honour: the whole file, 200.
            request.headers_mut().remove(header::RANGE);
        }
    }
    let mime = mime_guess::from_path(&video.meta.path).first_or_octet_stream();
    // Served through the descriptor just checked, not the path: a file swapped in after the
    // check is never the one sent.
    let served = tower_http::services::ServeFile::new_with_mime(descriptor_path(&file), &mime)
        .oneshot(request)
        .await
        .map_err(|e| ApiError::internal(&format!("cannot read {}: {e}", video.meta.path)));
    drop(file);
    Ok(served?.into_response())
}

/// Open an indexed video's file and check that it is the file that was indexed: the same size
/// and modification time. A file replaced since (by another video, or by a link to some other
/// file) is refused, so write access to an indexed folder never reads other files.
async fn open_indexed(id: i64, meta: &vtx::VideoMeta) -> Result<std::fs::File, ApiError> {
    let path = meta.file();
    let gone = || {
        ApiError::new(
            StatusCode::GONE,
            format!("video {id} is indexed but its file is gone: {}", meta.path),
        )
    };
    let file = tokio::task::spawn_blocking(move || std::fs::File::open(path))
        .await
        .map_err(|e| ApiError::internal(&format!("worker: {e}")))?
        .map_err(|_| gone())?;
    let found = file.metadata().map_err(|_| gone())?;
    let mtime_ns = found
        .modified()
        .ok()
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64);
    if !found.is_file() {
        return Err(gone());
    }
    if found.len() != meta.size || mtime_ns != meta.mtime_ns {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "the file of video {id} changed after it was indexed ({}): index it again to serve it",
                meta.path
            ),
        ));
    }
    Ok(file)
}

/// A path that opens the very file `file` has open (Linux opens the file behind the descriptor
/// anew; other Unixes duplicate the descriptor).
fn descriptor_path(file: &std::fs::File) -> std::path::PathBuf {
    use std::os::fd::AsRawFd;
    let folder = if cfg!(target_os = "linux") {
        "/proc/self/fd"
    } else {
        "/dev/fd"
    };
    std::path::PathBuf::from(format!("{folder}/{}", file.as_raw_fd()))
}
