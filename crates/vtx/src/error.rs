//! The engine's error: what failed, in words a user can act on, and of what [`ErrorKind`] (which
//! the CLI turns into an exit code and the server into an HTTP status).

pub use vtx_core::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Media(#[from] vtx_media::MediaError),
    #[error(transparent)]
    Model(#[from] vtx_models::ModelError),
    #[error(transparent)]
    Index(#[from] vtx_index::IndexError),
    /// An option out of its range; `name` is the option as the library calls it (`top`,
    /// `segment length`), so the message reads the same from the CLI, the API and Rust.
    #[error("{name} {reason}")]
    InvalidArgument { name: &'static str, reason: String },
    /// A request this index or this input cannot answer as asked (an empty query, a space that
    /// cannot embed text).
    #[error("{0}")]
    Input(String),
    /// What the request names is not there: a video, a space, a model.
    #[error("{0}")]
    NotFound(String),
    /// A sound request this index cannot answer as it stands: a space whose model cannot embed
    /// text, too few items to cluster.
    #[error("{0}")]
    Conflict(String),
    /// A bug in vtx, not in what it was given.
    #[error("internal error (a bug in vtx): {0}")]
    Internal(String),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

impl EngineError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Media(e) => e.kind(),
            Self::Model(e) => e.kind(),
            Self::Index(e) => e.kind(),
            Self::InvalidArgument { .. } | Self::Input(_) => ErrorKind::BadInput,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::Internal(_) => ErrorKind::Internal,
            Self::Io { source, .. } => ErrorKind::of_io(source),
        }
    }

    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            name,
            reason: reason.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_the_kind_of_what_went_wrong() {
        let cases: [(EngineError, ErrorKind); 9] = [
            (EngineError::invalid("top", "must be at least 1"), ErrorKind::BadInput),
            (vtx_media::MediaError::Missing.into(), ErrorKind::NotFound),
            (
                vtx_media::MediaError::StillImage("png_pipe".into()).into(),
                ErrorKind::BadInput,
            ),
            (
                vtx_models::ModelError::NotInstalled("clip".into()).into(),
                ErrorKind::NotFound,
            ),
            (vtx_index::IndexError::Busy.into(), ErrorKind::Busy),
            (vtx_index::IndexError::DiskFull.into(), ErrorKind::Unavailable),
            (
                vtx_index::IndexError::Schema("i".into(), 9, 8).into(),
                ErrorKind::Conflict,
            ),
            (EngineError::Internal("x".into()), ErrorKind::Internal),
            (
                EngineError::Io {
                    path: "f".into(),
                    source: std::io::ErrorKind::NotFound.into(),
                },
                ErrorKind::NotFound,
            ),
        ];
        for (error, kind) in cases {
            assert_eq!(error.kind(), kind, "{error}");
        }
        assert_eq!(
            EngineError::invalid("top", "must be at least 1, not 0").to_string(),
            "top must be at least 1, not 0",
            "names the option, not a CLI flag"
        );
    }
}
