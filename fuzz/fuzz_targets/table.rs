//! A `video<TAB>value` table (captions, labels for `vtx eval`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(rows) = vtx::eval::parse_table(text) {
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|(video, value)| !video.is_empty() && !value.is_empty()));
    }
});
