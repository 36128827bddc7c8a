//! all-MiniLM-L6-v2 (int8 ONNX): BERT WordPiece tokens in, mean-pooled sentence vectors out.

use std::path::Path;

use ort::session::Session;
use ort::value::Tensor;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::runtime::{load_session, rt_err};
use crate::{l2_normalize, ModelError, Result, RuntimeOptions, TextEncoder};

/// The sentence-transformers configuration of all-MiniLM-L6-v2 truncates at 256 word pieces.
const MAX_TOKENS: usize = 256;

pub struct MiniLm {
    session: Session,
    tokenizer: Tokenizer,
    wants_token_types: bool,
    dim: usize,
}

impl MiniLm {
    pub fn load(library: &Path, model: &Path, tokenizer: &Path, options: RuntimeOptions) -> Result<Self> {
        let session = load_session(library, model, options)?;
        let mut tokenizer = Tokenizer::from_file(tokenizer)
            .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", tokenizer.display())))?;
        // The shipped tokenizer.json pads every input to 128 tokens. Padding is harmless only when
        // pooling ignores it, so pad to the longest input of a batch and mask the rest out below.
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let wants_token_types = session.inputs().iter().any(|i| i.name() == "token_type_ids");
        Ok(Self {
            session,
            tokenizer,
            wants_token_types,
            dim: 384,
        })
    }
}

impl TextEncoder for MiniLm {
    fn dim(&self) -> usize {
        self.dim
    }

    fn encode(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(vec![]);
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let batch = encodings.len();
        let seq = encodings[0].get_ids().len();
        let column = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Vec<i64> {
            encodings
                .iter()
                .flat_map(|e| f(e).iter().map(|&x| i64::from(x)))
                .collect()
        };
        let ids = column(&|e| e.get_ids());
        let mask = column(&|e| e.get_attention_mask());
        let shape = [batch, seq];
        let mut inputs = ort::inputs![
            "input_ids" => Tensor::from_array((shape, ids)).map_err(rt_err)?,
            "attention_mask" => Tensor::from_array((shape, mask.clone())).map_err(rt_err)?,
        ];
        if self.wants_token_types {
            let types = column(&|e| e.get_type_ids());
            inputs.push((
                "token_type_ids".into(),
                Tensor::from_array((shape, types)).map_err(rt_err)?.into(),
            ));
        }
        let outputs = self.session.run(inputs).map_err(rt_err)?;
        let (out_shape, hidden) = outputs[0].try_extract_tensor::<f32>().map_err(rt_err)?;
        let dim = *out_shape
            .last()
            .ok_or_else(|| ModelError::Runtime("empty output shape".into()))? as usize;
        Ok(mean_pool(hidden, &mask, batch, seq, dim))
    }
}

/// Mean over the tokens the attention mask keeps, then L2-normalise.
fn mean_pool(hidden: &[f32], mask: &[i64], batch: usize, seq: usize, dim: usize) -> Vec<Vec<f32>> {
    (0..batch)
        .map(|b| {
            let mut sum = vec![0f32; dim];
            let mut kept = 0f32;
            for s in 0..seq {
                if mask[b * seq + s] == 0 {
                    continue;
                }
                kept += 1.0;
                let row = &hidden[(b * seq + s) * dim..(b * seq + s + 1) * dim];
                sum.iter_mut().zip(row).for_each(|(acc, x)| *acc += x);
            }
            sum.iter_mut().for_each(|x| *x /= kept.max(1.0));
            l2_normalize(&mut sum);
            sum
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::mean_pool;

    #[test]
    fn pooling_ignores_masked_tokens() {
        // One sequence of three tokens, the last one padding with a huge value that must not count.
        let hidden = [1.0, 0.0, 3.0, 0.0, 1000.0, 1000.0];
        let pooled = mean_pool(&hidden, &[1, 1, 0], 1, 3, 2);
        assert_eq!(pooled, vec![vec![1.0, 0.0]]);
    }

    #[test]
    fn pooling_averages_before_normalising() {
        let hidden = [1.0, 0.0, 0.0, 1.0];
        let pooled = mean_pool(&hidden, &[1, 1], 1, 2, 2);
        let expected = 1.0 / 2f32.sqrt();
        assert!((pooled[0][0] - expected).abs() < 1e-6 && (pooled[0][1] - expected).abs() < 1e-6);
    }
}
