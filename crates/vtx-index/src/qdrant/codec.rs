//! vtx's records as Qdrant points and back: point ids derived from what they hold, payload fields
//! (structured data as JSON text, which Qdrant keeps without indexing), bytes as base64.

use std::collections::HashMap;

use base64::Engine as _;
use qdrant_client::qdrant::{
    vector_output::Vector, with_payload_selector::SelectorOptions, PayloadIncludeSelector, PointId, RetrievedPoint,
    Value,
};
use qdrant_client::Payload;
use serde::de::DeserializeOwned;

use crate::{IndexError, Result};

/// A point id from its parts: a UUID cut from their BLAKE3 hash, so every machine names the same
/// record the same way.
pub(super) fn point_id(parts: &[&str]) -> PointId {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"vtx point");
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let b = hasher.finalize();
    let h = b.as_bytes();
    let hex: String = h[..16].iter().map(|x| format!("{x:02x}")).collect();
    PointId::from(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

pub(super) fn bad_json(e: serde_json::Error) -> IndexError {
    IndexError::Storage(format!("a record that does not encode: {e}"))
}

pub(super) fn to_text<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(bad_json)
}

pub(super) fn payload(value: serde_json::Value) -> Result<Payload> {
    Payload::try_from(value).map_err(|e| IndexError::Storage(format!("payload: {e}")))
}

/// Which payload fields to bring back: these, or (`None`) all.
pub(super) fn selector(fields: Option<&[&str]>) -> SelectorOptions {
    match fields {
        Some(fields) => SelectorOptions::Include(PayloadIncludeSelector {
            fields: fields.iter().map(|f| f.to_string()).collect(),
        }),
        None => SelectorOptions::Enable(true),
    }
}

pub(super) fn opt_field<T: DeserializeOwned>(payload: &HashMap<String, Value>, key: &str) -> Result<Option<T>> {
    payload
        .get(key)
        .map(|v| {
            serde_json::from_value(v.clone().into_json())
                .map_err(|e| IndexError::Storage(format!("the payload field '{key}' does not read: {e}")))
        })
        .transpose()
}

pub(super) fn field<T: DeserializeOwned>(payload: &HashMap<String, Value>, key: &str) -> Result<T> {
    opt_field(payload, key)?.ok_or_else(|| IndexError::Storage(format!("a point without its '{key}' field")))
}

/// A field that holds JSON text.
pub(super) fn json_field<T: DeserializeOwned>(payload: &HashMap<String, Value>, key: &str) -> Result<T> {
    let text: String = field(payload, key)?;
    serde_json::from_str(&text).map_err(|e| IndexError::Storage(format!("the record '{key}' does not read: {e}")))
}

/// A point's vector in one space.
pub(super) fn vector(point: &RetrievedPoint, space: &str) -> Option<Vec<f32>> {
    match point.vectors.as_ref()?.get_vector_by_name(space)? {
        Vector::Dense(dense) => Some(dense.data),
        _ => None,
    }
}

pub(super) fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(super) fn decode_base64(text: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| IndexError::Storage(format!("stored bytes that do not decode: {e}")))
}

pub(super) fn encode_floats(values: &[f32]) -> String {
    let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
    encode_base64(&bytes)
}

pub(super) fn decode_floats(text: &str) -> Result<Vec<f32>> {
    Ok(decode_base64(text)?
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("chunks of 4")))
        .collect())
}

/// Now, in microseconds since the epoch: a write's generation, so that a later write has a larger
/// one on any machine whose clock is right to within the time a write takes. Microseconds stay
/// below 2^53, so Qdrant's float ranges compare them exactly.
pub(super) fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_ids_are_uuids_that_depend_on_every_part() {
        let id = |parts: &[&str]| format!("{:?}", point_id(parts));
        assert_eq!(id(&["row", "1"]), id(&["row", "1"]));
        assert_ne!(id(&["row", "1"]), id(&["row", "2"]));
        assert_ne!(id(&["ro", "w1"]), id(&["row", "1"]));
        let PointId {
            point_id_options: Some(qdrant_client::qdrant::point_id::PointIdOptions::Uuid(uuid)),
        } = point_id(&["x"])
        else {
            panic!("not a UUID");
        };
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.matches('-').count(), 4);
    }

    #[test]
    fn floats_survive_base64() {
        let v = [0.5f32, -1.25, 3.0e-7];
        assert_eq!(decode_floats(&encode_floats(&v)).unwrap(), v);
    }
}
