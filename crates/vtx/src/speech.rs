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

impl crate::found_text::FindsText for Transcriber {
    type Found = Transcript;
    const SOURCE: vtx_index::TextSource = vtx_index::TextSource::Speech;
    const DOING: &'static str = "transcribing";

    fn model(&self) -> &str {
        &self.name
    }

    fn find(&mut self, video: &Path, progress: &mut crate::passes::Heard<'_>) -> Result<Option<Transcript>> {
        self.run(video, progress)
    }

    /// Each phrase a line of text from the sound, its score the mean probability of its tokens.
    fn to_stored(found: &Transcript) -> vtx_index::VideoText {
        vtx_index::VideoText {
            source: vtx_index::TextSource::Speech,
            reader: found.model.clone(),
            fps: 0.0,
            frames: 0,
            lines: found
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

    fn from_stored(path: &str, duration: f64, stored: &vtx_index::VideoText) -> Transcript {
        Transcript {
            video: path.to_string(),
            model: stored.reader.clone(),
            has_audio: true,
            duration,
            phrases: stored
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

    fn count(found: &Transcript) -> usize {
        found.phrases.len()
    }
}

impl crate::Engine {
    /// A speech model loaded from this engine's models.
    pub fn transcriber(&self, model: &str) -> Result<Transcriber> {
        Transcriber::new(&self.registry, model)
    }
}
