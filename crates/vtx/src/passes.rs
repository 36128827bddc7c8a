//! What the passes that find things in videos (objects, on-screen text) share: a decode that
//! runs a few frames ahead of the model on a thread of its own, and the round of an indexing run's
//! videos that lack what a pass finds.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use vtx_index::VideoRecord;
use vtx_media::{FrameSize, SampleStats, Sampling};

use crate::{EngineError, FileOutcome, IndexObserver, Result};

/// Decode `video` at `sampling` into pictures of `size` on a thread of its own, `queue` frames
/// ahead of `take`, which sees each frame's time and picture in order and may stop the decode.
/// Decoding and inference overlap instead of taking turns. Whether `take` stopped it.
pub(crate) fn decode_ahead(
    video: &Path,
    sampling: Sampling,
    size: FrameSize,
    queue: usize,
    take: &mut dyn FnMut(f64, Vec<u8>) -> Result<ControlFlow<()>>,
) -> Result<(SampleStats, bool)> {
    std::thread::scope(|scope| -> Result<_> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(f64, Vec<u8>)>(queue.max(1));
        let decoding = scope.spawn(move || {
            vtx_media::sample(video, &sampling, &[size], |mut frame| {
                // A closed queue: the model has stopped (asked to, or failed).
                match tx.send((frame.t, frame.images.swap_remove(0))) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()),
                }
            })
        });
        let mut stopped = false;
        let mut failed = None;
        for (t, picture) in &rx {
            match take(t, picture) {
                Ok(ControlFlow::Continue(())) => {}
                Ok(ControlFlow::Break(())) => {
                    stopped = true;
                    break;
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        drop(rx);
        let stats = decoding
            .join()
            .map_err(|_| EngineError::Internal("the decoding thread panicked".into()))?;
        if let Some(e) = failed {
            return Err(e);
        }
        Ok((stats?, stopped))
    })
}

/// How far a pass is through a video (seconds, and the length its header claims); breaking stops
/// it.
pub(crate) type Heard<'h> = dyn FnMut(f64, Option<f64>) -> ControlFlow<()> + 'h;

/// A pass that finds something in the videos of an indexing run, one after another.
pub(crate) trait Pass {
    /// What it is doing, for progress: "finding objects in".
    fn doing(&self) -> &'static str;
    /// Whether `video` has nothing from this pass yet.
    fn lacks(&mut self, video: &VideoRecord) -> Result<bool>;
    /// Find and store what `video` holds: how much, or `None` when `heard` stopped it.
    fn run(&mut self, video: &VideoRecord, heard: &mut Heard<'_>) -> Result<Option<usize>>;
}

/// Run `pass` on each video an indexing run wrote or kept (`files`) that lacks what it finds and
/// that the run's own decodes did not already try (`tried`). The observer hears how far it is
/// through each; `cancel` stops it, the video under way keeping what it had. A failure is that
/// video's, in the list; the round goes on.
pub(crate) fn after_indexing(
    store: &dyn vtx_index::VectorStore,
    files: &[(PathBuf, FileOutcome)],
    tried: &HashSet<&PathBuf>,
    pass: &mut dyn Pass,
    observer: &mut dyn IndexObserver,
    cancel: &AtomicBool,
) -> Result<Vec<(PathBuf, std::result::Result<usize, String>)>> {
    let mut done = Vec::new();
    for (path, outcome) in files {
        // Another worker's videos get their passes from that worker.
        let not_ours = matches!(
            outcome,
            FileOutcome::OtherShare | FileOutcome::Claimed { .. } | FileOutcome::ByOtherWorker
        );
        if not_ours || matches!(outcome, FileOutcome::Failed(_) | FileOutcome::Interrupted) || tried.contains(path) {
            continue;
        }
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let Some(video) = store.video_by_path(&crate::path_to_text(path))? else {
            continue;
        };
        if !pass.lacks(&video)? {
            continue;
        }
        let doing = pass.doing();
        let mut heard = |t: f64, length: Option<f64>| {
            observer.detecting(path, doing, t, length);
            match cancel.load(Ordering::Relaxed) {
                true => ControlFlow::Break(()),
                false => ControlFlow::Continue(()),
            }
        };
        match pass.run(&video, &mut heard) {
            Ok(Some(found)) => done.push((path.clone(), Ok(found))),
            Ok(None) => break,
            Err(e) => done.push((path.clone(), Err(e.to_string()))),
        }
    }
    Ok(done)
}
