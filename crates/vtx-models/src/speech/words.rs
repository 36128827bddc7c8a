//! Word timings, as Whisper finds them: the decoder's alignment heads attend, for each token, to
//! the stretch of sound it stands for. Their attention over the prompt and a window's tokens,
//! normalised across the tokens and smoothed along the sound, is warped onto the sound's frames
//! by dynamic time warping; the frame where a token's row of the path begins is when it is said.

use serde::{Deserialize, Serialize};

/// Encoder frames a second (each 20 ms).
pub(super) const FRAMES_PER_SECOND: f64 = 50.0;
/// The width of the median filter along the frames (Whisper's).
const MEDIAN_WIDTH: usize = 7;
/// Languages written without spaces between words: each character (each complete piece of the
/// tokens) is a word of its own there.
const BY_CHARACTER: &[&str] = &["zh", "ja", "th", "lo", "my", "yue"];

/// One word heard, with its time (seconds from the start of the samples).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub start: f64,
    pub end: f64,
    pub text: String,
}

/// The alignment heads' cross-attention of one decoder run: `[heads, tokens, frames]`, each row
/// a softmax over all of a window's frames.
pub(super) struct Attention {
    pub heads: usize,
    pub frames: usize,
    pub weights: Vec<f32>,
}

/// The (start, end) in seconds of each text token of a run over `tokens` tokens: the `prompt`,
/// the no-timestamps token, the text, and the end token, of which the first `heard` frames hold
/// sound.
pub(super) fn token_times(attention: &Attention, tokens: usize, prompt: usize, heard: usize) -> Vec<(f64, f64)> {
    let frames = heard.clamp(1, attention.frames);
    let text = tokens.saturating_sub(prompt + 2);
    if attention.heads == 0 || text == 0 || attention.weights.len() < attention.heads * tokens * attention.frames {
        return Vec::new();
    }
    let mut mean = vec![vec![0f32; frames]; tokens];
    for head in 0..attention.heads {
        let mut rows: Vec<Vec<f32>> = (0..tokens)
            .map(|t| {
                let at = (head * tokens + t) * attention.frames;
                let row = &attention.weights[at..at + frames];
                let sum: f32 = row.iter().sum::<f32>().max(f32::MIN_POSITIVE);
                row.iter().map(|w| w / sum).collect()
            })
            .collect();
        standardise_columns(&mut rows);
        for (row, into) in rows.iter().zip(&mut mean) {
            for (w, m) in median_filter(row).iter().zip(into.iter_mut()) {
                *m += w / attention.heads as f32;
            }
        }
    }
    // The rows from the no-timestamps token to the last text token: row k looks for text token k.
    let cost: Vec<Vec<f32>> = mean[prompt..tokens - 1]
        .iter()
        .map(|row| row.iter().map(|w| -w).collect())
        .collect();
    let path = warp(&cost);
    let mut first = vec![None; cost.len()];
    for &(row, frame) in &path {
        first[row].get_or_insert(frame);
    }
    let begins: Vec<f64> = first
        .iter()
        .map(|f| f.unwrap_or(frames) as f64 / FRAMES_PER_SECOND)
        .collect();
    (0..text).map(|k| (begins[k], begins[k + 1].max(begins[k]))).collect()
}

/// Each column (frame) to mean 0 and spread 1 across the rows (tokens).
fn standardise_columns(rows: &mut [Vec<f32>]) {
    let n = rows.len() as f32;
    let width = rows.first().map_or(0, Vec::len);
    for f in 0..width {
        let mean = rows.iter().map(|r| r[f]).sum::<f32>() / n;
        let var = rows.iter().map(|r| (r[f] - mean).powi(2)).sum::<f32>() / n;
        let std = var.sqrt().max(1e-8);
        for row in rows.iter_mut() {
            row[f] = (row[f] - mean) / std;
        }
    }
}

/// The median over [`MEDIAN_WIDTH`] frames around each, the ends mirrored.
fn median_filter(row: &[f32]) -> Vec<f32> {
    let half = MEDIAN_WIDTH / 2;
    if row.len() <= half {
        return row.to_vec();
    }
    let mirrored = |i: isize| -> f32 {
        let n = row.len() as isize;
        let j = if i < 0 {
            -i
        } else if i >= n {
            2 * (n - 1) - i
        } else {
            i
        };
        row[j.clamp(0, n - 1) as usize]
    };
    (0..row.len() as isize)
        .map(|i| {
            let mut window: Vec<f32> = (i - half as isize..=i + half as isize).map(mirrored).collect();
            window.sort_by(f32::total_cmp);
            window[half]
        })
        .collect()
}

/// The cheapest monotonic path through `cost` from its first cell to its last, moving down, right
/// or both at each step: (row, column) pairs in order.
fn warp(cost: &[Vec<f32>]) -> Vec<(usize, usize)> {
    let (rows, cols) = (cost.len(), cost.first().map_or(0, Vec::len));
    if rows == 0 || cols == 0 {
        return Vec::new();
    }
    let mut total = vec![vec![f32::INFINITY; cols + 1]; rows + 1];
    // 0: diagonal, 1: from the row above, 2: from the column before.
    let mut came = vec![vec![0u8; cols + 1]; rows + 1];
    total[0][0] = 0.0;
    for j in 1..=cols {
        for i in 1..=rows {
            let (diagonal, up, left) = (total[i - 1][j - 1], total[i - 1][j], total[i][j - 1]);
            let (best, from) = if diagonal < up && diagonal < left {
                (diagonal, 0)
            } else if up < diagonal && up < left {
                (up, 1)
            } else {
                (left, 2)
            };
            total[i][j] = cost[i - 1][j - 1] + best;
            came[i][j] = from;
        }
    }
    let (mut i, mut j) = (rows, cols);
    let mut path = Vec::with_capacity(rows + cols);
    while i > 0 || j > 0 {
        path.push((i.saturating_sub(1), j.saturating_sub(1)));
        let from = match (i, j) {
            (0, _) => 2,
            (_, 0) => 1,
            _ => came[i][j],
        };
        match from {
            0 => (i, j) = (i - 1, j - 1),
            1 => i -= 1,
            _ => j -= 1,
        }
    }
    path.reverse();
    path
}

/// The words of `tokens` (text tokens, each with its time): a word starts at each piece that
/// begins with a space, or at every piece in a language written without them. Pieces are runs
/// of tokens that decode to whole characters. Punctuation joins the word before it without
/// moving its end: the comma's row of the path often spans the pause after the word.
pub(super) fn words(
    tokenizer: &tokenizers::Tokenizer,
    tokens: &[u32],
    times: &[(f64, f64)],
    language: Option<&str>,
) -> Vec<Word> {
    let by_character = language.is_some_and(|l| BY_CHARACTER.contains(&l));
    let mut words: Vec<(String, f64, f64)> = Vec::new();
    let mut from = 0;
    for to in 1..=tokens.len().min(times.len()) {
        let piece = tokenizer.decode(&tokens[from..to], true).unwrap_or_default();
        if piece.contains('\u{FFFD}') && to < tokens.len() {
            continue;
        }
        let (start, end) = (times[from].0, times[to - 1].1);
        let punctuation = piece
            .chars()
            .all(|c| c.is_ascii_punctuation() || "。，！？：、”".contains(c));
        match words.last_mut() {
            Some(word) if punctuation => word.0.push_str(&piece),
            Some(word) if !by_character && !piece.starts_with(' ') => {
                word.0.push_str(&piece);
                word.2 = end;
            }
            _ => words.push((piece, start, end)),
        }
        from = to;
    }
    words
        .into_iter()
        .filter_map(|(text, start, end)| {
            let text = text.trim();
            (!text.is_empty()).then(|| Word {
                start,
                end,
                text: text.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_follows_the_cheap_diagonal_and_covers_every_row() {
        // Three tokens over six frames: each token cheapest on two frames of its own.
        let cost: Vec<Vec<f32>> = (0..3)
            .map(|r| (0..6).map(|c| if c / 2 == r { -1.0 } else { 1.0 }).collect())
            .collect();
        let path = warp(&cost);
        assert_eq!(path.first(), Some(&(0, 0)));
        assert_eq!(path.last(), Some(&(2, 5)));
        assert_eq!(path, [(0, 0), (0, 1), (1, 2), (1, 3), (2, 4), (2, 5)]);
    }

    #[test]
    fn the_median_filter_removes_a_spike_and_keeps_a_step() {
        let spike = [0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0, 0.0];
        assert!(median_filter(&spike).iter().all(|&v| v == 0.0));
        let step = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        assert_eq!(median_filter(&step), step);
    }

    #[test]
    fn tokens_take_the_frames_their_heads_attend_to() {
        // The prompt (one token), the no-timestamps token, two text tokens and the end. Each row
        // attends to the sound of the token after it, as Whisper's alignment heads do: the
        // no-timestamps row to frames 10-19 (the first word), the first word's row to 30-39.
        let (tokens, frames) = (5, 50);
        let mut weights = vec![0.001f32; tokens * frames];
        for (row, span) in [(1, 10..20), (2, 30..40), (3, 45..50)] {
            for f in span {
                weights[row * frames + f] = 1.0;
            }
        }
        let attention = Attention {
            heads: 1,
            frames,
            weights,
        };
        let times = token_times(&attention, tokens, 1, 50);
        eprintln!("{times:?}");
        assert_eq!(times.len(), 2);
        let ((a0, a1), (b0, b1)) = (times[0], times[1]);
        // The path starts at the first frame: the first token's start is the phrase's to set.
        assert_eq!(a0, 0.0);
        assert!((0.38..=0.62).contains(&a1) && a1 == b0, "{times:?}");
        assert!((0.78..=0.92).contains(&b1), "{times:?}");
        // Only the frames with sound count.
        let short = token_times(&attention, tokens, 1, 25);
        assert!(short.iter().all(|&(s, e)| s <= e && e <= 0.5), "{short:?}");
    }
}
