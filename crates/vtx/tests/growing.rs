//! A file that grows while it is indexed (a recording, a copy under way) is indexed as far as it
//! was read, with a warning, and read again by the next run rather than taken as unchanged.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use vtx::{Engine, EngineConfig, FileOutcome, IndexObserver, IndexOptions};

/// Appends to the file once its first frames are encoded: the file grows mid-run.
struct Appender {
    file: PathBuf,
    appended: bool,
}

impl IndexObserver for Appender {
    fn frames_encoded(&mut self, _count: usize) {
        if !self.appended {
            let mut file = std::fs::OpenOptions::new().append(true).open(&self.file).unwrap();
            file.write_all(&[0u8; 4096]).unwrap();
            self.appended = true;
        }
    }
}

fn outcome_of(report: &vtx::IndexReport, path: &Path) -> FileOutcome {
    report
        .files
        .iter()
        .find(|(p, _)| p == path)
        .expect("the file is reported")
        .1
        .clone()
}

#[test]
fn a_file_growing_during_the_run_is_flagged_and_read_again_next_time() {
    let cache = vtx_core::cache_dir();
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("recording.mp4");
    std::fs::copy(cache.join("fixtures/photos/cat.mp4"), &clip).expect("test media: run `make setup`");
    let engine = Engine::open(EngineConfig::new(
        dir.path().join("index"),
        vtx_core::cache_dir().join("models"),
    ))
    .unwrap();
    let options = IndexOptions::default();
    let mut growing = Appender {
        file: clip.clone(),
        appended: false,
    };
    let report = engine
        .index(
            std::slice::from_ref(&clip),
            &options,
            &mut growing,
            &AtomicBool::new(false),
        )
        .unwrap();
    assert!(growing.appended);
    match outcome_of(&report, &clip) {
        FileOutcome::Indexed { warning: Some(w), .. } => assert!(w.contains("still being written"), "{w}"),
        other => panic!("indexed with a warning, not {other:?}"),
    }
    // Nothing changes now: the next run still reads it again, once, and then it is unchanged.
    let again = engine
        .index(std::slice::from_ref(&clip), &options, &mut (), &AtomicBool::new(false))
        .unwrap();
    assert!(matches!(
        outcome_of(&again, &clip),
        FileOutcome::Indexed { warning: None, .. }
    ));
    let settled = engine
        .index(std::slice::from_ref(&clip), &options, &mut (), &AtomicBool::new(false))
        .unwrap();
    assert_eq!(outcome_of(&settled, &clip), FileOutcome::Unchanged);
}
