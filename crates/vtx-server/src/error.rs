//! Errors: starting the server (`ServeError`), and answering a request (`ApiError`, always a JSON
//! `{"error": "..."}` with a fitting status).

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use vtx::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error(transparent)]
    Io(std::io::Error),
    #[error(transparent)]
    Engine(vtx::EngineError),
}

impl ServeError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            // An address in use or not this machine's: the user picks another.
            Self::Bind(..) => ErrorKind::BadInput,
            Self::Io(e) => ErrorKind::of_io(e),
            Self::Engine(e) => e.kind(),
        }
    }
}

/// An answer that went wrong: `{"error": "...", "kind": "..."}` with the status of its kind.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
}

/// The HTTP status of each kind of error. Busy and unavailable are both 503 (the body's `kind`
/// tells them apart; busy comes with Retry-After).
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadInput => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Busy | ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Seconds a client is asked to wait before trying a busy index again.
const RETRY_AFTER_S: u32 = 2;

impl ApiError {
    /// An error the server itself finds (a rejected request, a timeout): its kind follows from
    /// the status.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        let kind = match status.as_u16() {
            404 | 410 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            408 | 429 => ErrorKind::Busy,
            503 => ErrorKind::Unavailable,
            400..=499 => ErrorKind::BadInput,
            _ => ErrorKind::Internal,
        };
        Self {
            status,
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn of_kind(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            status: status_of(kind),
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::of_kind(ErrorKind::BadInput, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::of_kind(ErrorKind::NotFound, message)
    }

    pub(crate) fn internal(message: &str) -> Self {
        Self::of_kind(ErrorKind::Internal, message)
    }
}

/// An engine error keeps its kind; internal ones are also logged, as the server's own fault.
impl From<vtx::EngineError> for ApiError {
    fn from(e: vtx::EngineError) -> Self {
        let kind = e.kind();
        if kind == ErrorKind::Internal {
            tracing::error!("{e}");
        }
        Self::of_kind(kind, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = axum::Json(vtx_api::Failure::new(self.kind, self.message));
        let mut response = (self.status, body).into_response();
        if self.kind == ErrorKind::Busy && self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, RETRY_AFTER_S.into());
        }
        response
    }
}

/// Answers made below the handlers (the body limit's 413, the timeout's 408) come as plain text
/// or empty: give them the API's JSON shape too.
pub(crate) async fn json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is over the limit (--max-body-mb)".to_string(),
        StatusCode::REQUEST_TIMEOUT => "the request took longer than the limit (--timeout)".to_string(),
        other => other.canonical_reason().unwrap_or("error").to_string(),
    };
    let mut json = ApiError::new(status, message).into_response();
    for (name, value) in response.headers() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            json.headers_mut().insert(name.clone(), value.clone());
        }
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_status_and_busy_says_when_to_retry() {
        let statuses: Vec<u16> = ErrorKind::ALL.iter().map(|k| status_of(*k).as_u16()).collect();
        assert_eq!(statuses, [400, 404, 409, 503, 503, 500]);
        let busy = ApiError::from(vtx::EngineError::Index(vtx::IndexError::Busy)).into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.headers()[axum::http::header::RETRY_AFTER], "2");
        for status in [400u16, 404, 409, 410, 408, 503, 500] {
            let status = StatusCode::from_u16(status).unwrap();
            let made = ApiError::new(status, "x");
            assert_eq!(made.status, status);
            if status != StatusCode::GONE && status != StatusCode::REQUEST_TIMEOUT {
                assert_eq!(status_of(made.kind), status, "{status}: {:?}", made.kind);
            }
        }
    }
}
