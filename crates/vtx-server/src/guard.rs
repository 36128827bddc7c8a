//! What every request passes first: the Host check of a loopback server, the query-length limit
//! and, when set, the bearer token; and the headers every answer carries.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::ApiError;
use crate::headers::{bearer, cookie_token, query_token, COOKIE_PREFIX};
use crate::MAX_QUERY_BYTES;

#[derive(Clone)]
pub(crate) struct Guard {
    token: Option<String>,
    /// The host names a request may name (lower case, without port); `None`: any.
    hosts: Option<Vec<String>>,
}

impl Guard {
    /// A server bound to loopback answers only requests addressed to loopback names (and
    /// `allowed`): a web page on another site that rebinds its own name to 127.0.0.1 (DNS
    /// rebinding) sends its own name as the Host and is refused.
    pub(crate) fn new(token: Option<String>, loopback: bool, allowed: &[String]) -> Self {
        let hosts = loopback.then(|| {
            ["localhost", "127.0.0.1", "[::1]"]
                .into_iter()
                .map(String::from)
                .chain(allowed.iter().map(|h| h.to_ascii_lowercase()))
                .collect()
        });
        Self {
            token: token.filter(|t| !t.is_empty()),
            hosts,
        }
    }

    fn host_allowed(&self, request: &Request<Body>) -> bool {
        let Some(hosts) = &self.hosts else {
            return true;
        };
        // HTTP/1.0 clients may send none; browsers, which DNS rebinding needs, always do.
        let Some(host) = request.headers().get(header::HOST) else {
            return true;
        };
        let Ok(host) = host.to_str() else {
            return false;
        };
        let name = match host.rsplit_once(':') {
            Some((name, port)) if !name.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        hosts.iter().any(|h| h.eq_ignore_ascii_case(name))
    }
}

/// Equal in time whatever the first difference, so the token cannot be guessed byte by byte.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn presented(request: &Request<Body>) -> Option<String> {
    let headers = request.headers();
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
    {
        return Some(token.to_string());
    }
    // The page's <img> and <video> requests cannot carry a header: they carry the cookie.
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(cookie_token)
        .map(str::to_string)
}

/// `?token=...` on the page's address: set the cookie and drop the token from the address bar.
fn token_in_query(request: &Request<Body>) -> Option<String> {
    query_token(request.uri().query()?).map(str::to_string)
}

pub(crate) async fn check(State(guard): State<Guard>, request: Request<Body>, next: Next) -> Response {
    if !guard.host_allowed(&request) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "this server answers only requests addressed to localhost (start it with --allow-host NAME to add a name)",
        )
        .into_response();
    }
    if request.uri().query().is_some_and(|q| q.len() > MAX_QUERY_BYTES) {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!("the query string is over {MAX_QUERY_BYTES} bytes: POST a JSON body instead"),
        )
        .into_response();
    }
    let Some(expected) = &guard.token else {
        return next.run(request).await;
    };
    if request.uri().path() == "/" {
        if let Some(given) = token_in_query(&request) {
            if same(&given, expected) {
                let mut response = Redirect::to("/").into_response();
                let cookie = format!("{COOKIE_PREFIX}{given}; HttpOnly; SameSite=Strict; Path=/");
                if let Ok(value) = cookie.parse() {
                    response.headers_mut().insert(header::SET_COOKIE, value);
                }
                return response;
            }
        }
    }
    match presented(&request) {
        Some(given) if same(&given, expected) => next.run(request).await,
        Some(_) => ApiError::new(StatusCode::UNAUTHORIZED, "wrong token").into_response(),
        None => {
            let mut response = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "this server wants a token: Authorization: Bearer TOKEN (the page: open /?token=TOKEN)",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            response
        }
    }
}

/// What every answer carries: no content sniffing (a video served as `video/mp4` is never run as
/// a script or page), and no referrer leaving with the library's paths in it.
pub(crate) async fn headers(request: Request<Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("no-referrer"));
    response
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn tokens_compare_whole() {
        assert!(same("s3cret", "s3cret"));
        assert!(!same("s3cret", "s3cres"));
        assert!(!same("s3cret", "s3cret!"));
        assert!(!same("", "x"));
    }
}
