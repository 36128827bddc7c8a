//! A model manifest: any text is parsed and checked, or refused with a reason; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(manifest) = vtx_models::Manifest::parse(text, std::path::Path::new("/nonexistent")) {
        // What parses must also write back and read again as the same model.
        let again = vtx_models::Manifest::parse(&manifest.to_toml(), std::path::Path::new("/nonexistent"))
            .expect("a checked manifest reads back");
        assert_eq!(again.name, manifest.name);
        assert_eq!(again.dim, manifest.dim);
    }
});
