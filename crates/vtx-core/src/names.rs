/// `FromStr` and `Display` for a fieldless enum from one table of names, so the CLI (clap parses
/// through `FromStr`), the HTTP API and the output all spell a value the same way:
///
/// ```
/// #[derive(Debug, PartialEq)]
/// enum Level { Video, Segment }
/// vtx_core::names!(Level, "level", { Level::Video => "video", Level::Segment => "segment" });
/// assert_eq!("segment".parse::<Level>(), Ok(Level::Segment));
/// assert_eq!(Level::Video.to_string(), "video");
/// assert_eq!("shot".parse::<Level>().unwrap_err(), "level must be video or segment, not 'shot'");
/// ```
#[macro_export]
macro_rules! names {
    ($ty:ty, $what:literal, { $($variant:path => $name:literal),+ $(,)? }) => {
        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> std::result::Result<Self, String> {
                match s {
                    $($name => Ok($variant),)+
                    other => Err(format!("{} must be {}, not '{other}'", $what, $crate::one_of(&[$($name),+]))),
                }
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(match self {
                    $($variant => $name,)+
                })
            }
        }
    };
}

/// `a`, `a or b`, `a, b or c`: the choices an error message offers.
pub fn one_of(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
