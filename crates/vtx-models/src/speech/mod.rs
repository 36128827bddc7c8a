//! Speech models described by a `[speech]` manifest section: 16 kHz mono samples to timed text.
//!
//! A Whisper-family model as two graphs (`scripts/convert_whisper_ct2.py` writes them): the
//! encoder takes 30 s of samples (the log-mel spectrogram is computed inside it) and gives each
//! decoder layer's cross-attention keys and values; the decoder takes one step at a time with a
//! self-attention cache. vtx decodes greedily with Whisper's timestamp rules, window after window,
//! each window starting where the last complete phrase of the one before ended. A multilingual
//! model is told the language, or names it itself on the first window with speech (the language
//! token it ranks first after the start token), and every later window keeps it.

mod vad;
mod words;

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use ort::session::Session;
use ort::value::{DynValue, Tensor};
use serde::{Deserialize, Serialize};

use crate::manifest::{Manifest, SpeechSpec};
use crate::runtime::{load_session, rt_err};
use crate::{io_err, ModelError, Result, RuntimeOptions};
pub use words::Word;

/// Samples a second the graphs take.
pub const SAMPLE_RATE: usize = 16_000;
/// Samples in one window (30 s).
const WINDOW: usize = 30 * SAMPLE_RATE;
/// Seconds a timestamp token stands for.
const TIMESTAMP_STEP: f64 = 0.02;
/// The first timestamp may be no later than this many steps (1 s).
const MAX_INITIAL_TIMESTAMP: usize = 50;
/// Tokens decoded in one window at most (half the decoder's 448 positions, as Whisper does).
const MAX_TOKENS: usize = 224;
/// Tokens decoded between two questions whether to go on: about a tenth of a second with base.
const TOKENS_BETWEEN_CHECKS: usize = 16;
/// A window whose first step gives "no speech" at least this probability, and whose text has a
/// mean log-probability under [`LOW_LOGPROB`], is silence (or noise): Whisper's own thresholds.
const NO_SPEECH: f32 = 0.6;
const LOW_LOGPROB: f32 = -1.0;
/// Sound quieter than this (RMS over 20 ms, full scale 1) is silence: -60 dBFS, under the noise
/// floor of a recording made in a room. A phrase with no louder moment is dropped (Whisper hears
/// "you" in digital silence), and each phrase's span is trimmed to its first and last moment
/// louder than this or a twentieth of its loudest, whichever is higher: Whisper's timestamps
/// often open a phrase at the silence before it.
const SILENCE: f32 = 1e-3;
const FRAME: usize = SAMPLE_RATE / 50;

/// One phrase heard, with its time (seconds from the start of the samples).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phrase {
    pub start: f64,
    pub end: f64,
    pub text: String,
    /// The mean log-probability of its tokens (0 is certain).
    pub logprob: f32,
    /// Its words with their times, within the phrase's (where the model gives alignments).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
}

/// What was heard in one window: its phrases (seconds into it), how many samples they account
/// for, and the language it was decoded as.
struct WindowHeard {
    phrases: Vec<Phrase>,
    consumed: usize,
    language: Option<String>,
}

/// What was heard in a run of samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    /// In time order.
    pub phrases: Vec<Phrase>,
    /// The language it was transcribed as: the one asked for, or the one the model named on the
    /// first window with speech (`None` when nothing was said). English-only models say `en`.
    pub language: Option<String>,
}

/// The decoding's special tokens, as `generation.json` beside the graphs gives them.
#[derive(Debug, Clone, Deserialize)]
struct Generation {
    start: u32,
    end: u32,
    no_timestamps: u32,
    no_speech: u32,
    timestamp_begin: u32,
    english_only: bool,
    suppress: Vec<u32>,
    suppress_at_start: Vec<u32>,
    vocab: usize,
    /// A multilingual model's language tokens by code, and its "transcribe" task token.
    #[serde(default)]
    languages: BTreeMap<String, u32>,
    #[serde(default)]
    transcribe: Option<u32>,
}

pub struct OnnxSpeech {
    encoder: Session,
    decoder: Session,
    tokenizer: tokenizers::Tokenizer,
    generation: Generation,
    layers: usize,
    heads: usize,
    head_dim: usize,
    name: String,
    /// The language asked for; `None` lets a multilingual model name it.
    language: Option<String>,
    /// Whether the decoder gives its alignment heads' attention (for word timings).
    aligns: bool,
    /// Where speech is, when the manifest names a voice activity detector.
    vad: Option<vad::Vad>,
    /// Whether it is used.
    use_vad: bool,
}

impl OnnxSpeech {
    pub fn load(manifest: &Manifest, options: &RuntimeOptions) -> Result<Self> {
        let spec: SpeechSpec = manifest.section(&manifest.speech, "speech")?;
        let path = manifest.file(&spec.generation);
        let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        let generation: Generation =
            serde_json::from_str(&text).map_err(|e| ModelError::Manifest(format!("{}: {e}", path.display())))?;
        if !generation.english_only && (generation.languages.is_empty() || generation.transcribe.is_none()) {
            return Err(ModelError::Manifest(format!(
                "{}: a multilingual model's languages and transcribe token are missing (convert it again \
                 with scripts/convert_whisper_ct2.py)",
                path.display()
            )));
        }
        let encoder = load_session(&manifest.file(&spec.encoder), options, manifest.device)?;
        let decoder = load_session(&manifest.file(&spec.decoder), options, manifest.device)?;
        let tokenizer = crate::load_tokenizer(&manifest.file(&spec.tokenizer), 448)?;
        let cross: Vec<_> = decoder
            .inputs()
            .iter()
            .filter(|i| i.name().starts_with("cross_k_"))
            .collect();
        let shape = cross
            .first()
            .and_then(|i| i.dtype().tensor_shape().map(|s| s.to_vec()))
            .ok_or_else(|| ModelError::Manifest(format!("'{}': the decoder has no cross_k_0 input", manifest.name)))?;
        let (heads, head_dim) = match shape[..] {
            [1, h, _, d] if h > 0 && d > 0 => (h as usize, d as usize),
            _ => {
                return Err(ModelError::Manifest(format!(
                    "'{}': cross_k_0 has shape {shape:?}",
                    manifest.name
                )))
            }
        };
        let aligns = decoder.outputs().iter().any(|o| o.name() == "alignment");
        let vad = match &spec.vad {
            Some(file) => Some(vad::Vad::load(&manifest.file(file), options, manifest.device)?),
            None => None,
        };
        Ok(Self {
            aligns,
            vad,
            use_vad: true,
            layers: cross.len(),
            encoder,
            decoder,
            tokenizer,
            generation,
            heads,
            head_dim,
            name: manifest.name.clone(),
            language: None,
        })
    }

    /// The languages this model transcribes (ISO 639-1 codes, and a few of three letters).
    pub fn languages(&self) -> Vec<String> {
        match self.generation.english_only {
            true => vec!["en".into()],
            false => self.generation.languages.keys().cloned().collect(),
        }
    }

    /// Hear only the stretches of speech the voice activity detector finds (the default, where
    /// the manifest names one), or the whole sound.
    pub fn set_vad(&mut self, on: bool) {
        self.use_vad = on;
    }

    /// Transcribe as `language` from now on, or `None` to let the model name it.
    pub fn set_language(&mut self, language: Option<&str>) -> Result<()> {
        let Some(code) = language else {
            self.language = None;
            return Ok(());
        };
        let code = code.to_ascii_lowercase();
        if self.generation.english_only && code != "en" {
            return Err(ModelError::Input(format!(
                "'{}' hears English only; for '{code}' use a multilingual speech model (`--speech-model \
                 whisper-base`)",
                self.name
            )));
        }
        if !self.generation.english_only && !self.generation.languages.contains_key(&code) {
            return Err(ModelError::Input(format!(
                "'{}' knows no language '{code}' (it knows: {})",
                self.name,
                self.languages().join(", ")
            )));
        }
        self.language = Some(code);
        Ok(())
    }

    /// Transcribe 16 kHz mono `samples`, window after window; `progress` hears how far it has
    /// got (seconds) and may stop it, which gives `None`. With a voice activity detector, only
    /// its stretches of speech are heard: windows start at speech, and the sound between
    /// stretches is silenced.
    pub fn transcribe(
        &mut self,
        samples: &[f32],
        progress: &mut dyn FnMut(f64) -> ControlFlow<()>,
    ) -> Result<Option<Heard>> {
        let mut phrases = Vec::new();
        let mut language = match self.generation.english_only {
            true => Some("en".to_string()),
            false => self.language.clone(),
        };
        let speech = match self.vad.as_mut().filter(|_| self.use_vad) {
            Some(vad) => Some(vad.speech(samples)?),
            None => None,
        };
        let mut seek = 0usize;
        while seek < samples.len() {
            if let Some(stretches) = &speech {
                match stretches.iter().find(|&&(_, end)| end > seek) {
                    Some(&(start, _)) => seek = seek.max(start),
                    None => break,
                }
            }
            if progress(seek as f64 / SAMPLE_RATE as f64).is_break() {
                return Ok(None);
            }
            let end = (seek + WINDOW).min(samples.len());
            let mut window = vec![0f32; WINDOW];
            window[..end - seek].copy_from_slice(&samples[seek..end]);
            if let Some(stretches) = &speech {
                silence_all_but(&mut window[..end - seek], seek, stretches);
            }
            let at = seek as f64 / SAMPLE_RATE as f64;
            let going_on = &mut || progress(at).is_continue();
            let Some(WindowHeard {
                phrases: heard,
                consumed,
                language: named,
            }) = self.window(&window, end - seek, language.as_deref(), going_on)?
            else {
                return Ok(None);
            };
            if language.is_none() && !heard.is_empty() {
                language = named;
            }
            let offset = seek as f64 / SAMPLE_RATE as f64;
            phrases.extend(heard.into_iter().filter_map(|p| {
                let moved = Phrase {
                    start: p.start + offset,
                    end: p.end + offset,
                    words: p
                        .words
                        .into_iter()
                        .map(|w| Word {
                            start: w.start + offset,
                            end: w.end + offset,
                            ..w
                        })
                        .collect(),
                    ..p
                };
                to_voice(samples, moved).map(Phrase::with_words_inside)
            }));
            // A window always moves on by at least a second, so that no input loops forever.
            seek += consumed.clamp(SAMPLE_RATE, WINDOW);
        }
        if phrases.is_empty() && (self.generation.english_only || self.language.is_none()) {
            language = None;
        }
        Ok(Some(Heard { phrases, language }))
    }

    /// One window, decoded as `language` (or the one the model names); `None` when `going_on`
    /// said to stop.
    fn window(
        &mut self,
        window: &[f32],
        filled: usize,
        language: Option<&str>,
        going_on: &mut dyn FnMut() -> bool,
    ) -> Result<Option<WindowHeard>> {
        let audio = Tensor::from_array(([1usize, WINDOW], window.to_vec())).map_err(rt_err)?;
        let mut encoded = self.encoder.run(ort::inputs!["audio" => audio]).map_err(rt_err)?;
        let mut cross: Vec<(String, DynValue)> = Vec::with_capacity(2 * self.layers);
        for layer in 0..self.layers {
            for kind in ["k", "v"] {
                let name = format!("cross_{kind}_{layer}");
                let value = encoded
                    .remove(&name)
                    .ok_or_else(|| ModelError::Runtime(format!("the encoder gave no {name}")))?;
                cross.push((name, value));
            }
        }
        drop(encoded);
        let Some(decoded) = self.decode(&cross, language, going_on)? else {
            return Ok(None);
        };
        let filled_seconds = filled as f64 / SAMPLE_RATE as f64;
        if decoded.no_speech >= NO_SPEECH && decoded.logprob < LOW_LOGPROB {
            return Ok(Some(WindowHeard {
                phrases: Vec::new(),
                consumed: filled,
                language: decoded.language,
            }));
        }
        let text: Vec<u32> = decoded
            .tokens
            .iter()
            .copied()
            .filter(|&t| t < self.generation.timestamp_begin)
            .collect();
        let frames = filled.div_ceil(SAMPLE_RATE / words::FRAMES_PER_SECOND as usize);
        let times = self.token_times(&cross, &decoded.prompt, &text, frames)?;
        let (phrases, consumed) = self.phrases(&decoded, times.as_deref(), filled, filled_seconds);
        Ok(Some(WindowHeard {
            phrases,
            consumed,
            language: decoded.language,
        }))
    }

    /// Greedy decoding of one window. A multilingual model's prompt is the start token, then the
    /// language (asked for, or the one it ranks first after the start) and the transcribe task.
    /// `going_on` is asked every [`TOKENS_BETWEEN_CHECKS`] tokens, so that a stop does not wait
    /// for the window's end (seconds of decoding); `None` when it said to stop.
    fn decode(
        &mut self,
        cross: &[(String, DynValue)],
        language: Option<&str>,
        going_on: &mut dyn FnMut() -> bool,
    ) -> Result<Option<Decoded>> {
        let mut past = self.empty_cache()?;
        let mut prompt = vec![self.generation.start];
        let mut fresh = prompt.clone();
        let mut out: Vec<u32> = Vec::new();
        let (mut sum, mut no_speech) = (0f32, 0f32);
        let mut position = 0usize;
        let mut prompted = self.generation.english_only;
        let mut named = None;
        while out.len() < MAX_TOKENS {
            if out.len().is_multiple_of(TOKENS_BETWEEN_CHECKS) && !going_on() {
                return Ok(None);
            }
            let step = self.step(&fresh, position, past, cross)?;
            past = step.cache;
            let mut logits = step.logits;
            if position == 0 {
                no_speech = softmax_at(&logits, self.generation.no_speech as usize);
            }
            position += fresh.len();
            if !prompted {
                let (code, token) = self.language_token(&logits, language);
                named = Some(code);
                fresh = vec![token, self.generation.transcribe.unwrap_or(self.generation.start)];
                prompt.extend(&fresh);
                prompted = true;
                continue;
            }
            self.apply_rules(&mut logits, &out);
            let next = argmax(&logits);
            sum += log_softmax_at(&logits, next);
            if next as u32 == self.generation.end {
                break;
            }
            out.push(next as u32);
            fresh = vec![next as u32];
        }
        let logprob = if out.is_empty() {
            0.0
        } else {
            sum / (out.len() + 1) as f32
        };
        Ok(Some(Decoded {
            prompt,
            tokens: out,
            logprob,
            no_speech,
            language: named.or_else(|| self.generation.english_only.then(|| "en".to_string())),
        }))
    }

    /// A self-attention cache with nothing in it.
    fn empty_cache(&self) -> Result<Vec<(String, DynValue)>> {
        let mut past = Vec::with_capacity(2 * self.layers);
        for layer in 0..self.layers {
            for kind in ["k", "v"] {
                let empty = Tensor::from_array(([1usize, self.heads, 0, self.head_dim], Vec::<f32>::new()));
                past.push((format!("past_{kind}_{layer}"), empty.map_err(rt_err)?.into_dyn()));
            }
        }
        Ok(past)
    }

    /// One run of the decoder over `fresh` tokens at `position`, after the `past` ones.
    fn step(
        &mut self,
        fresh: &[u32],
        position: usize,
        mut past: Vec<(String, DynValue)>,
        cross: &[(String, DynValue)],
    ) -> Result<Step> {
        let n = fresh.len();
        let mut mask = vec![0f32; n * (position + n)];
        for i in 0..n {
            for j in position + i + 1..position + n {
                mask[i * (position + n) + j] = -1e9;
            }
        }
        let mut inputs: Vec<(String, ort::session::SessionInputValue<'_>)> = vec![
            (
                "tokens".into(),
                Tensor::from_array(([1usize, n], fresh.iter().map(|&t| i64::from(t)).collect::<Vec<_>>()))
                    .map_err(rt_err)?
                    .into(),
            ),
            (
                "positions".into(),
                Tensor::from_array(([n], (position..position + n).map(|p| p as i64).collect::<Vec<_>>()))
                    .map_err(rt_err)?
                    .into(),
            ),
            (
                "mask".into(),
                Tensor::from_array(([n, position + n], mask)).map_err(rt_err)?.into(),
            ),
        ];
        inputs.extend(past.drain(..).map(|(name, value)| (name, value.into())));
        inputs.extend(cross.iter().map(|(name, value)| (name.clone(), value.into())));
        let mut outputs = self.decoder.run(inputs).map_err(rt_err)?;
        for layer in 0..self.layers {
            for kind in ["k", "v"] {
                let value = outputs
                    .remove(format!("present_{kind}_{layer}"))
                    .ok_or_else(|| ModelError::Runtime("the decoder gave no self-attention cache".into()))?;
                past.push((format!("past_{kind}_{layer}"), value));
            }
        }
        let logits = outputs["logits"]
            .try_extract_tensor::<f32>()
            .map_err(rt_err)?
            .1
            .to_vec();
        if logits.len() != self.generation.vocab {
            return Err(ModelError::Runtime(format!(
                "the decoder gave {} logits, expected {}",
                logits.len(),
                self.generation.vocab
            )));
        }
        let alignment = match outputs.get("alignment") {
            Some(value) => {
                let (shape, weights) = value.try_extract_tensor::<f32>().map_err(rt_err)?;
                Some(words::Attention {
                    heads: shape[1] as usize,
                    frames: shape[3] as usize,
                    weights: weights.to_vec(),
                })
            }
            None => None,
        };
        Ok(Step {
            logits,
            cache: past,
            alignment,
        })
    }

    /// When each of a window's text tokens is said (seconds into it, start and end), from the
    /// cross-attention of the alignment heads over the prompt and the tokens in one run, warped
    /// onto the first `frames` encoder frames (Whisper's word timings); `None` when the decoder
    /// graph gives no alignment.
    fn token_times(
        &mut self,
        cross: &[(String, DynValue)],
        prompt: &[u32],
        text: &[u32],
        frames: usize,
    ) -> Result<Option<Vec<(f64, f64)>>> {
        if text.is_empty() || !self.aligns {
            return Ok(None);
        }
        let mut all = prompt.to_vec();
        all.push(self.generation.no_timestamps);
        all.extend(text);
        all.push(self.generation.end);
        let step = self.step(&all, 0, self.empty_cache()?, cross)?;
        Ok(step
            .alignment
            .map(|attention| words::token_times(&attention, all.len(), prompt.len(), frames)))
    }

    /// The language to decode as, with its token: the one asked for, or else the language token
    /// the model ranks first after the start token.
    fn language_token(&self, logits: &[f32], asked: Option<&str>) -> (String, u32) {
        let languages = &self.generation.languages;
        if let Some((code, &token)) = asked.and_then(|code| languages.get_key_value(code)) {
            return (code.clone(), token);
        }
        languages
            .iter()
            .max_by(|a, b| logits[*a.1 as usize].total_cmp(&logits[*b.1 as usize]))
            .map(|(code, &token)| (code.clone(), token))
            .unwrap_or_else(|| ("en".into(), self.generation.start))
    }

    /// Whisper's rules for what may come next: no special tokens but the end and timestamps; the
    /// first token a timestamp within the first second; timestamps in pairs around each phrase,
    /// never going back; and a timestamp whenever all timestamps together are likelier than any
    /// one text token.
    fn apply_rules(&self, logits: &mut [f32], out: &[u32]) {
        let g = &self.generation;
        let (begin, end) = (g.timestamp_begin as usize, g.end as usize);
        logits[g.no_timestamps as usize] = f32::NEG_INFINITY;
        for &t in &g.suppress {
            logits[t as usize] = f32::NEG_INFINITY;
        }
        if out.is_empty() {
            for &t in &g.suppress_at_start {
                logits[t as usize] = f32::NEG_INFINITY;
            }
            logits[..begin].fill(f32::NEG_INFINITY);
            logits[begin + MAX_INITIAL_TIMESTAMP + 1..].fill(f32::NEG_INFINITY);
            return;
        }
        let is_time = |t: u32| t as usize >= begin;
        let last = is_time(out[out.len() - 1]);
        let before_last = out.len() < 2 || is_time(out[out.len() - 2]);
        if last {
            if before_last {
                logits[begin..].fill(f32::NEG_INFINITY);
            } else {
                logits[..end].fill(f32::NEG_INFINITY);
            }
        }
        if let Some(&latest) = out.iter().rev().find(|&&t| is_time(t)) {
            let from = if last && !before_last { latest } else { latest + 1 } as usize;
            let from = from.min(logits.len());
            logits[begin..from].fill(f32::NEG_INFINITY);
        }
        let total = log_sum_exp(logits);
        let times = log_sum_exp(&logits[begin..]) - total;
        let best_text = logits[..begin].iter().copied().fold(f32::NEG_INFINITY, f32::max) - total;
        if times > best_text {
            logits[..begin].fill(f32::NEG_INFINITY);
        }
    }

    /// The phrases of a window's tokens (seconds into it) and the samples they account for: up to
    /// the last complete phrase's end, or the whole window when it ended on a phrase's end.
    fn phrases(
        &self,
        decoded: &Decoded,
        times: Option<&[(f64, f64)]>,
        filled: usize,
        filled_seconds: f64,
    ) -> (Vec<Phrase>, usize) {
        let (tokens, logprob) = (&decoded.tokens[..], decoded.logprob);
        let begin = self.generation.timestamp_begin;
        // The words of the text tokens from `from` on (`text` of them), where there are times.
        let mut spoken = 0usize;
        let mut words_of = |text: &[u32]| -> Vec<Word> {
            let from = spoken;
            spoken += text.len();
            match times.and_then(|t| t.get(from..spoken)) {
                Some(times) => words::words(&self.tokenizer, text, times, decoded.language.as_deref()),
                None => Vec::new(),
            }
        };
        let time = |t: u32| f64::from(t - begin) * TIMESTAMP_STEP;
        let mut phrases = Vec::new();
        let mut open: Option<f64> = None;
        let mut text: Vec<u32> = Vec::new();
        let mut last_end = None;
        for &t in tokens {
            if t < begin {
                text.push(t);
                continue;
            }
            match open.take() {
                None => open = Some(time(t)),
                Some(start) => {
                    let said = self.tokenizer.decode(&text, true).unwrap_or_default();
                    let said = said.trim();
                    let words = words_of(&text);
                    if !said.is_empty() {
                        phrases.push(Phrase {
                            start,
                            end: time(t).min(filled_seconds).max(start),
                            text: said.to_string(),
                            logprob,
                            words,
                        });
                    }
                    text.clear();
                    last_end = Some(time(t));
                }
            }
        }
        // Text after an opening timestamp and no closing one runs to the end of what was heard.
        let tail = self.tokenizer.decode(&text, true).unwrap_or_default();
        if let (Some(start), false) = (open, tail.trim().is_empty()) {
            phrases.push(Phrase {
                start,
                end: filled_seconds.max(start),
                text: tail.trim().to_string(),
                logprob,
                words: words_of(&text),
            });
            return (phrases, filled);
        }
        // Ending on a phrase's closing timestamp, the window is done; ending on an opening one (a
        // phrase cut off by the window's end), the next window starts where the last complete
        // phrase ended. A last, shorter window is always done.
        let n = tokens.len();
        let closed_at_the_end = n >= 2 && tokens[n - 1] >= begin && tokens[n - 2] < begin;
        let consumed = match last_end {
            Some(end) if !closed_at_the_end && filled == WINDOW && end > 0.0 => (end * SAMPLE_RATE as f64) as usize,
            _ => filled,
        };
        (phrases, consumed)
    }
}

/// A first or last word reaching this far past its phrase's span is cut back to it.
const WORD_OVERHANG: f64 = 0.5;

impl Phrase {
    /// Its span and its words made to agree. The phrase starts where its sound does
    /// ([`to_voice`]), and its first word no earlier: the warping path starts at the window's
    /// first frame, so a first word can reach back into the silence before the phrase (Whisper's
    /// own rule, moving the phrase's start to a first word less than half a second early, put two
    /// of the three espeak-ng sentences 0.3 s early). A first word left shorter than 20 ms gets a
    /// typical word's length. The last word reaching more than [`WORD_OVERHANG`] past the end is
    /// cut back to it; a nearer one moves the phrase's end to it.
    fn with_words_inside(mut self) -> Self {
        let mut lengths: Vec<f64> = self
            .words
            .iter()
            .map(|w| w.end - w.start)
            .filter(|&d| d > 0.0)
            .collect();
        lengths.sort_by(f64::total_cmp);
        let typical = lengths.get(lengths.len() / 2).copied().unwrap_or(0.7).min(0.7);
        let (start, end) = (self.start, self.end);
        let second = self.words.get(1).map_or(end, |w| w.start);
        if let Some(first) = self.words.first_mut() {
            first.start = first.start.max(start);
            if first.end < first.start + 0.02 {
                first.end = (first.start + typical).min(second.max(first.start));
            }
        }
        if let Some(last) = self.words.last_mut() {
            if end > last.start && end + WORD_OVERHANG < last.end {
                last.end = end.max(last.start);
            } else {
                self.end = last.end;
            }
        }
        self
    }
}

/// One window's greedy decoding.
struct Decoded {
    /// The start token, and a multilingual model's language and task.
    prompt: Vec<u32>,
    tokens: Vec<u32>,
    /// The mean log-probability of the tokens.
    logprob: f32,
    /// The probability of "no speech" right after the start token.
    no_speech: f32,
    language: Option<String>,
}

/// What one run of the decoder gives.
struct Step {
    /// For the token after the last one given.
    logits: Vec<f32>,
    cache: Vec<(String, DynValue)>,
    alignment: Option<words::Attention>,
}

/// Zero the samples of `window` (which starts at sample `from`) outside the `stretches`.
fn silence_all_but(window: &mut [f32], from: usize, stretches: &[(usize, usize)]) {
    let mut kept = vec![false; window.len()];
    for &(start, end) in stretches {
        let (start, end) = (start.max(from), end.min(from + window.len()));
        if start < end {
            kept[start - from..end - from].fill(true);
        }
    }
    for (sample, keep) in window.iter_mut().zip(kept) {
        if !keep {
            *sample = 0.0;
        }
    }
}

/// `phrase` with its span trimmed to where it is loud enough to be speech, or `None` if it never
/// is (see [`SILENCE`]).
fn to_voice(samples: &[f32], phrase: Phrase) -> Option<Phrase> {
    let at = |t: f64| ((t * SAMPLE_RATE as f64) as usize).min(samples.len());
    let (from, to) = (at(phrase.start), at(phrase.end));
    let loudness: Vec<f32> = samples[from..to.max(from)]
        .chunks(FRAME)
        .map(|f| (f.iter().map(|x| x * x).sum::<f32>() / f.len() as f32).sqrt())
        .collect();
    let peak = loudness.iter().copied().fold(0.0, f32::max);
    if peak < SILENCE {
        return None;
    }
    let floor = SILENCE.max(peak / 20.0);
    let first = loudness.iter().position(|&l| l >= floor)?;
    let last = loudness.iter().rposition(|&l| l >= floor)?;
    let frame = FRAME as f64 / SAMPLE_RATE as f64;
    let start = from as f64 / SAMPLE_RATE as f64;
    Some(Phrase {
        start: start + first as f64 * frame,
        end: (start + (last + 1) as f64 * frame).min(phrase.end),
        ..phrase
    })
}

fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold(
            (0, f32::NEG_INFINITY),
            |best, (i, &v)| if v > best.1 { (i, v) } else { best },
        )
        .0
}

fn log_sum_exp(values: &[f32]) -> f32 {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return max;
    }
    max + values.iter().map(|v| (v - max).exp()).sum::<f32>().ln()
}

fn log_softmax_at(values: &[f32], i: usize) -> f32 {
    values[i] - log_sum_exp(values)
}

fn softmax_at(values: &[f32], i: usize) -> f32 {
    log_softmax_at(values, i).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_word_reaching_into_the_silence_starts_with_the_phrase() {
        let word = |start: f64, end: f64, text: &str| Word {
            start,
            end,
            text: text.into(),
        };
        let phrase = Phrase {
            start: 7.0,
            end: 9.0,
            text: "please bring it".into(),
            logprob: -0.2,
            words: vec![word(0.0, 7.3, "please"), word(7.3, 7.6, "bring"), word(7.6, 8.8, "it")],
        }
        .with_words_inside();
        assert_eq!(phrase.words[0], word(7.0, 7.3, "please"));
        // The last word ends within half a second of the phrase: the phrase ends with it.
        assert_eq!((phrase.start, phrase.end), (7.0, 8.8));
        // A first word that ends before the phrase starts gets a typical length.
        let early = Phrase {
            words: vec![word(6.0, 6.5, "please"), word(7.3, 7.6, "bring")],
            ..phrase.clone()
        }
        .with_words_inside();
        assert_eq!(early.words[0], word(7.0, 7.3, "please"));
        // A last word running far past the phrase is cut back.
        let long = Phrase {
            end: 9.0,
            words: vec![word(7.0, 7.4, "please"), word(8.5, 12.0, "bring")],
            ..phrase
        }
        .with_words_inside();
        assert_eq!(long.words[1].end, 9.0);
    }

    #[test]
    fn log_sum_exp_is_stable_and_ignores_what_is_ruled_out() {
        let v = [1000.0, 1000.0, f32::NEG_INFINITY];
        assert!((log_sum_exp(&v) - (1000.0 + 2f32.ln())).abs() < 1e-3);
        assert!((softmax_at(&v, 0) - 0.5).abs() < 1e-4);
        assert_eq!(argmax(&[0.1, 3.0, -1.0]), 1);
    }

    #[test]
    fn a_phrase_keeps_to_its_voice_and_one_in_silence_is_dropped() {
        // 1 s of silence, 1 s of a tone, 1 s of silence.
        let mut samples = vec![0f32; 3 * SAMPLE_RATE];
        for (i, s) in samples[SAMPLE_RATE..2 * SAMPLE_RATE].iter_mut().enumerate() {
            *s = 0.3 * (i as f32 * 0.05).sin();
        }
        let phrase = |start: f64, end: f64| Phrase {
            start,
            end,
            text: "hello".into(),
            logprob: -0.2,
            words: Vec::new(),
        };
        let kept = to_voice(&samples, phrase(0.0, 2.6)).unwrap();
        assert!(
            (kept.start - 1.0).abs() < 0.021 && (kept.end - 2.0).abs() < 0.021,
            "{kept:?}"
        );
        assert_eq!(to_voice(&samples, phrase(2.1, 3.0)), None);
    }
}
