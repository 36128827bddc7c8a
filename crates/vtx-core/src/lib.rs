//! What every vtx layer shares and none of them owns: the vector maths of search and clustering,
//! a top-k collector, a seeded random source, a parallel map, the kinds every error falls into,
//! file paths as text that turns back into them, edit distances, and where the set-up's cache is. No
//! dependencies, so the lowest layer can use it.

mod error;
mod names;
mod par;
mod path_text;
mod process;
mod rng;
mod text;
mod top;
mod vector;

pub use error::ErrorKind;
pub use names::one_of;
pub use par::par_map;
pub use path_text::{path_to_text, text_is_under, text_to_path};
pub use process::{cache_dir, resident_mb, set_up};
pub use rng::{sample_indices, Rng};
pub use text::{character_error_rate, edit_distance};
pub use top::TopK;
pub use vector::{dot, mean_unit, normalize};
