//! The few lines of NumPy's `.npy` format that a projection matrix needs: little-endian float32,
//! C order.

use std::path::Path;

use crate::{ModelError, Result};

/// Shape and values of a float32 `.npy` file.
pub fn read_f32(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::Missing(format!("{}: {e}", path.display())))?;
    parse_f32(&bytes).map_err(|why| ModelError::Manifest(format!("{}: {why}", path.display())))
}

/// Shape and values of the bytes of a float32 `.npy` file; the error says what is wrong with them.
pub fn parse_f32(bytes: &[u8]) -> std::result::Result<(Vec<usize>, Vec<f32>), String> {
    let bad = |why: &str| why.to_string();
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("not a .npy file"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Err(bad("truncated header")),
    };
    let header = bytes
        .get(start..start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad("truncated header"))?;
    if !header.contains("'descr': '<f4'") {
        return Err(bad("only little-endian float32 ('<f4') arrays are read"));
    }
    if header.contains("'fortran_order': True") {
        return Err(bad("Fortran-order arrays are not read; save with C order"));
    }
    let shape_text = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("no shape in header"))?;
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad("bad shape")))
        .collect::<std::result::Result<_, _>>()?;
    let data = &bytes[start + header_len..];
    // A shape can claim more values than memory holds: its size is checked, not trusted.
    let expected = shape
        .iter()
        .try_fold(4usize, |bytes, &d| bytes.checked_mul(d))
        .ok_or_else(|| bad("the shape is too large"))?;
    if data.len() != expected {
        return Err(bad("data length does not match the shape"));
    }
    let values = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok((shape, values))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_a_version_1_matrix() {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        let padded = format!("{header:<117}\n");
        bytes.extend((padded.len() as u16).to_le_bytes());
        bytes.extend(padded.as_bytes());
        for x in [1f32, 2.0, 3.0, 4.0, 5.0, 6.0] {
            bytes.extend(x.to_le_bytes());
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.npy");
        std::fs::write(&path, &bytes).unwrap();
        let (shape, values) = super::read_f32(&path).unwrap();
        assert_eq!(shape, [2, 3]);
        assert_eq!(values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
        assert!(super::read_f32(&path).is_err());
    }

    #[test]
    fn a_shape_larger_than_memory_is_refused_not_multiplied_over() {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 8), }";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        assert_eq!(super::parse_f32(&bytes).unwrap_err(), "the shape is too large");
    }
}
