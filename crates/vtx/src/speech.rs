//! What is said in a video: its audio track decoded to 16 kHz mono and transcribed by a speech
//! model into timed phrases.

use std::ops::ControlFlow;
use std::path::Path;

use serde::Serialize;
use vtx_models::{ModelKind, OnnxSpeech, Phrase, Registry};

use crate::{EngineError, Result};

/// The speech model used unless another is named: multilingual, so that speech in any language
/// is heard as itself (an English-only model hears French as English nonsense), and on
/// espeak-ng's English more accurate than tiny.en, for about twice tiny.en's time
/// (docs/performance.md).
pub const DEFAULT_SPEECH_MODEL: &str = "whisper-base";
/// The vector space of what is said in each segment, so that a query finds its paraphrases.
pub const SPEECH_SPACE: &str = "speech";
/// The sentence encoder that writes it (the offline pack's, MiniLM).
pub const SPEECH_TEXT_MODEL: &str = "minilm-l6-v2";

/// Which speech model transcribes, and as which language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeechOptions {
    pub model: String,
    /// An ISO 639-1 code, or `None` for the language the model hears (a multilingual model).
    pub language: Option<String>,
}

impl SpeechOptions {
    /// `model`, in the language it hears.
    pub fn model(model: &str) -> Self {
        Self {
            model: model.into(),
            language: None,
        }
    }
}

/// What was said in one video.
#[derive(Debug, Clone, Serialize)]
pub struct Transcript {
    pub video: String,
    pub model: String,
    /// The language of what was said (ISO 639-1), where anything was.
    pub language: Option<String>,
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
    /// Load the speech model, set to its language.
    pub fn new(models: &Registry, options: &SpeechOptions) -> Result<Self> {
        let manifest = models.get(&options.model)?;
        if manifest.kind != ModelKind::Speech {
            return Err(EngineError::Input(format!(
                "'{}' is not a speech model (kind \"speech\"); `vtx models list` shows the installed models",
                manifest.name
            )));
        }
        let mut model = OnnxSpeech::load(&manifest, models.options())?;
        model.set_language(options.language.as_deref())?;
        Ok(Self {
            model,
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
        let Some(heard) = self.model.transcribe(samples, &mut |t| progress(t, Some(duration)))? else {
            return Ok(None);
        };
        Ok(Some(Transcript {
            video: crate::path_to_text(video).into_owned(),
            model: self.name.clone(),
            language: heard.language,
            has_audio: audio.is_some(),
            duration,
            phrases: heard.phrases,
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
            frames: if found.has_audio {
                found.duration.ceil().max(1.0) as u32
            } else {
                0
            },
            language: found.language.clone(),
            lines: found
                .phrases
                .iter()
                .map(|p| vtx_index::TextSpan {
                    start: p.start,
                    end: p.end,
                    text: p.text.clone(),
                    score: p.logprob.exp(),
                    bbox: [0.0; 4],
                    words: p
                        .words
                        .iter()
                        .map(|w| vtx_index::TimedWord {
                            start: w.start,
                            end: w.end,
                            text: w.text.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn from_stored(path: &str, duration: f64, stored: &vtx_index::VideoText) -> Transcript {
        Transcript {
            video: path.to_string(),
            model: stored.reader.clone(),
            language: stored.language.clone(),
            has_audio: stored.frames > 0,
            duration,
            phrases: stored
                .lines
                .iter()
                .map(|l| Phrase {
                    start: l.start,
                    end: l.end,
                    text: l.text.clone(),
                    logprob: l.score.max(f32::MIN_POSITIVE).ln(),
                    words: l
                        .words
                        .iter()
                        .map(|w| vtx_models::Word {
                            start: w.start,
                            end: w.end,
                            text: w.text.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn count(found: &Transcript) -> usize {
        found.phrases.len()
    }

    /// Each segment's words, embedded by the sentence encoder into the `speech` space: a segment
    /// where nothing is said has no vector there.
    fn store_more(&mut self, engine: &crate::Engine, video: &vtx_index::VideoRecord, found: &Transcript) -> Result<()> {
        let segments = engine.store.segments(video.id)?;
        let said: Vec<String> = segments
            .iter()
            .map(|s| {
                let words: Vec<&str> = found
                    .phrases
                    .iter()
                    .filter(|p| p.start < s.end && p.end > s.start)
                    .map(|p| p.text.as_str())
                    .collect();
                words.join(" ")
            })
            .collect();
        let texts: Vec<&str> = said.iter().map(String::as_str).filter(|t| !t.is_empty()).collect();
        let mut embedded = engine.embed_texts(SPEECH_TEXT_MODEL, &texts)?.into_iter();
        let vectors: Vec<Option<Vec<f32>>> = said
            .iter()
            .map(|t| if t.is_empty() { None } else { embedded.next() })
            .collect();
        let Some(dim) = vectors.iter().flatten().map(Vec::len).next() else {
            return Ok(());
        };
        engine.store.ensure_space(&vtx_index::Space {
            name: SPEECH_SPACE.into(),
            dim,
            model: SPEECH_TEXT_MODEL.into(),
        })?;
        let video_vector = vtx_core::mean_unit(vectors.iter().flatten().map(Vec::as_slice));
        let mut writer = engine.store.extend_video(video.id, &[SPEECH_SPACE.to_string()])?;
        writer.put_vectors(&vtx_index::SpaceVectors {
            space: SPEECH_SPACE.into(),
            segments: vectors,
            video: video_vector,
        })?;
        writer.commit(&video.meta)?;
        Ok(())
    }
}

impl crate::Engine {
    /// A speech model loaded from this engine's models.
    pub fn transcriber(&self, options: &SpeechOptions) -> Result<Transcriber> {
        Transcriber::new(&self.registry, options)
    }
}
