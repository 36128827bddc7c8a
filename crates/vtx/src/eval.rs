//! `vtx eval`: how well the index does on labelled data. Retrieval: captions against their
//! videos, both ways (R@1/5/10, median and mean rank). Clusters: a clustering of labelled videos
//! against the labels (NMI, ARI, purity).

use std::collections::{HashMap, HashSet};

use vtx_core::dot;

use crate::cluster::{agreement, Agreement, ClusterOptions, Level};
use crate::{Engine, EngineError, Result};

/// Where the right answers came in a set of ranked queries.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Ranks {
    pub queries: usize,
    /// Share of queries with the right answer first, in the top 5, in the top 10 (0-1).
    pub r1: f64,
    pub r5: f64,
    pub r10: f64,
    /// Median and mean rank of the right answer (1 = first).
    pub median_rank: f64,
    pub mean_rank: f64,
}

impl Ranks {
    /// Summarise 1-based ranks.
    pub fn of(ranks: &[usize]) -> Self {
        let n = ranks.len().max(1) as f64;
        let within = |k: usize| ranks.iter().filter(|&&r| r <= k).count() as f64 / n;
        let mut sorted = ranks.to_vec();
        sorted.sort_unstable();
        let median = match sorted.len() {
            0 => 0.0,
            len if len % 2 == 1 => sorted[len / 2] as f64,
            len => (sorted[len / 2 - 1] + sorted[len / 2]) as f64 / 2.0,
        };
        Self {
            queries: ranks.len(),
            r1: within(1),
            r5: within(5),
            r10: within(10),
            median_rank: median,
            mean_rank: ranks.iter().sum::<usize>() as f64 / n,
        }
    }
}

/// `vtx eval retrieval`: captions find their videos, videos find their captions.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RetrievalEvaluation {
    pub space: String,
    pub videos: usize,
    pub captions: usize,
    pub text_to_video: Ranks,
    pub video_to_text: Ranks,
    /// Text to video per category, for captions given one, by category name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<CategoryRanks>,
    /// The captions whose video did not come first, worst first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub misses: Vec<Miss>,
}

/// Text to video for the captions of one category.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CategoryRanks {
    pub category: String,
    #[serde(flatten)]
    pub ranks: Ranks,
}

/// A caption whose video did not come first: where it came, and what came first instead.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Miss {
    pub caption: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub video: String,
    pub rank: usize,
    pub first: String,
}

/// One line of a captions table: a video as indexed, a caption of it, and the kind of query the
/// caption is, if the table says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captioned {
    pub video: String,
    pub caption: String,
    pub category: Option<String>,
}

impl Captioned {
    /// A table row's value: the caption, then optionally a tab and its category.
    pub fn new(video: String, value: &str) -> Self {
        let (caption, category) = match value.rsplit_once('\t') {
            Some((caption, category)) if !caption.trim().is_empty() && !category.trim().is_empty() => {
                (caption.trim(), Some(category.trim().to_string()))
            }
            _ => (value.trim(), None),
        };
        Self {
            video,
            caption: caption.to_string(),
            category,
        }
    }
}

/// What is wrong with a `video<TAB>value` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableError {
    /// This line (from 1) is not `video<TAB>value`.
    Line(usize),
    /// No line is.
    Empty,
}

/// The rows of a `video<TAB>value` table (captions, labels): blank lines skipped, both sides
/// trimmed, the video as written.
pub fn parse_table(text: &str) -> std::result::Result<Vec<(String, String)>, TableError> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let Some((video, value)) = line
            .split_once('\t')
            .filter(|(v, value)| !v.trim().is_empty() && !value.trim().is_empty())
        else {
            return Err(TableError::Line(n + 1));
        };
        rows.push((video.trim().to_string(), value.trim().to_string()));
    }
    match rows.is_empty() {
        true => Err(TableError::Empty),
        false => Ok(rows),
    }
}

/// Rank of the true answers from a score matrix `scores[caption][video]` (`owner[caption]` is
/// the caption's video). A video's rank among captions is the best of its own captions' ranks
/// (it has found one when any of them comes up). Ties count against the answer.
pub fn retrieval_ranks(scores: &[Vec<f32>], owner: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let rank = |own: f32, others: &mut dyn Iterator<Item = f32>| 1 + others.filter(|&s| s >= own).count();
    let text_to_video: Vec<usize> = scores
        .iter()
        .zip(owner)
        .map(|(row, &v)| {
            rank(
                row[v],
                &mut row.iter().enumerate().filter(|(j, _)| *j != v).map(|(_, &s)| s),
            )
        })
        .collect();
    let videos = scores.first().map_or(0, Vec::len);
    let video_to_text: Vec<usize> = (0..videos)
        .filter_map(|v| {
            (0..scores.len())
                .filter(|&c| owner[c] == v)
                .map(|c| {
                    let own = scores[c][v];
                    rank(own, &mut (0..scores.len()).filter(|&o| o != c).map(|o| scores[o][v]))
                })
                .min()
        })
        .collect();
    (text_to_video, video_to_text)
}

impl Engine {
    /// Embed each caption of `captioned` in the text space and rank the listed videos for it as
    /// `search --per-video` does (a video scores its best segment), and the captions for each
    /// video by the same scores.
    pub fn evaluate_retrieval(&self, captioned: &[Captioned], space: Option<&str>) -> Result<RetrievalEvaluation> {
        let space = self.text_space(space)?;
        let mut video_ids: Vec<String> = Vec::new();
        for row in captioned {
            if !video_ids.contains(&row.video) {
                video_ids.push(row.video.clone());
            }
        }
        let by_path: HashMap<String, i64> = self.videos()?.into_iter().map(|v| (v.meta.path, v.id)).collect();
        let mut column: HashMap<i64, usize> = HashMap::new();
        for (n, path) in video_ids.iter().enumerate() {
            let id = by_path
                .get(path)
                .ok_or_else(|| EngineError::NotFound(format!("{path} is not in the index")))?;
            column.insert(*id, n);
        }
        let mut segments: Vec<Vec<Vec<f32>>> = vec![Vec::new(); video_ids.len()];
        for (segment, vector) in self.all_segment_vectors(&space.name)? {
            if let Some(&n) = column.get(&segment.video_id) {
                segments[n].push(vector);
            }
        }
        if let Some(n) = segments.iter().position(Vec::is_empty) {
            return Err(EngineError::NotFound(format!(
                "{} has no vectors in space '{}'",
                video_ids[n], space.name
            )));
        }
        let captions: Vec<&str> = captioned.iter().map(|row| row.caption.as_str()).collect();
        if let Some(i) = captions.iter().position(|c| c.trim().is_empty()) {
            return Err(EngineError::Input(format!("caption {} is empty", i + 1)));
        }
        let queries = self.embed_texts(&space.model, &captions)?;
        let scores: Vec<Vec<f32>> = queries
            .iter()
            .map(|q| {
                segments
                    .iter()
                    .map(|video| video.iter().map(|s| dot(q, s)).fold(f32::NEG_INFINITY, f32::max))
                    .collect()
            })
            .collect();
        let owner: Vec<usize> = captioned
            .iter()
            .map(|row| video_ids.iter().position(|p| *p == row.video).unwrap_or(0))
            .collect();
        let (text_to_video, video_to_text) = retrieval_ranks(&scores, &owner);
        let mut misses: Vec<Miss> = captioned
            .iter()
            .zip(&scores)
            .zip(&text_to_video)
            .filter(|(_, &rank)| rank > 1)
            .map(|((row, row_scores), &rank)| {
                let first = (0..row_scores.len())
                    .max_by(|&a, &b| row_scores[a].total_cmp(&row_scores[b]))
                    .unwrap_or(0);
                Miss {
                    caption: row.caption.clone(),
                    category: row.category.clone(),
                    video: row.video.clone(),
                    rank,
                    first: video_ids[first].clone(),
                }
            })
            .collect();
        misses.sort_by(|a, b| b.rank.cmp(&a.rank).then_with(|| a.caption.cmp(&b.caption)));
        let mut by_category: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        for (row, &rank) in captioned.iter().zip(&text_to_video) {
            if let Some(category) = &row.category {
                by_category.entry(category).or_default().push(rank);
            }
        }
        Ok(RetrievalEvaluation {
            space: space.name,
            videos: video_ids.len(),
            captions: captions.len(),
            text_to_video: Ranks::of(&text_to_video),
            video_to_text: Ranks::of(&video_to_text),
            categories: by_category
                .into_iter()
                .map(|(category, ranks)| CategoryRanks {
                    category: category.to_string(),
                    ranks: Ranks::of(&ranks),
                })
                .collect(),
            misses,
        })
    }
}

/// `vtx eval clusters`: the clustering of labelled videos against their labels.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClusterEvaluation {
    pub videos: usize,
    pub space: String,
    pub k: usize,
    /// Videos HDBSCAN left out of every cluster (scored as one group of their own).
    pub noise: usize,
    #[serde(flatten)]
    pub agreement: Agreement,
}

impl Engine {
    /// Cluster the videos of `labelled` (path as indexed, label) and score the clustering against
    /// the labels. Without `options.k`, k is the number of distinct labels.
    pub fn evaluate_clusters(
        &self,
        labelled: &[(String, String)],
        options: &ClusterOptions,
    ) -> Result<ClusterEvaluation> {
        let mut label_ids: HashMap<&str, usize> = HashMap::new();
        for (_, label) in labelled {
            let next = label_ids.len();
            label_ids.entry(label.as_str()).or_insert(next);
        }
        let indexed: HashSet<String> = self.videos()?.into_iter().map(|v| v.meta.path).collect();
        if let Some((missing, _)) = labelled.iter().find(|(path, _)| !indexed.contains(path)) {
            return Err(EngineError::NotFound(format!("{missing} is not in the index")));
        }
        let options = ClusterOptions {
            level: Level::Video,
            k: options.k.or(Some(label_ids.len())),
            only: labelled.iter().map(|(p, _)| p.clone()).collect(),
            ..options.clone()
        };
        let clustering = self.cluster(&options)?;
        let cluster_of: HashMap<&str, usize> = clustering
            .clusters
            .iter()
            .flat_map(|c| c.members.iter().map(move |m| (m.video.as_str(), c.id)))
            .collect();
        let noise_id = clustering.clusters.len();
        let (mut found, mut truth) = (Vec::new(), Vec::new());
        for (path, label) in labelled {
            let noise = clustering.noise.iter().any(|m| &m.video == path);
            if let Some(c) = cluster_of.get(path.as_str()).copied().or(noise.then_some(noise_id)) {
                found.push(c);
                truth.push(label_ids[label.as_str()]);
            }
        }
        Ok(ClusterEvaluation {
            videos: found.len(),
            space: clustering.space,
            k: clustering.k,
            noise: clustering.noise.len(),
            agreement: agreement(&found, &truth),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_match_a_hand_worked_example() {
        // Three videos, four captions (video 0 has two). Scores[caption][video]:
        let scores = vec![
            vec![0.9, 0.1, 0.2], // caption 0 (video 0): video 0 first -> rank 1
            vec![0.3, 0.5, 0.4], // caption 1 (video 0): 0.3 is last -> rank 3
            vec![0.2, 0.6, 0.7], // caption 2 (video 1): 0.6 < 0.7 -> rank 2
            vec![0.1, 0.2, 0.8], // caption 3 (video 2): rank 1
        ];
        let owner = [0, 0, 1, 2];
        let (t2v, v2t) = retrieval_ranks(&scores, &owner);
        assert_eq!(t2v, vec![1, 3, 2, 1]);
        // Video 0: column [0.9, 0.3, 0.2, 0.1]: caption 0 is first -> 1.
        // Video 1: column [0.1, 0.5, 0.6, 0.2]: caption 2 (0.6) first -> 1.
        // Video 2: column [0.2, 0.4, 0.7, 0.8]: caption 3 (0.8) first -> 1.
        assert_eq!(v2t, vec![1, 1, 1]);
        let summary = Ranks::of(&t2v);
        assert_eq!(
            (summary.r1, summary.r5, summary.median_rank, summary.mean_rank),
            (0.5, 1.0, 1.5, 1.75)
        );
        // A tie ranks the right answer behind the others.
        let (tied, _) = retrieval_ranks(&[vec![0.5, 0.5]], &[1]);
        assert_eq!(tied, vec![2]);
    }

    #[test]
    fn a_caption_may_name_its_category_after_a_tab() {
        let row = Captioned::new("v.mp4".into(), "a kitty \t synonym ");
        assert_eq!(
            (row.caption.as_str(), row.category.as_deref()),
            ("a kitty", Some("synonym"))
        );
        assert_eq!(Captioned::new("v.mp4".into(), "a cat").category, None);
        // A tab with nothing after it is no category.
        assert_eq!(Captioned::new("v.mp4".into(), "a cat\t ").caption, "a cat");
    }
}
