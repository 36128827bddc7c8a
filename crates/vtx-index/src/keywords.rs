//! Keyword queries as data: the words and quoted phrases a user typed, and how a full-text index
//! reads them.

use crate::{IndexError, Result};

/// The marks either side of a matched word in a snippet (`**budget** meeting`).
pub const HIGHLIGHT: (&str, &str) = ("**", "**");

/// A keyword query: a line matches if it holds every phrase, word for word in order, and, when
/// there are loose words, at least one of them; the more and rarer the words it holds, the
/// higher it ranks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keywords {
    /// Each a run of words that must appear together, in order (what was between double quotes).
    pub phrases: Vec<Vec<String>>,
    pub words: Vec<String>,
}

impl Keywords {
    /// Words are runs of letters and digits; punctuation separates them and matches nothing, and
    /// an unclosed quote runs to the end. An error when no word is left.
    pub fn parse(query: &str) -> Result<Self> {
        let mut phrases = Vec::new();
        let mut words = Vec::new();
        for (i, part) in query.split('"').enumerate() {
            let found = tokens(part);
            if i % 2 == 1 {
                if !found.is_empty() {
                    phrases.push(found);
                }
            } else {
                words.extend(found);
            }
        }
        if phrases.is_empty() && words.is_empty() {
            return Err(IndexError::Query(format!(
                "'{query}' has no words to look for (letters or digits)"
            )));
        }
        Ok(Self { phrases, words })
    }

    /// As an FTS5 query: every word a quoted string, so that nothing a user types is read as an
    /// operator.
    pub fn to_fts5(&self) -> String {
        let quote = |words: &[String]| format!("\"{}\"", words.join(" "));
        let mut all: Vec<String> = self.phrases.iter().map(|p| quote(p)).collect();
        if !self.words.is_empty() {
            let any: Vec<String> = self.words.iter().map(|w| quote(std::slice::from_ref(w))).collect();
            all.push(format!("({})", any.join(" OR ")));
        }
        all.join(" AND ")
    }
}

/// A text's words, lowercased, as keyword search reads them.
pub(crate) fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_are_required_and_words_alternatives() {
        let k = Keywords::parse(r#"budget "Q3 results" noon!"#).unwrap();
        assert_eq!(k.phrases, vec![vec!["q3".to_string(), "results".to_string()]]);
        assert_eq!(k.words, ["budget", "noon"]);
        assert_eq!(k.to_fts5(), r#""q3 results" AND ("budget" OR "noon")"#);
        assert_eq!(Keywords::parse("one").unwrap().to_fts5(), r#"("one")"#);
    }

    #[test]
    fn operators_and_punctuation_are_only_separators() {
        let k = Keywords::parse(r#"NEAR(a* OR "b"#).unwrap();
        assert_eq!(k.words, ["near", "a", "or"]);
        assert_eq!(k.phrases, vec![vec!["b".to_string()]]);
        assert!(Keywords::parse(r#" "" ?! "#).is_err());
    }
}
