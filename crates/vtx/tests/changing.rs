//! Files that change under a run. One that grows while it is indexed (a recording, a copy under
//! way) is indexed as far as it was read, with a warning, and read again by the next run rather
//! than taken as unchanged. One deleted or replaced by a folder, before its turn or while it is
//! read, is named with a reason and leaves no record. The changes are made from the run's own
//! observer, at fixed points of the run, so the tests do not depend on timing.

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

/// When the run starts, deletes one file and puts a folder in place of another; once the first
/// frames are encoded (the first file is being read), deletes that file too.
struct Vandal {
    delete_early: PathBuf,
    folder_early: PathBuf,
    delete_while_read: PathBuf,
    struck: bool,
}

impl IndexObserver for Vandal {
    fn started(&mut self, files: usize, _bytes: u64) {
        assert_eq!(files, 4, "every file was planned before any was touched");
        std::fs::remove_file(&self.delete_early).unwrap();
        std::fs::remove_file(&self.folder_early).unwrap();
        std::fs::create_dir(&self.folder_early).unwrap();
    }

    fn frames_encoded(&mut self, _count: usize) {
        if !self.struck {
            std::fs::remove_file(&self.delete_while_read).unwrap();
            self.struck = true;
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

#[test]
fn files_deleted_or_replaced_by_a_folder_during_the_run_are_named_and_leave_no_record() {
    let cache = vtx_core::cache_dir();
    let dir = tempfile::tempdir().unwrap();
    let clip = |name: &str, source: &str| {
        let path = dir.path().join(name);
        std::fs::copy(cache.join(format!("fixtures/photos/{source}.mp4")), &path)
            .expect("test media: run `make setup`");
        path
    };
    // Indexed in name order: the first one read is the one deleted while it is read.
    let read = clip("a-deleted-while-read.mp4", "cat");
    let early = clip("b-deleted-before.mp4", "coffee");
    let folder = clip("c-folder-before.mp4", "rocket");
    let kept = clip("d-kept.mp4", "astronaut");
    let engine = Engine::open(EngineConfig::new(dir.path().join("index"), cache.join("models"))).unwrap();
    let mut vandal = Vandal {
        delete_early: early.clone(),
        folder_early: folder.clone(),
        delete_while_read: read.clone(),
        struck: false,
    };
    let files = [read.clone(), early.clone(), folder.clone(), kept.clone()];
    let report = engine
        .index(&files, &IndexOptions::default(), &mut vandal, &AtomicBool::new(false))
        .unwrap();
    assert!(vandal.struck);
    for (path, reason) in [
        (&read, "deleted while it was read"),
        (&early, "No such file"),
        (&folder, "Is a directory"),
    ] {
        match outcome_of(&report, path) {
            FileOutcome::Failed(why) => assert!(why.contains(reason), "{}: {why}", path.display()),
            other => panic!("{}: failed, not {other:?}", path.display()),
        }
    }
    assert!(matches!(outcome_of(&report, &kept), FileOutcome::Indexed { .. }));
    let indexed: Vec<String> = engine.videos().unwrap().into_iter().map(|v| v.meta.path).collect();
    assert_eq!(indexed, [kept.to_string_lossy()]);
}
