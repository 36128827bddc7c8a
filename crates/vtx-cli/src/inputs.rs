//! Files the user gives as input: queries, texts, and `video<TAB>value` tables (captions, labels).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use vtx::eval::TableError;

/// The non-empty lines of a text file, trimmed; `what` names them in the error for a file with
/// none ("queries", "texts").
pub fn lines(file: &Path, what: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if lines.is_empty() {
        bail!("{} holds no {what}", file.display());
    }
    Ok(lines)
}

/// `video<TAB>what` lines, the video as written (relative to the current directory, as `vtx
/// index` takes paths).
pub fn table(file: &Path, what: &str) -> Result<Vec<(PathBuf, String)>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    match vtx::eval::parse_table(&text) {
        Ok(rows) => Ok(rows
            .into_iter()
            .map(|(video, value)| (PathBuf::from(video), value))
            .collect()),
        Err(TableError::Line(n)) => bail!("{}:{n}: expected video<TAB>{what}", file.display()),
        Err(TableError::Empty) => bail!("{} holds no video<TAB>{what} lines", file.display()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tables_and_lines_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("captions.tsv");
        std::fs::write(&file, "a.mp4\ta cat\n\n ./b.mp4 \t two dogs \n").unwrap();
        let rows = super::table(&file, "caption").unwrap();
        assert_eq!(rows[1], ("./b.mp4".into(), "two dogs".into()));
        std::fs::write(&file, "a.mp4 a cat\n").unwrap();
        let error = super::table(&file, "caption").unwrap_err().to_string();
        assert!(error.ends_with(":1: expected video<TAB>caption"), "{error}");
        std::fs::write(&file, "\n  \n").unwrap();
        assert!(super::lines(&file, "queries")
            .unwrap_err()
            .to_string()
            .ends_with("holds no queries"));
    }
}
