//! The web page and the OpenAPI description, compiled into the binary: no build step and no files
//! to install at run time.

use axum::http::header;
use axum::response::IntoResponse;

const INDEX: &str = include_str!("../assets/index.html");
const SCRIPT: &str = include_str!("../assets/app.js");
const STYLE: &str = include_str!("../assets/style.css");
const OPENAPI: &str = include_str!("../assets/openapi.json");

/// The page loads its script, style, pictures and videos from this server only, runs no inline
/// script and cannot be framed by another site.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub(crate) async fn index() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        ],
        INDEX,
    )
}

pub(crate) async fn script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT)
}

pub(crate) async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE)
}

/// The API's description as this server answers: a server started without a token asks for no
/// `Authorization`, so its document drops the requirement.
pub(crate) fn openapi_for(token: bool) -> String {
    if token {
        return OPENAPI.to_string();
    }
    let mut document: serde_json::Value = serde_json::from_str(OPENAPI).expect("the bundled OpenAPI document is JSON");
    if let Some(root) = document.as_object_mut() {
        root.remove("security");
    }
    document.to_string()
}

pub(crate) async fn openapi(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<crate::AppState>>,
) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], state.openapi.clone())
}
