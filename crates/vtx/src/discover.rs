//! Turning the paths a user names into the list of files to index.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::{EngineError, Result};

/// File name endings taken from folders. A file named explicitly is always tried, whatever its name.
pub const VIDEO_EXTENSIONS: &[&str] = &[
    "3g2", "3gp", "asf", "avi", "divx", "dv", "f4v", "flv", "m2ts", "m2v", "m4v", "mkv", "mov", "mp4", "mpeg", "mpg",
    "mts", "mxf", "ogv", "qt", "rm", "rmvb", "ts", "vob", "webm", "wmv",
];

/// Files found, and the named paths that gave none, with the reason.
#[derive(Debug, Default)]
pub struct Discovery {
    pub files: Vec<PathBuf>,
    pub problems: Vec<(PathBuf, String)>,
}

/// An absolute form of `path` without resolving symlinks, so the index names files as the user does.
pub(crate) fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|source| EngineError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn is_video_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Walk a folder tree. Symbolic links to folders are followed once each: a link back up the tree
/// must not loop forever.
fn walk(dir: &Path, out: &mut Discovery, seen: &mut HashSet<PathBuf>) {
    if !seen.insert(dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            out.problems
                .push((dir.to_path_buf(), format!("cannot read folder: {e}")));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, out, seen);
        } else if is_video_name(&path) {
            out.files.push(path);
        }
    }
}

/// Expand files and folders (recursively) into video files, sorted and without repeats.
pub fn discover(paths: &[PathBuf]) -> Result<Discovery> {
    let mut out = Discovery::default();
    for given in paths {
        let path = absolute(given)?;
        if path.is_dir() {
            let before = out.files.len();
            walk(&path, &mut out, &mut HashSet::new());
            if out.files.len() == before {
                out.problems.push((path, "no video files in this folder".into()));
            }
        } else if path.exists() {
            out.files.push(path);
        } else if path.symlink_metadata().is_ok() {
            out.problems.push((path, "broken symbolic link".into()));
        } else {
            out.problems.push((path, "no such file or folder".into()));
        }
    }
    let mut seen = HashSet::new();
    out.files.retain(|p| seen.insert(p.clone()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_walked_for_videos_and_problems_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("b.MP4"), b"x").unwrap();
        std::fs::write(dir.path().join("a.mkv"), b"x").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        // A link back up the tree must not make the walk loop.
        std::os::unix::fs::symlink(dir.path(), sub.join("loop")).unwrap();
        let named = dir.path().join("notes.txt");
        let d = discover(&[
            dir.path().into(),
            named.clone(),
            dir.path().join("missing.mp4"),
            empty.clone(),
        ])
        .unwrap();
        assert_eq!(d.files, vec![dir.path().join("a.mkv"), sub.join("b.MP4"), named]);
        let reasons: Vec<_> = d.problems.iter().map(|(p, r)| (p.clone(), r.as_str())).collect();
        assert_eq!(
            reasons,
            vec![
                (dir.path().join("missing.mp4"), "no such file or folder"),
                (empty, "no video files in this folder")
            ]
        );
    }
}
