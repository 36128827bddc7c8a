//! What is said in a video: its audio track decoded to 16 kHz mono and transcribed by a speech
//! model into timed phrases.

use std::ops::ControlFlow;
use std::path::Path;

use serde::Serialize;
use vtx_models::{ModelKind, OnnxSpeech, Phrase, Registry};

use crate::{EngineError, Result};

/// The speech model `make setup` installs.
pub const DEFAULT_SPEECH_MODEL: &str = "whisper-tiny-en";

/// What was said in one video.
#[derive(Debug, Clone, Serialize)]
pub struct Transcript {
    pub video: String,
    pub model: String,
    /// Whether the file has an audio stream at all.
    pub has_audio: bool,
    /// Seconds of audio heard.
    pub duration: f64,
    /// In time order.
    pub phrases: Vec<Phrase>,
}

/// A loaded speech model, for the videos of a run one after another.
pub struct Transcriber {
    model: OnnxSpeech,
    name: String,
}

impl Transcriber {
    /// Load the speech model `name`.
    pub fn new(models: &Registry, name: &str) -> Result<Self> {
        let manifest = models.get(name)?;
        if manifest.kind != ModelKind::Speech {
            return Err(EngineError::Input(format!(
                "'{}' is not a speech model (kind \"speech\"); `vtx models list` shows the installed models",
                manifest.name
            )));
        }
        Ok(Self {
            model: OnnxSpeech::load(&manifest, models.options())?,
            name: manifest.name,
        })
    }

    pub fn model(&self) -> &str {
        &self.name
    }

    /// Transcribe the audio of `video` (a video or a sound file); `progress` hears how far it has
    /// got (seconds, and the audio's length) and may stop it, which gives `None`. A file without
    /// sound has an empty transcript that says so.
    pub fn run(
        &mut self,
        video: &Path,
        progress: &mut dyn FnMut(f64, Option<f64>) -> ControlFlow<()>,
    ) -> Result<Option<Transcript>> {
        let audio = vtx_media::decode_audio(video)?;
        let samples = audio.as_deref().unwrap_or_default();
        let duration = samples.len() as f64 / f64::from(vtx_media::SPEECH_RATE);
        let Some(phrases) = self.model.transcribe(samples, &mut |t| progress(t, Some(duration)))? else {
            return Ok(None);
        };
        Ok(Some(Transcript {
            video: crate::path_to_text(video).into_owned(),
            model: self.name.clone(),
            has_audio: audio.is_some(),
            duration,
            phrases,
        }))
    }
}

impl Transcript {
    /// As the catalog keeps it: each phrase a line of text from the sound, its score the mean
    /// probability of its tokens.
    pub(crate) fn to_stored(&self) -> vtx_index::VideoText {
        vtx_index::VideoText {
            source: vtx_index::TextSource::Speech,
            reader: self.model.clone(),
            fps: 0.0,
            frames: 0,
            lines: self
                .phrases
                .iter()
                .map(|p| vtx_index::TextSpan {
                    start: p.start,
                    end: p.end,
                    text: p.text.clone(),
                    score: p.logprob.exp(),
                    bbox: [0.0; 4],
                })
                .collect(),
        }
    }

    fn from_stored(path: &str, duration: f64, text: &vtx_index::VideoText) -> Self {
        Self {
            video: path.to_string(),
            model: text.reader.clone(),
            has_audio: true,
            duration,
            phrases: text
                .lines
                .iter()
                .map(|l| Phrase {
                    start: l.start,
                    end: l.end,
                    text: l.text.clone(),
                    logprob: l.score.max(f32::MIN_POSITIVE).ln(),
                })
                .collect(),
        }
    }
}

impl crate::Engine {
    /// A speech model loaded from this engine's models.
    pub fn transcriber(&self, model: &str) -> Result<Transcriber> {
        Transcriber::new(&self.registry, model)
    }

    /// Transcribe an indexed video and store its phrases, replacing what an earlier run heard:
    /// what keyword search finds of what is said. Stopped by `progress`, it stores nothing and
    /// gives `None`.
    pub fn transcribe(
        &self,
        video: &vtx_index::VideoRecord,
        transcriber: &mut Transcriber,
        progress: &mut dyn FnMut(f64, Option<f64>) -> ControlFlow<()>,
    ) -> Result<Option<Transcript>> {
        let Some(heard) = transcriber.run(&video.meta.file(), progress)? else {
            return Ok(None);
        };
        self.store.set_text(video.id, &heard.to_stored())?;
        Ok(Some(heard))
    }

    /// What `index --speech` stored for the indexed video at `path`, or `None` if no speech model
    /// has run on it.
    pub fn stored_transcript(&self, path: &Path) -> Result<Option<Transcript>> {
        let video = self.video_at(path)?;
        self.transcript_of(&video)
    }

    /// What `index --speech` stored for the indexed video `video_id` (`None` if no speech model has
    /// run on it, or there is no such video).
    pub fn video_transcript(&self, video_id: i64) -> Result<Option<Transcript>> {
        match self.video(video_id)? {
            Some(video) => self.transcript_of(&video),
            None => Ok(None),
        }
    }

    fn transcript_of(&self, video: &vtx_index::VideoRecord) -> Result<Option<Transcript>> {
        Ok(self
            .store
            .text(video.id, vtx_index::TextSource::Speech)?
            .map(|text| Transcript::from_stored(&video.meta.path, video.meta.duration, &text)))
    }

    /// Transcripts for the videos of an indexing run that have none from `transcriber`'s model.
    pub(crate) fn speech_after_indexing(
        &self,
        files: &[(std::path::PathBuf, crate::FileOutcome)],
        transcriber: &mut Transcriber,
        observer: &mut dyn crate::IndexObserver,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<Vec<(std::path::PathBuf, std::result::Result<usize, String>)>> {
        let mut pass = SpeechPass {
            engine: self,
            name: transcriber.model().to_string(),
            transcriber,
        };
        crate::passes::after_indexing(&*self.store, files, &Default::default(), &mut pass, observer, cancel)
    }
}

/// Transcripts for the indexed videos that have none from this model.
struct SpeechPass<'a> {
    engine: &'a crate::Engine,
    transcriber: &'a mut Transcriber,
    name: String,
}

impl crate::passes::Pass for SpeechPass<'_> {
    fn doing(&self) -> &'static str {
        "transcribing"
    }

    fn lacks(&mut self, video: &vtx_index::VideoRecord) -> Result<bool> {
        let stored = self.engine.store.text(video.id, vtx_index::TextSource::Speech)?;
        Ok(stored.is_none_or(|t| t.reader != self.name))
    }

    fn run(&mut self, video: &vtx_index::VideoRecord, heard: &mut crate::passes::Heard<'_>) -> Result<Option<usize>> {
        Ok(self
            .engine
            .transcribe(video, self.transcriber, heard)?
            .map(|t| t.phrases.len()))
    }
}
