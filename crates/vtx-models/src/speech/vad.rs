//! Where speech is: Silero's voice activity detector (version 6, the graph faster-whisper ships)
//! over chunks of 32 ms, and faster-whisper's rules that turn its probabilities into stretches of
//! speech. Whisper is then run only where someone speaks: stretches of music, noise or silence
//! are neither decoded nor given words that nobody said.

use std::path::Path;

use ort::session::Session;
use ort::value::Tensor;

use crate::runtime::{load_session, rt_err};
use crate::{Device, ModelError, Result, RuntimeOptions};

/// Samples a chunk (32 ms at 16 kHz), and samples of the chunk before that each chunk also sees.
const CHUNK: usize = 512;
const CONTEXT: usize = 64;
/// Chunks a run of the graph takes at most.
const BATCH: usize = 10_000;
/// faster-whisper's defaults: a chunk at 0.5 or more is speech; speech ends after 2 s under 0.35;
/// each stretch is padded by 0.4 s on both sides.
const THRESHOLD: f32 = 0.5;
const NEG_THRESHOLD: f32 = 0.35;
const MIN_SILENCE: usize = 2 * 16_000;
const PAD: usize = 16_000 * 2 / 5;
/// A stretch shorter than this (before padding) is not speech: Silero's own default, where
/// faster-whisper keeps any. The onset of the music fixture gave a stretch of 0.1 s, in which
/// tiny.en heard "you".
const MIN_SPEECH: usize = 16_000 / 4;

pub(super) struct Vad {
    session: Session,
}

impl Vad {
    pub(super) fn load(path: &Path, options: &RuntimeOptions, device: Option<Device>) -> Result<Self> {
        Ok(Self {
            session: load_session(path, options, device)?,
        })
    }

    /// The stretches of speech in 16 kHz mono `samples`, as sample ranges in order.
    pub(super) fn speech(&mut self, samples: &[f32]) -> Result<Vec<(usize, usize)>> {
        let probabilities = self.probabilities(samples)?;
        Ok(stretches(&probabilities, samples.len()))
    }

    /// The probability of speech in each chunk.
    fn probabilities(&mut self, samples: &[f32]) -> Result<Vec<f32>> {
        let chunks = samples.len() / CHUNK + 1;
        let chunk = |i: usize| -> Vec<f32> {
            let mut out = vec![0f32; CHUNK];
            let from = (i * CHUNK).min(samples.len());
            let to = ((i + 1) * CHUNK).min(samples.len());
            out[..to - from].copy_from_slice(&samples[from..to]);
            out
        };
        let names: Vec<String> = self.session.outputs().iter().map(|o| o.name().to_string()).collect();
        let [probability, h_out, c_out] = &names[..] else {
            return Err(ModelError::Manifest(format!(
                "the voice activity graph gives {names:?}, not a probability and two states"
            )));
        };
        let mut state = (vec![0f32; 128], vec![0f32; 128]);
        let mut out = Vec::with_capacity(chunks);
        let mut previous = vec![0f32; CHUNK];
        for first in (0..chunks).step_by(BATCH) {
            let n = BATCH.min(chunks - first);
            let mut rows = Vec::with_capacity(n * (CONTEXT + CHUNK));
            for i in first..first + n {
                let current = chunk(i);
                rows.extend_from_slice(&previous[CHUNK - CONTEXT..]);
                rows.extend_from_slice(&current);
                previous = current;
            }
            let input = Tensor::from_array(([n, CONTEXT + CHUNK], rows)).map_err(rt_err)?;
            let h = Tensor::from_array(([1usize, 1, 128], state.0.clone())).map_err(rt_err)?;
            let c = Tensor::from_array(([1usize, 1, 128], state.1.clone())).map_err(rt_err)?;
            let outputs = self
                .session
                .run(ort::inputs!["input" => input, "h" => h, "c" => c])
                .map_err(rt_err)?;
            let take = |name: &str| -> Result<Vec<f32>> {
                Ok(outputs[name].try_extract_tensor::<f32>().map_err(rt_err)?.1.to_vec())
            };
            let probabilities = take(probability)?;
            if probabilities.len() != n {
                return Err(ModelError::Runtime(format!(
                    "the voice activity graph gave {} probabilities for {n} chunks",
                    probabilities.len()
                )));
            }
            out.extend(probabilities);
            state = (take(h_out)?, take(c_out)?);
        }
        Ok(out)
    }
}

/// faster-whisper's `get_speech_timestamps` without a longest stretch: speech starts at a chunk
/// of [`THRESHOLD`] or more and ends once [`MIN_SILENCE`] has passed under [`NEG_THRESHOLD`];
/// stretches shorter than [`MIN_SPEECH`] are dropped, and the others padded by [`PAD`], or
/// meeting halfway where the silence between them is shorter than two pads.
fn stretches(probabilities: &[f32], samples: usize) -> Vec<(usize, usize)> {
    let mut found: Vec<(usize, usize)> = Vec::new();
    let mut start: Option<usize> = None;
    let mut silent_since: Option<usize> = None;
    for (i, &p) in probabilities.iter().enumerate() {
        let at = i * CHUNK;
        if p >= THRESHOLD {
            silent_since = None;
            start.get_or_insert(at);
            continue;
        }
        let Some(from) = start else {
            continue;
        };
        if p < NEG_THRESHOLD {
            let since = *silent_since.get_or_insert(at);
            if at - since >= MIN_SILENCE {
                if since - from >= MIN_SPEECH {
                    found.push((from, since));
                }
                start = None;
                silent_since = None;
            }
        }
    }
    if let Some(from) = start.filter(|&from| samples - from >= MIN_SPEECH) {
        found.push((from, samples));
    }
    let count = found.len();
    for i in 0..count {
        if i == 0 {
            found[0].0 = found[0].0.saturating_sub(PAD);
        }
        if i + 1 < count {
            let gap = found[i + 1].0.saturating_sub(found[i].1);
            let (widen, next) = if gap < 2 * PAD { (gap / 2, gap / 2) } else { (PAD, PAD) };
            found[i].1 = (found[i].1 + widen).min(samples);
            found[i + 1].0 = found[i + 1].0.saturating_sub(next);
        } else {
            found[i].1 = (found[i].1 + PAD).min(samples);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_runs_on_through_short_silences_and_is_padded() {
        // 16 kHz: 31.25 chunks a second. Speech for 1 s from chunk 100, a pause of 0.5 s, 1 s
        // more; then 4 s of silence, and speech from chunk 500 to the end.
        let mut p = vec![0.0f32; 600];
        for i in (100..131).chain(147..178).chain(500..600) {
            p[i] = 0.9;
        }
        let found = stretches(&p, 600 * CHUNK);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].0, 100 * CHUNK - PAD);
        assert_eq!(found[0].1, 178 * CHUNK + PAD);
        assert_eq!(found[1], (500 * CHUNK - PAD, 600 * CHUNK));
        // Between the thresholds, speech goes on once started, and does not start.
        let mut doubt = vec![0.4f32; 200];
        doubt[50] = 0.9;
        let found = stretches(&doubt, 200 * CHUNK);
        assert_eq!(found, [(50 * CHUNK - PAD, 200 * CHUNK)]);
        assert!(stretches(&[0.4; 200], 200 * CHUNK).is_empty());
        // A blip of 64 ms is not speech.
        let mut blip = vec![0.0f32; 300];
        blip[10] = 0.9;
        blip[11] = 0.9;
        assert!(stretches(&blip, 300 * CHUNK).is_empty());
    }
}
