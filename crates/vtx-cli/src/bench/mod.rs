//! `vtx bench` and `vtx bench-model`: measurements against the limits that bound them (FFmpeg's
//! own decode, ONNX Runtime's raw inference, exact search on the same data).

pub mod ingest;
pub mod search;
pub mod workers;
