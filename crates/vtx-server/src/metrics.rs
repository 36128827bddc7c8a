//! `/metrics` in Prometheus' text format: requests by route and status, latency histograms by
//! route, and the index's size.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::AppState;

/// Latency bucket bounds, seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Latency {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Latency>>,
}

impl Metrics {
    fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *requests
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        drop(requests);
        let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let entry = latency.entry(route.to_string()).or_default();
        for (bucket, bound) in entry.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        entry.count += 1;
        entry.sum += seconds;
    }
}

/// Time every request; routes are named by their pattern (`/api/videos/{id}`), so the label set
/// stays small whatever ids are asked for.
pub(crate) async fn record(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"")
}

pub(crate) async fn render(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let info = state.workers.run(|engine| Ok(engine.info()?)).await?;
    let mut out = String::new();
    let _ = writeln!(out, "# HELP vtx_http_requests_total HTTP requests answered.");
    let _ = writeln!(out, "# TYPE vtx_http_requests_total counter");
    for ((route, method, status), count) in state.metrics.requests.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        let _ = writeln!(
            out,
            "vtx_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {count}",
            escape(route)
        );
    }
    let _ = writeln!(
        out,
        "# HELP vtx_http_request_duration_seconds Time to answer a request."
    );
    let _ = writeln!(out, "# TYPE vtx_http_request_duration_seconds histogram");
    for (route, latency) in state.metrics.latency.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        let route = escape(route);
        for (bound, count) in BUCKETS.iter().zip(latency.buckets) {
            let _ = writeln!(
                out,
                "vtx_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "vtx_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
            latency.count
        );
        let _ = writeln!(
            out,
            "vtx_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
            latency.sum
        );
        let _ = writeln!(
            out,
            "vtx_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
            latency.count
        );
    }
    for (name, help, value) in [
        ("vtx_index_videos", "Videos in the index.", info.videos as f64),
        (
            "vtx_index_segments",
            "Segments (moments) in the index.",
            info.segments as f64,
        ),
        ("vtx_index_frames", "Frame vectors in the index.", info.frames as f64),
        (
            "vtx_index_bytes",
            "Size of the index on disk.",
            info.bytes_on_disk as f64,
        ),
        (
            "vtx_index_duration_seconds",
            "Total duration of the indexed videos.",
            info.total_duration_s,
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        out,
    )
        .into_response())
}
