//! What the two finders of words in videos share, the text reader (what is written) and the
//! speech model (what is said): each stores what it finds as the catalog's text of its source,
//! replaced per video, read back for `vtx text` and `vtx transcript`, and looked for in every
//! video of an indexing run that has none from it yet.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use vtx_index::{TextSource, VideoRecord, VideoText};

use crate::passes::{after_indexing, Heard, Pass};
use crate::{Engine, FileOutcome, IndexObserver, Result};

/// A loaded model that finds words of one source in a video.
pub trait FindsText {
    /// What it reports of one video.
    type Found;
    const SOURCE: TextSource;
    /// What it is doing, for progress: "reading the text of".
    const DOING: &'static str;
    /// The model's name, which the catalog keeps with what it found.
    fn model(&self) -> &str;
    /// Find the words of `video`; `progress` hears how far it has got (seconds, and the length
    /// the file claims) and may stop it, which gives `None`.
    fn find(&mut self, video: &Path, progress: &mut Heard<'_>) -> Result<Option<Self::Found>>;
    /// As the catalog keeps it.
    fn to_stored(found: &Self::Found) -> VideoText;
    /// What the catalog holds for the indexed video at `path`, of length `duration`.
    fn from_stored(path: &str, duration: f64, stored: &VideoText) -> Self::Found;
    /// How much it found (lines, phrases), for the indexing summary.
    fn count(found: &Self::Found) -> usize;
    /// Store what was found in an indexed video, replacing what an earlier run found: its text,
    /// and whatever else a finder keeps with it, in one write.
    fn store(&mut self, engine: &Engine, video: &VideoRecord, found: &Self::Found) -> Result<()> {
        engine.store.set_text(video.id, &Self::to_stored(found))?;
        Ok(())
    }
}

impl Engine {
    /// Find the words of an indexed video with `finder` and store them, replacing what an earlier
    /// run found of that source: what keyword search then finds. Stopped by `progress`, it stores
    /// nothing and gives `None`.
    pub fn find_text<F: FindsText>(
        &self,
        video: &VideoRecord,
        finder: &mut F,
        progress: &mut dyn FnMut(f64, Option<f64>) -> ControlFlow<()>,
    ) -> Result<Option<F::Found>> {
        let Some(found) = finder.find(&video.meta.file(), progress)? else {
            return Ok(None);
        };
        finder.store(self, video, &found)?;
        Ok(Some(found))
    }

    /// What `F`'s pass stored for the indexed video at `path`, or `None` if it never ran on it.
    pub fn stored_found<F: FindsText>(&self, path: &Path) -> Result<Option<F::Found>> {
        let video = self.video_at(path)?;
        self.found_of::<F>(&video)
    }

    /// What `F`'s pass stored for the indexed video `video_id` (`None` if it never ran on it, or
    /// there is no such video).
    pub fn video_found<F: FindsText>(&self, video_id: i64) -> Result<Option<F::Found>> {
        match self.video(video_id)? {
            Some(video) => self.found_of::<F>(&video),
            None => Ok(None),
        }
    }

    fn found_of<F: FindsText>(&self, video: &VideoRecord) -> Result<Option<F::Found>> {
        Ok(self
            .store
            .text(video.id, F::SOURCE)?
            .map(|stored| F::from_stored(&video.meta.path, video.meta.duration, &stored)))
    }

    /// `finder`'s pass over the videos of an indexing run that have nothing from its model yet,
    /// but for those already in `found` (heard or read in their own decode): what it finds
    /// goes into `found` too.
    pub(crate) fn find_text_in_the_rest<F: FindsText>(
        &self,
        files: &[(PathBuf, FileOutcome)],
        found: &mut Vec<(PathBuf, std::result::Result<usize, String>)>,
        finder: &mut F,
        observer: &mut dyn IndexObserver,
        cancel: &AtomicBool,
    ) -> Result<()> {
        let tried: HashSet<&PathBuf> = found.iter().map(|(path, _)| path).collect();
        let mut pass = TextPass { engine: self, finder };
        let more = after_indexing(&*self.store, files, &tried, &mut pass, observer, cancel)?;
        found.extend(more);
        Ok(())
    }
}

struct TextPass<'a, F> {
    engine: &'a Engine,
    finder: &'a mut F,
}

impl<F: FindsText> Pass for TextPass<'_, F> {
    fn doing(&self) -> &'static str {
        F::DOING
    }

    fn lacks(&mut self, video: &VideoRecord) -> Result<bool> {
        let stored = self.engine.store.text(video.id, F::SOURCE)?;
        Ok(stored.is_none_or(|t| t.reader != self.finder.model()))
    }

    fn run(&mut self, video: &VideoRecord, heard: &mut Heard<'_>) -> Result<Option<usize>> {
        Ok(self.engine.find_text(video, self.finder, heard)?.as_ref().map(F::count))
    }
}
