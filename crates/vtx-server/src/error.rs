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
