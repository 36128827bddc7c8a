/// What kind of failure an error is, whatever layer it comes from: the CLI turns it into an exit
/// code and the server into an HTTP status, so each layer's error types say it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// What was asked is wrong: a bad argument or query, a file that is not a video.
    BadInput,
    /// What was named does not exist: an index, a video, a segment, a model.
    NotFound,
    /// The request clashes with the state of things: a file changed since it was indexed, a
    /// space that holds another model's vectors, an index of another version.
    Conflict,
    /// Try again later: another process is writing the index.
    Busy,
    /// A resource the work needs is not there now: the disk is full, a service cannot be reached.
    Unavailable,
    /// A bug in vtx, or a failure it cannot explain.
    Internal,
}

impl ErrorKind {
    /// A short name for logs and JSON (`bad_input`, `not_found`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadInput => "bad_input",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::Busy => "busy",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// The kind of a failed file or socket operation.
    pub fn of_io(error: &std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        match error.kind() {
            Io::NotFound => Self::NotFound,
            Io::PermissionDenied | Io::InvalidInput | Io::InvalidData | Io::UnexpectedEof => Self::BadInput,
            Io::AlreadyExists => Self::Conflict,
            Io::WouldBlock | Io::TimedOut | Io::Interrupted => Self::Busy,
            Io::StorageFull
            | Io::QuotaExceeded
            | Io::ConnectionRefused
            | Io::ConnectionReset
            | Io::ConnectionAborted
            | Io::NotConnected
            | Io::AddrNotAvailable
            | Io::BrokenPipe => Self::Unavailable,
            _ => Self::Internal,
        }
    }

    /// Every kind, for tables and tests.
    pub const ALL: [ErrorKind; 6] = [
        Self::BadInput,
        Self::NotFound,
        Self::Conflict,
        Self::Busy,
        Self::Unavailable,
        Self::Internal,
    ];
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    #[test]
    fn io_errors_have_the_kind_a_user_would_give_them() {
        let of = |kind| ErrorKind::of_io(&std::io::Error::from(kind));
        assert_eq!(of(std::io::ErrorKind::NotFound), ErrorKind::NotFound);
        assert_eq!(of(std::io::ErrorKind::PermissionDenied), ErrorKind::BadInput);
        assert_eq!(of(std::io::ErrorKind::StorageFull), ErrorKind::Unavailable);
        assert_eq!(of(std::io::ErrorKind::ConnectionRefused), ErrorKind::Unavailable);
        assert_eq!(of(std::io::ErrorKind::TimedOut), ErrorKind::Busy);
        assert_eq!(of(std::io::ErrorKind::Other), ErrorKind::Internal);
        let names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            ["bad_input", "not_found", "conflict", "busy", "unavailable", "internal"]
        );
    }
}
