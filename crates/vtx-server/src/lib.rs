//! `vtx serve`: the engine over HTTP (a JSON API, the thumbnails and the videos themselves with
//! range requests) and a web page to search, watch the matching moment and browse clusters.
//!
//! A thin shell: every answer is an [`vtx::Engine`] call. The server holds one engine, shared by
//! every request (its models and its cache of query embeddings are loaded once), and runs each
//! call on a blocking thread; SQLite's WAL lets `vtx index` write while it reads.

mod api;
mod error;
mod guard;
pub mod headers;
mod metrics;
mod page;
mod workers;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

pub use error::{status_of, ServeError};

/// How the server listens and what it allows.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Loopback by default: nothing is exposed unless asked.
    pub addr: SocketAddr,
    /// When set, every route wants `Authorization: Bearer TOKEN` (or the cookie the page gets
    /// from `/?token=TOKEN`).
    pub token: Option<String>,
    /// How many requests are answered at once (they share one engine).
    pub workers: usize,
    /// A request taking longer gets 408.
    pub timeout: Duration,
    /// Largest request body (an uploaded query picture or clip), in bytes.
    pub max_body: usize,
    /// Host names a loopback server answers besides localhost, 127.0.0.1 and [::1].
    pub allow_hosts: Vec<String>,
    /// A client that has not sent its request's headers in this time is disconnected.
    pub header_timeout: Duration,
    /// Connections held at once; more wait in the listen queue, never refused for want of files.
    pub max_connections: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            token: None,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            timeout: Duration::from_secs(60),
            max_body: 64 << 20,
            allow_hosts: Vec::new(),
            header_timeout: Duration::from_secs(10),
            max_connections: 256,
        }
    }
}

/// Query strings longer than this are refused (414): nothing the API takes needs more.
pub const MAX_QUERY_BYTES: usize = 8 << 10;

pub(crate) struct AppState {
    pub(crate) workers: workers::Workers,
    pub(crate) metrics: metrics::Metrics,
    pub(crate) clusters: api::ClusterCache,
    /// The API's description as this server answers (see `page::openapi_for`).
    pub(crate) openapi: String,
}

/// The application: API, media, page, metrics, with the guards (token, limits, timeout).
pub fn router(config: vtx::EngineConfig, options: &ServeOptions) -> Result<Router, ServeError> {
    let state = Arc::new(AppState {
        workers: workers::Workers::open(&config, options.workers)?,
        metrics: metrics::Metrics::default(),
        clusters: api::ClusterCache::default(),
        openapi: page::openapi_for(options.token.as_deref().is_some_and(|t| !t.is_empty())),
    });
    let routes = Router::new()
        .route("/", get(page::index))
        .route("/app.js", get(page::script))
        .route("/style.css", get(page::style))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(metrics::render))
        .route("/api/openapi.json", get(page::openapi))
        .route("/api/search", get(api::search_get).post(api::search_post))
        .route("/api/similar", get(api::similar_get).post(api::similar_upload))
        .route("/api/videos", get(api::videos))
        .route("/api/videos/{id}", get(api::video))
        .route("/api/videos/{id}/tracks", get(api::video_tracks))
        .route("/api/videos/{id}/text", get(api::video_text))
        .route("/api/videos/{id}/transcript", get(api::video_transcript))
        .route("/api/videos/{id}/subtitles.vtt", get(api::video_subtitles))
        .route("/api/clusters", get(api::clusters))
        .route("/api/thumbnails/{segment}", get(api::thumbnail))
        .route("/media/{id}", get(api::media))
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::record))
        .layer(axum::middleware::from_fn_with_state(
            guard::Guard::new(
                options.token.clone(),
                options.addr.ip().is_loopback(),
                &options.allow_hosts,
            ),
            guard::check,
        ))
        .layer(DefaultBodyLimit::max(options.max_body))
        // Refuses a declared Content-Length over the limit before any of the body is read.
        .layer(RequestBodyLimitLayer::new(options.max_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            options.timeout,
        ))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::from_fn(guard::headers))
        .with_state(state);
    Ok(routes)
}

/// Serve until Ctrl-C or SIGTERM; `ready` is called with the bound address once listening (the
/// CLI prints it; port 0 picks a free one).
pub fn serve(
    config: vtx::EngineConfig,
    options: &ServeOptions,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Io)?;
    runtime.block_on(async {
        let app = router(config, options)?;
        let listener = tokio::net::TcpListener::bind(options.addr)
            .await
            .map_err(|e| ServeError::Bind(options.addr, e))?;
        ready(listener.local_addr().map_err(ServeError::Io)?);
        accept(listener, app, options).await;
        Ok(())
    })
}

/// The accept loop: at most `max_connections` at once, each given `header_timeout` to send its
/// headers (slow clients cannot hold the server), all finished before a shutdown returns.
async fn accept(listener: tokio::net::TcpListener, app: Router, options: &ServeOptions) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout);
    let slots = Arc::new(tokio::sync::Semaphore::new(options.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors, or a connection reset before it was taken: wait, retry.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    graceful.shutdown().await;
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
