//! Errors: starting the server (`ServeError`), and answering a request (`ApiError`, always a JSON
//! `{"error": "..."}` with a fitting status).

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error(transparent)]
    Io(std::io::Error),
    #[error(transparent)]
    Engine(vtx::EngineError),
}

#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn internal(message: &str) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

/// The engine's input errors are the client's (400), and so are media it cannot read (the only
/// media a server decodes is an upload); the rest are the server's (500).
impl From<vtx::EngineError> for ApiError {
    fn from(e: vtx::EngineError) -> Self {
        match e {
            vtx::EngineError::Input(message) => Self::bad_request(message),
            vtx::EngineError::Media(e) => Self::bad_request(e.to_string()),
            other => {
                tracing::error!("{other}");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(serde_json::json!({ "error": self.message }))).into_response()
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
