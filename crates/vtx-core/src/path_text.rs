//! File paths as text that turns back into the same path, for records that hold text (a catalog,
//! JSON). A path that is UTF-8 is itself. One that is not (a Latin-1 name from an old archive)
//! becomes a `file://` URL in which every byte that is not part of a UTF-8 character, and every
//! `%`, is percent-encoded: `/old/caf\xe9.mp4` is `file:///old/caf%E9.mp4`. Such text never
//! collides with a plain path, because indexed paths are absolute and so begin with `/`.

use std::borrow::Cow;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

const URL_PREFIX: &str = "file://";

/// The text that stands for `path`.
pub fn path_to_text(path: &Path) -> Cow<'_, str> {
    if let Some(text) = path.to_str() {
        if !text.starts_with(URL_PREFIX) {
            return Cow::Borrowed(text);
        }
    }
    let mut text = String::from(URL_PREFIX);
    for chunk in path.as_os_str().as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '%' => text.push_str("%25"),
                c => text.push(c),
            }
        }
        for byte in chunk.invalid() {
            text.push_str(&format!("%{byte:02X}"));
        }
    }
    Cow::Owned(text)
}

/// The path `text` stands for (the inverse of [`path_to_text`]). Text that is not of its making
/// is taken as a plain path.
pub fn text_to_path(text: &str) -> PathBuf {
    let Some(encoded) = text.strip_prefix(URL_PREFIX) else {
        return PathBuf::from(text);
    };
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut rest = encoded.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        let escaped = (first == b'%')
            .then(|| tail.get(..2))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(byte) => {
                bytes.push(byte);
                rest = &tail[2..];
            }
            None => {
                bytes.push(first);
                rest = tail;
            }
        }
    }
    PathBuf::from(OsString::from_vec(bytes))
}

/// Whether `path` lies at `root` or under it, comparing whole components, for paths kept as text.
pub fn text_is_under(text: &str, root: &Path) -> bool {
    text_to_path(text).starts_with(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(bytes: &[u8]) -> PathBuf {
        PathBuf::from(OsString::from_vec(bytes.to_vec()))
    }

    #[test]
    fn utf8_paths_are_themselves() {
        for plain in ["/a/b.mp4", "/caf\u{e9}/100%.mp4", "/x/file:/y.mp4", "relative.mp4"] {
            assert_eq!(path_to_text(Path::new(plain)), plain);
            assert_eq!(text_to_path(plain), Path::new(plain));
        }
    }

    #[test]
    fn other_names_round_trip_through_a_readable_url() {
        let latin1 = os(b"/old/caf\xe9 100%.mp4");
        let text = path_to_text(&latin1);
        assert_eq!(text, "file:///old/caf%E9 100%25.mp4");
        assert_eq!(text_to_path(&text), latin1);

        for bytes in [
            &b"/\xff"[..],
            b"/a\xc3\xa9\xff\xfe/b.mkv",
            b"/%ff\x80",
            b"/\xe2\x82",
            b"/mixed \xe9t\xc3\xa9/\n.ts",
        ] {
            let path = os(bytes);
            let text = path_to_text(&path);
            assert!(text.starts_with(URL_PREFIX), "{text}");
            assert_eq!(text_to_path(&text), path, "{text}");
        }
    }

    #[test]
    fn a_utf8_name_that_looks_like_the_url_form_is_escaped_too() {
        let odd = Path::new("file://%41");
        let text = path_to_text(odd);
        assert_eq!(text, "file://file://%2541");
        assert_eq!(text_to_path(&text), odd);
    }

    #[test]
    fn under_compares_components_of_the_decoded_path() {
        let text = path_to_text(&os(b"/music/caf\xe9.mp4")).into_owned();
        assert!(text_is_under(&text, Path::new("/music")));
        assert!(text_is_under(&text, Path::new("/music/")));
        assert!(!text_is_under(&text, Path::new("/mus")));
        assert!(text_is_under("/music/a.mp4", Path::new("/music/a.mp4")));
        assert!(!text_is_under("/musical/a.mp4", Path::new("/music")));
    }
}
