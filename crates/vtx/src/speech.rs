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
    /// Hear only where the model's voice activity detector finds speech (where it has one).
    pub vad: bool,
}

/// Embeds texts with the sentence encoder of what is said.
pub(crate) type EmbedTexts<'e> = dyn Fn(&[&str]) -> Result<Vec<Vec<f32>>> + 'e;

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
        model.set_vad(options.vad);
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

    /// The text, and each segment's words in the `speech` space, in one write.
    fn store(&mut self, engine: &crate::Engine, video: &vtx_index::VideoRecord, found: &Transcript) -> Result<()> {
        let segments = engine.store.segments(video.id)?;
        let vectors = said_in_segments(&segments, found, &|texts| engine.embed_texts(SPEECH_TEXT_MODEL, texts))?;
        // Cleared either way: what an earlier model heard goes with its text.
        engine.store.ensure_space(&engine.speech_space()?)?;
        let mut writer = engine.store.extend_video(video.id, &[SPEECH_SPACE.to_string()])?;
        if let Some(vectors) = &vectors {
            writer.put_vectors(vectors)?;
        }
        writer.set_text(&Self::to_stored(found))?;
        writer.commit(&video.meta)?;
        Ok(())
    }
}

/// Each segment's words embedded by the sentence encoder, as the `speech` space's vectors: a
/// segment where nothing is said has none there, and a video where nothing is said has no
/// vectors at all.
pub(crate) fn said_in_segments(
    segments: &[vtx_index::Segment],
    found: &Transcript,
    embed: &EmbedTexts<'_>,
) -> Result<Option<vtx_index::SpaceVectors>> {
    let said: Vec<String> = segments.iter().map(|s| said_between(found, s.start, s.end)).collect();
    let texts: Vec<&str> = said.iter().map(String::as_str).filter(|t| !t.is_empty()).collect();
    if texts.is_empty() {
        return Ok(None);
    }
    let mut embedded = embed(&texts)?.into_iter();
    let vectors: Vec<Option<Vec<f32>>> = said
        .iter()
        .map(|t| if t.is_empty() { None } else { embedded.next() })
        .collect();
    let video = vtx_core::mean_unit(vectors.iter().flatten().map(Vec::as_slice));
    Ok(Some(vtx_index::SpaceVectors {
        space: SPEECH_SPACE.into(),
        segments: vectors,
        video,
    }))
}

/// The words said from `start` to `end`: those whose middle falls in it, where the model timed
/// its words, else the phrases that overlap it. A sentence that runs half a second into the
/// next segment belongs to the one where it is said, not to both.
fn said_between(found: &Transcript, start: f64, end: f64) -> String {
    let within = |from: f64, to: f64| (start..end).contains(&((from + to) / 2.0));
    let mut words: Vec<&str> = Vec::new();
    for phrase in &found.phrases {
        if phrase.words.is_empty() {
            if phrase.start < end && phrase.end > start {
                words.push(phrase.text.trim());
            }
            continue;
        }
        words.extend(
            phrase
                .words
                .iter()
                .filter(|w| within(w.start, w.end))
                .map(|w| w.text.trim()),
        );
    }
    words.join(" ")
}

impl crate::Engine {
    /// A speech model loaded from this engine's models.
    pub fn transcriber(&self, options: &SpeechOptions) -> Result<Transcriber> {
        Transcriber::new(&self.registry, options)
    }

    /// The vector space of what is said, in the sentence encoder's dimensions.
    pub(crate) fn speech_space(&self) -> Result<vtx_index::Space> {
        Ok(vtx_index::Space {
            name: SPEECH_SPACE.into(),
            dim: self.registry.get(SPEECH_TEXT_MODEL)?.dim,
            model: SPEECH_TEXT_MODEL.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use vtx_models::{Phrase, Word};

    use super::*;

    fn transcript(phrases: Vec<Phrase>) -> Transcript {
        Transcript {
            video: "v.mp4".into(),
            model: "m".into(),
            language: Some("en".into()),
            has_audio: true,
            duration: 20.0,
            phrases,
        }
    }

    #[test]
    fn a_sentence_belongs_to_the_segment_where_its_words_are_said() {
        let text = "The orchestra will play tonight.";
        let words = text
            .split(' ')
            .enumerate()
            .map(|(i, w)| Word {
                start: 13.0 + 0.6 * i as f64,
                end: 13.5 + 0.6 * i as f64,
                text: format!(" {w}"),
            })
            .collect();
        let said = transcript(vec![Phrase {
            start: 13.0,
            end: 16.0,
            text: text.into(),
            logprob: -0.1,
            words,
        }]);
        assert_eq!(said_between(&said, 10.0, 15.5), "The orchestra will play");
        assert_eq!(said_between(&said, 15.5, 20.0), "tonight.");
        assert_eq!(said_between(&said, 0.0, 10.0), "");
        // Without word times, every segment the phrase overlaps has all of it.
        let untimed = transcript(vec![Phrase {
            words: Vec::new(),
            ..said.phrases[0].clone()
        }]);
        assert_eq!(said_between(&untimed, 15.5, 20.0), text);
        assert_eq!(said_between(&untimed, 0.0, 10.0), "");
    }
}
