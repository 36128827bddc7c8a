//! Moving an index between stores (`vtx export`: a directory into a cluster; `vtx import`: back):
//! every video with its vectors, thumbnails, tags, objects and text, no video decoded again.

use crate::{open_store, EngineConfig, Result};
use vtx_index::transfer::{already_copied, copy_spaces, copy_video};

/// What a copy did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CopyReport {
    pub copied: usize,
    /// Videos the target already held as they are (a copy that was interrupted goes on).
    pub already_there: usize,
    /// Videos that could not be copied, with why; the others were.
    pub failed: Vec<(String, String)>,
}

/// Copy every video of the index `from` names into the one `to` names (created if need be), each
/// all or nothing; `progress` hears (videos done, videos in all, the path of the one done).
pub fn copy_index(
    from: &EngineConfig,
    to: &EngineConfig,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<CopyReport> {
    let source = open_store(from, true)?;
    let target = open_store(to, false)?;
    copy_spaces(&*source, &*target)?;
    let videos = source.videos()?;
    let mut report = CopyReport::default();
    for (done, video) in videos.iter().enumerate() {
        if already_copied(video, &*target)? {
            report.already_there += 1;
        } else {
            match copy_video(&*source, &*target, video) {
                Ok(_) => report.copied += 1,
                // The store cannot be reached or is full: the videos after this one would fail
                // the same way, so stop with the error.
                Err(e) if e.kind() == vtx_core::ErrorKind::Unavailable => return Err(e.into()),
                Err(e) => report.failed.push((video.meta.path.clone(), e.to_string())),
            }
        }
        progress(done + 1, videos.len(), &video.meta.path);
    }
    target.optimize(&mut |_, _| {})?;
    Ok(report)
}
