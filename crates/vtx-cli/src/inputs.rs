//! Files the user gives as input: queries, texts, and `video<TAB>value` tables (captions, labels).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

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
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let Some((video, value)) = line.split_once('\t').filter(|(_, v)| !v.trim().is_empty()) else {
            bail!("{}:{}: expected video<TAB>{what}", file.display(), n + 1);
        };
        rows.push((PathBuf::from(video.trim()), value.trim().to_string()));
    }
    if rows.is_empty() {
        bail!("{} holds no video<TAB>{what} lines", file.display());
    }
    Ok(rows)
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
