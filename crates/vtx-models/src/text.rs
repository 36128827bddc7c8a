//! Text encoders described by a `[text]` manifest section: BERT-family sentence encoders and CLIP
//! text towers, with the pooling and projection a graph leaves to its caller.

use std::borrow::Cow;
use std::path::Path;

use ort::session::{Session, SessionInputValue};
use ort::value::Tensor;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::manifest::{Manifest, Pooling, TextSpec};
use crate::runtime::{load_session, rt_err};
use vtx_core::normalize;

use crate::{ModelError, Result, RuntimeOptions, TextEncoder};

/// Texts encoded in one session call. ONNX Runtime keeps the memory of its largest call for the
/// session's life: the 1,000 labels that name clusters in one call took a server from 33 MB to
/// 1.8 GB. In batches of 64 the cost is the same and the memory a few MB.
const TEXT_BATCH: usize = 64;

pub struct OnnxTextEncoder {
    session: Session,
    tokenizer: Tokenizer,
    spec: TextSpec,
    /// `[width, dim]`, row-major.
    projection: Option<(usize, Vec<f32>)>,
    dim: usize,
}

/// Read the tokenizer with the manifest's truncation and batch padding, whatever the file says:
/// some exports pad every input to a fixed length, which is wasted work when the attention mask
/// hides padding anyway.
pub fn load_tokenizer(path: &Path, max_tokens: usize) -> Result<Tokenizer> {
    let mut tokenizer =
        Tokenizer::from_file(path).map_err(|e| ModelError::Tokenizer(format!("{}: {e}", path.display())))?;
    let padding = PaddingParams {
        strategy: PaddingStrategy::BatchLongest,
        ..tokenizer.get_padding().cloned().unwrap_or_default()
    };
    tokenizer.with_padding(Some(padding));
    // The length counts the start and end tokens: the tokenizer cuts the text so that both fit,
    // which keeps the end-of-text token a CLIP tower pools on.
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: max_tokens,
            ..Default::default()
        }))
        .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
    Ok(tokenizer)
}

impl OnnxTextEncoder {
    pub fn load(manifest: &Manifest, options: &RuntimeOptions) -> Result<Self> {
        let spec = manifest.section(&manifest.text, "text")?;
        let session = load_session(&manifest.file(&spec.onnx), options, manifest.device)?;
        let tokenizer = load_tokenizer(&manifest.file(&spec.tokenizer), spec.max_tokens)?;
        let projection = match &spec.projection {
            Some(file) => {
                let (shape, data) = crate::npy::read_f32(&manifest.file(file))?;
                match shape[..] {
                    [width, dim] if dim == manifest.dim => Some((width, data)),
                    _ => {
                        return Err(ModelError::Manifest(format!(
                            "projection {file} has shape {shape:?}, expected [width, {}]",
                            manifest.dim
                        )))
                    }
                }
            }
            None => None,
        };
        Ok(Self {
            session,
            tokenizer,
            spec,
            projection,
            dim: manifest.dim,
        })
    }

    /// Run the bare session `rounds` times on `texts`, tokenised once: ONNX Runtime's own
    /// throughput on this graph, the ceiling for [`TextEncoder::encode`].
    pub fn run_raw(&mut self, texts: &[&str], rounds: usize) -> Result<()> {
        let (shape, ids, mask) = self.tokenize(texts)?;
        let tensors = TokenTensors::new(shape, ids, mask)?;
        for _ in 0..rounds {
            self.session.run(tensors.feed(&self.spec)).map_err(rt_err)?;
        }
        Ok(())
    }

    /// Token ids and attention mask of a batch, padded to its longest text: ([batch, seq], ids, mask).
    pub fn tokenize(&self, texts: &[&str]) -> Result<([usize; 2], Vec<i64>, Vec<i64>)> {
        let normalised: Vec<String> = texts.iter().map(|t| self.normalise(t)).collect();
        let encodings = self
            .tokenizer
            .encode_batch(normalised.iter().map(String::as_str).collect::<Vec<_>>(), true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let seq = encodings.first().map_or(0, |e| e.get_ids().len());
        let column = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Vec<i64> {
            encodings
                .iter()
                .flat_map(|e| f(e).iter().map(|&x| i64::from(x)))
                .collect()
        };
        Ok((
            [encodings.len(), seq],
            column(&|e| e.get_ids()),
            column(&|e| e.get_attention_mask()),
        ))
    }

    fn normalise(&self, text: &str) -> String {
        if self.spec.lowercase {
            text.to_lowercase()
        } else {
            text.to_string()
        }
    }

    fn project(&self, v: Vec<f32>) -> Result<Vec<f32>> {
        let Some((width, matrix)) = &self.projection else {
            return Ok(v);
        };
        if v.len() != *width {
            return Err(ModelError::Input(format!(
                "pooled width {} does not match the projection's {width} rows",
                v.len()
            )));
        }
        let mut out = vec![0f32; self.dim];
        for (x, row) in v.iter().zip(matrix.chunks_exact(self.dim)) {
            out.iter_mut().zip(row).for_each(|(o, m)| *o += x * m);
        }
        Ok(out)
    }

    /// One session call on at most [`TEXT_BATCH`] texts.
    fn encode_batch(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(vec![]);
        }
        let (shape, ids, mask) = self.tokenize(texts)?;
        let [batch, seq] = shape;
        let tensors = TokenTensors::new(shape, ids, mask.clone())?;
        let inputs = tensors.feed(&self.spec);
        let outputs = self.session.run(inputs).map_err(rt_err)?;
        let (out_shape, data) = outputs[self.spec.output.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(rt_err)?;
        let pooled = match (self.spec.pooling, &out_shape[..]) {
            (Pooling::None, [b, width]) if *b as usize == batch => {
                data.chunks_exact(*width as usize).map(<[f32]>::to_vec).collect()
            }
            (Pooling::None, shape) => {
                return Err(ModelError::Manifest(format!(
                    "output '{}' has shape {shape:?}: set text.pooling to say how tokens become one vector",
                    self.spec.output
                )))
            }
            (pooling, [b, s, width]) if *b as usize == batch && *s as usize == seq => {
                pool(pooling, data, &mask, batch, seq, *width as usize)
            }
            (_, shape) => {
                return Err(ModelError::Manifest(format!(
                    "text.pooling needs a [batch, tokens, width] output; '{}' has shape {shape:?}",
                    self.spec.output
                )))
            }
        };
        drop(outputs);
        pooled
            .into_iter()
            .map(|v| {
                let mut v = self.project(v)?;
                if v.len() != self.dim {
                    return Err(ModelError::Manifest(format!(
                        "the text model gives {}-d vectors, its manifest says dim = {}",
                        v.len(),
                        self.dim
                    )));
                }
                normalize(&mut v);
                Ok(v)
            })
            .collect()
    }
}

impl TextEncoder for OnnxTextEncoder {
    fn dim(&self) -> usize {
        self.dim
    }

    fn encode(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in texts.chunks(TEXT_BATCH) {
            vectors.extend(self.encode_batch(batch)?);
        }
        Ok(vectors)
    }
}

/// A tokenised batch as the tensors a text graph may take.
struct TokenTensors {
    ids: Tensor<i64>,
    mask: Tensor<i64>,
    /// Zeros: one segment, for BERT-style graphs that take token types.
    types: Tensor<i64>,
}

impl TokenTensors {
    fn new(shape: [usize; 2], ids: Vec<i64>, mask: Vec<i64>) -> Result<Self> {
        Ok(Self {
            ids: Tensor::from_array((shape, ids)).map_err(rt_err)?,
            mask: Tensor::from_array((shape, mask)).map_err(rt_err)?,
            types: Tensor::from_array((shape, vec![0i64; shape[0] * shape[1]])).map_err(rt_err)?,
        })
    }

    /// The inputs the manifest names, borrowed.
    fn feed(&self, spec: &TextSpec) -> Vec<(Cow<'static, str>, SessionInputValue<'_>)> {
        let mut inputs = vec![(Cow::Owned(spec.input_ids.clone()), (&self.ids).into())];
        if let Some(name) = &spec.attention_mask {
            inputs.push((Cow::Owned(name.clone()), (&self.mask).into()));
        }
        if let Some(name) = &spec.token_type_ids {
            inputs.push((Cow::Owned(name.clone()), (&self.types).into()));
        }
        inputs
    }
}

/// One vector per sequence from `[batch, seq, width]` hidden states.
fn pool(pooling: Pooling, hidden: &[f32], mask: &[i64], batch: usize, seq: usize, width: usize) -> Vec<Vec<f32>> {
    let row = |b: usize, s: usize| &hidden[(b * seq + s) * width..(b * seq + s + 1) * width];
    (0..batch)
        .map(|b| {
            let kept = || (0..seq).filter(move |&s| mask[b * seq + s] != 0);
            match pooling {
                Pooling::Mean => {
                    let mut sum = vec![0f32; width];
                    let mut n = 0f32;
                    for s in kept() {
                        n += 1.0;
                        sum.iter_mut().zip(row(b, s)).for_each(|(acc, x)| *acc += x);
                    }
                    sum.iter_mut().for_each(|x| *x /= n.max(1.0));
                    sum
                }
                Pooling::First | Pooling::None => row(b, 0).to_vec(),
                Pooling::Eos => row(b, kept().next_back().unwrap_or(0)).to_vec(),
                Pooling::Last => row(b, seq - 1).to_vec(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Two sequences of three tokens, width 2; the second has one padding token.
    const HIDDEN: [f32; 12] = [1.0, 0.0, 3.0, 0.0, 5.0, 1.0, 2.0, 2.0, 4.0, 0.0, 1000.0, 1000.0];
    const MASK: [i64; 6] = [1, 1, 1, 1, 1, 0];

    #[test]
    fn mean_ignores_masked_tokens() {
        let p = pool(Pooling::Mean, &HIDDEN, &MASK, 2, 3, 2);
        assert_eq!(p, vec![vec![3.0, 1.0 / 3.0], vec![3.0, 1.0]]);
    }

    #[test]
    fn eos_takes_the_last_kept_token_first_and_last_take_positions() {
        assert_eq!(
            pool(Pooling::Eos, &HIDDEN, &MASK, 2, 3, 2),
            vec![vec![5.0, 1.0], vec![4.0, 0.0]]
        );
        assert_eq!(
            pool(Pooling::First, &HIDDEN, &MASK, 2, 3, 2),
            vec![vec![1.0, 0.0], vec![2.0, 2.0]]
        );
        assert_eq!(
            pool(Pooling::Last, &HIDDEN, &MASK, 2, 3, 2),
            vec![vec![5.0, 1.0], vec![1000.0, 1000.0]]
        );
    }
}
