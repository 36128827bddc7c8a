//! The request headers and parameters the server reads by hand: byte ranges and tokens. Kept
//! apart from the handlers so each is a plain function of text, tested and fuzzed alone
//! (`make fuzz`).

/// One byte range (`bytes=A-B`, `bytes=A-`, `bytes=-N`) that overlaps a file of `size` bytes.
pub fn single_satisfiable_range(value: &[u8], size: u64) -> bool {
    let Some(spec) = std::str::from_utf8(value)
        .ok()
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return false;
    };
    let Some((first, last)) = spec.trim().split_once('-') else {
        return false;
    };
    // Digits only: `parse` would take a sign; an empty string fails to parse.
    let number = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    match (number(first.trim()), last.trim()) {
        (Some(start), "") => start < size,
        (Some(start), end) => number(end).is_some_and(|end| start <= end && start < size),
        (None, suffix) if first.trim().is_empty() => number(suffix).is_some_and(|n| n > 0 && size > 0),
        (None, _) => false,
    }
}

/// The token of an `Authorization: Bearer TOKEN` header (the scheme in any case, RFC 9110 11.1).
pub fn bearer(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The token the page's cookie carries (`vtx_token=...` among a `Cookie` header's pairs).
pub fn cookie_token(cookie: &str) -> Option<&str> {
    cookie
        .split(';')
        .find_map(|pair| pair.trim().strip_prefix(COOKIE_PREFIX))
}

/// The token of a `?token=...` query (how the page is first opened on a server with one).
pub fn query_token(query: &str) -> Option<&str> {
    query.split('&').find_map(|pair| pair.strip_prefix("token="))
}

/// The cookie the page's token travels in, as it starts in a `Cookie` header.
pub(crate) const COOKIE_PREFIX: &str = "vtx_token=";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_satisfiable_byte_range_is_honoured() {
        let honoured = |v: &str| single_satisfiable_range(v.as_bytes(), 1000);
        for good in [
            "bytes=0-99",
            "bytes=100-",
            "bytes=-500",
            "bytes=999-999",
            "bytes=10-5000",
            " bytes=1-2 ",
        ] {
            assert!(honoured(good), "{good}");
        }
        for ignored in [
            "bytes=0-1,5-6",
            "bytes=abc",
            "bytes=1000-",
            "bytes=5-1",
            "bytes=-0",
            "bytes=-",
            "items=0-1",
            "bytes=+1-2",
            "",
        ] {
            assert!(!honoured(ignored), "{ignored}");
        }
        assert!(
            !single_satisfiable_range(b"bytes=-5", 0),
            "nothing to send of an empty file"
        );
    }

    #[test]
    fn tokens_are_read_from_the_header_the_cookie_and_the_query() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("  bEaReR   abc  "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(cookie_token("a=1; vtx_token=xyz; b=2"), Some("xyz"));
        assert_eq!(cookie_token("a=1"), None);
        assert_eq!(query_token("x=1&token=t0k"), Some("t0k"));
        assert_eq!(query_token("tokens=1"), None);
    }
}
