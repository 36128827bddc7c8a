//! What the server reads of a request by hand: a `Range` header against a file size, and the
//! token in `Authorization`, `Cookie` and the query.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vtx_server::headers::{bearer, cookie_token, query_token, single_satisfiable_range};

fuzz_target!(|input: (u64, &[u8])| {
    let (size, value) = input;
    let honoured = single_satisfiable_range(value, size);
    assert!(!honoured || size > 0, "a range of an empty file is never satisfiable");
    if let Ok(text) = std::str::from_utf8(value) {
        if let Some(token) = bearer(text) {
            assert!(text.len() > token.len());
        }
        let _ = cookie_token(text);
        let _ = query_token(text);
    }
});
