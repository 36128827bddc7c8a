//! A `.npy` file (a text model's projection matrix): any bytes, read or refused.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok((shape, values)) = vtx_models::parse_npy_f32(bytes) {
        assert_eq!(shape.iter().product::<usize>(), values.len());
    }
});
