//! Grouping an index's videos or segments (and, with them, texts) and naming the groups.
//!
//! `kmeans` and `metrics` are the numbers; HDBSCAN comes from the `hdbscan` crate, fed a cosine
//! distance matrix computed here; `projection` holds the principal components, which place items
//! on a plane for a map of the library and whiten them before k-means.

mod kmeans;
mod metrics;
mod projection;

pub use kmeans::{choose_k, silhouette, spherical_kmeans, KMeans};
pub use metrics::{agreement, Agreement};
pub use projection::{project_2d, whiten};

use std::collections::HashMap;

use vtx_core::{dot, mean_unit, normalize, par_map, sample_indices};

use crate::labels::{label_name, LabelSet, Labels};
use crate::motion::{self, Stream};
use crate::{Engine, EngineError, Result};

/// What `Engine::cluster` groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Video,
    Segment,
}

vtx_core::names!(Level, "level", { Level::Video => "video", Level::Segment => "segment" });

/// How the items are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// Spherical k-means: every item in a cluster; k given, or chosen by silhouette.
    KMeans,
    /// HDBSCAN on cosine distance: no k; items in no dense group are noise.
    Hdbscan {
        min_cluster_size: usize,
        min_samples: usize,
    },
}

/// The smallest group HDBSCAN calls a cluster when not told.
pub const DEFAULT_MIN_CLUSTER_SIZE: usize = 5;

/// By name, `kmeans` or `hdbscan` (with [`DEFAULT_MIN_CLUSTER_SIZE`]).
impl std::str::FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "kmeans" => Ok(Self::KMeans),
            "hdbscan" => Ok(Self::Hdbscan {
                min_cluster_size: DEFAULT_MIN_CLUSTER_SIZE,
                min_samples: DEFAULT_MIN_CLUSTER_SIZE,
            }),
            other => Err(format!("algorithm must be kmeans or hdbscan, not '{other}'")),
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::KMeans => "kmeans",
            Self::Hdbscan { .. } => "hdbscan",
        })
    }
}

/// HDBSCAN keeps an n x n distance matrix and its time grows faster than n^2 (5,000 items of
/// 1280-d: ~6 s, 10,000: 400 MB and ~35-45 s on 2 cores, `docs/performance.md`): up to this many
/// items it runs on all of them.
pub const HDBSCAN_EXACT_MAX: usize = 5_000;
/// Above [`HDBSCAN_EXACT_MAX`], HDBSCAN runs on a sample of this many items and the others join
/// the cluster whose centroid is nearest, when they fall within that cluster's extent.
pub const HDBSCAN_SAMPLE: usize = 5_000;

/// How to cluster an index.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub level: Level,
    /// The space to cluster in: any space of the index, or several joined by `+` (`visual+text`),
    /// weighted alike (default: as `similar` picks it; with texts, as `search` does).
    pub space: Option<String>,
    /// What the vectors describe: appearance, motion, or both (weighted).
    pub stream: Stream,
    pub algorithm: Algorithm,
    /// Number of k-means clusters; `None` chooses it by silhouette within
    /// `2..=min(max_k, sqrt(n))`.
    pub k: Option<usize>,
    pub max_k: usize,
    pub seed: u64,
    pub restarts: usize,
    /// Names to give clusters (default: the labels of an image model of the index).
    pub labels: Option<Labels>,
    /// Only these videos (paths as indexed); all when empty.
    pub only: Vec<String>,
    /// Texts clustered together with the videos (a list of topics to map the library onto).
    pub texts: Vec<String>,
    /// A text joins the cluster of its nearest video when their cosine (each modality centred on
    /// its mean) reaches this; else it forms its own.
    pub text_min_score: f32,
    /// Give every member its position on a map of the library (`Member::position`).
    pub map: bool,
    /// PCA-whiten the vectors to this many dimensions before clustering (see [`whiten`]).
    pub whiten: Option<usize>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            level: Level::Video,
            space: None,
            stream: Stream::Rgb,
            algorithm: Algorithm::KMeans,
            k: None,
            max_k: 12,
            seed: 1,
            restarts: 4,
            labels: None,
            only: Vec::new(),
            texts: Vec::new(),
            text_min_score: TEXT_JOIN_MIN,
            map: false,
            whiten: None,
        }
    }
}

/// One clustered item: a video, a segment of one, or a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The video's path as indexed ("" for a text).
    pub video: String,
    pub video_id: Option<i64>,
    pub segment: Option<i64>,
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub text: Option<String>,
    /// Cosine to the cluster's centroid.
    pub similarity: f32,
    /// Where it lies on the two leading principal components of the clustered vectors (with
    /// `ClusterOptions::map`).
    pub position: Option<[f32; 2]>,
}

impl Member {
    /// The id its vectors are stored under: the segment's, else the video's; none for a text.
    fn vector_key(&self) -> Option<i64> {
        self.segment.or(self.video_id)
    }

    fn text(text: &str) -> Self {
        Self {
            video: String::new(),
            video_id: None,
            segment: None,
            start: None,
            end: None,
            text: Some(text.to_string()),
            similarity: 0.0,
            position: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Cluster {
    pub id: usize,
    /// The label nearest the cluster's centroid in a text space ("" when the index has none).
    pub name: String,
    /// The nearest few labels with their cosines.
    pub names: Vec<(String, f32)>,
    /// The members' most frequent tags (`vtx tag`), with how many members carry each.
    pub tags: Vec<(String, usize)>,
    /// The objects most members show (`vtx index --objects`), with how many members show each.
    pub objects: Vec<(String, usize)>,
    pub size: usize,
    /// Most typical first.
    pub members: Vec<Member>,
    /// The member nearest the centroid.
    pub medoid: Member,
}

#[derive(Debug, Clone)]
pub struct Clustering {
    /// The space clustered in (`space+motion` for both streams).
    pub space: String,
    /// `kmeans` or `hdbscan`.
    pub algorithm: String,
    pub k: usize,
    /// Mean silhouette (cosine) of the clustered items, -1..1.
    pub silhouette: f64,
    pub clusters: Vec<Cluster>,
    /// Items in no cluster (HDBSCAN only).
    pub noise: Vec<Member>,
}

/// Labels named nearest a centroid.
const NAMES_PER_CLUSTER: usize = 3;

/// The spaces an item's vector is made of, with their weights.
struct Parts {
    name: String,
    spaces: Vec<(String, f32)>,
}

/// The cluster of each item (`None`: noise) and the unit centroid of each cluster.
#[derive(Debug, Clone)]
pub struct Grouping {
    pub assignments: Vec<Option<usize>>,
    pub centroids: Vec<Vec<f32>>,
}

impl Engine {
    /// Group the index's videos or segments (and `options.texts`) and name the groups.
    pub fn cluster(&self, options: &ClusterOptions) -> Result<Clustering> {
        if let Some(dims) = options.whiten {
            if dims == 0 {
                return Err(EngineError::invalid("whitening", "must keep at least 1 dimension"));
            }
            if !options.texts.is_empty() {
                return Err(EngineError::Input(
                    "texts cannot be clustered in whitened vectors: they are not in the videos' spread".into(),
                ));
            }
        }
        let parts = self.cluster_parts(options)?;
        let mut items = self.cluster_items(&parts, options)?;
        if items.len() < 2 {
            return Err(EngineError::Conflict(format!(
                "{} item(s) to cluster in space '{}': index more videos first",
                items.len(),
                parts.name
            )));
        }
        if let Some(dims) = options.whiten {
            let mut vectors: Vec<Vec<f32>> = items.iter_mut().map(|(_, v)| std::mem::take(v)).collect();
            whiten(&mut vectors, dims, options.seed);
            items.iter_mut().zip(vectors).for_each(|((_, v), w)| *v = w);
        }
        let labels = self.label_set(options.labels.as_ref())?;
        if !options.texts.is_empty() {
            let space = &parts.spaces[0].0;
            let model = self
                .store
                .spaces()?
                .into_iter()
                .find(|s| &s.name == space)
                .map(|s| s.model);
            let model = model.ok_or_else(|| EngineError::NotFound(format!("no space '{space}'")))?;
            let refs: Vec<&str> = options.texts.iter().map(String::as_str).collect();
            let texts = self.embed_texts(&model, &refs)?;
            let label_mean = labels.as_ref().filter(|l| &l.space == space).map(LabelSet::mean);
            close_modality_gap(&mut items, texts, label_mean, &options.texts);
        }
        let data: Vec<Vec<f32>> = items.iter().map(|(_, v)| v.clone()).collect();
        let videos = &data[..data.len() - options.texts.len()];
        let mut grouping = match options.algorithm {
            Algorithm::KMeans => kmeans_grouping(videos, options)?,
            Algorithm::Hdbscan {
                min_cluster_size,
                min_samples,
            } => hdbscan(videos, min_cluster_size, min_samples, options.seed)?,
        };
        for text in &data[videos.len()..] {
            place_text(text, videos, options.text_min_score, &mut grouping);
        }
        if options.map {
            for ((member, _), point) in items.iter_mut().zip(project_2d(&data, options.seed)) {
                member.position = Some(point);
            }
        }
        let clustered: Vec<usize> = (0..data.len()).filter(|&i| grouping.assignments[i].is_some()).collect();
        let silhouette = if grouping.centroids.len() > 1 {
            let vectors: Vec<Vec<f32>> = clustered.iter().map(|&i| data[i].clone()).collect();
            let assigned: Vec<usize> = clustered.iter().filter_map(|&i| grouping.assignments[i]).collect();
            kmeans::silhouette(&vectors, &assigned, grouping.centroids.len(), 2000, options.seed)
        } else {
            0.0
        };
        let namer = match labels {
            Some(labels) => Some(Namer::new(self, labels, options.level)?),
            None => None,
        };
        let mut clusters = Vec::with_capacity(grouping.centroids.len());
        for (id, centroid) in grouping.centroids.iter().enumerate() {
            let mut members: Vec<Member> = items
                .iter()
                .zip(&grouping.assignments)
                .filter(|(_, &c)| c == Some(id))
                .map(|((m, v), _)| Member {
                    similarity: dot(v, centroid),
                    ..m.clone()
                })
                .collect();
            if members.is_empty() {
                continue;
            }
            members.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
            let names = namer.as_ref().map(|n| n.names(&members)).unwrap_or_default();
            clusters.push((
                id,
                Cluster {
                    id,
                    // A text among the members is the user's own name for the group.
                    name: members
                        .iter()
                        .find_map(|m| m.text.clone())
                        .or_else(|| names.first().map(|n| n.0.clone()))
                        .unwrap_or_default(),
                    names,
                    tags: self.frequent_tags(&members)?,
                    objects: self.frequent_objects(&members)?,
                    size: members.len(),
                    medoid: members[0].clone(),
                    members,
                },
            ));
        }
        // Largest first; ids follow that order.
        clusters.sort_by(|a, b| b.1.size.cmp(&a.1.size).then(a.0.cmp(&b.0)));
        let clusters: Vec<Cluster> = clusters
            .into_iter()
            .enumerate()
            .map(|(new, (_, mut cluster))| {
                cluster.id = new;
                cluster
            })
            .collect();
        let noise = items
            .iter()
            .zip(&grouping.assignments)
            .filter(|(_, c)| c.is_none())
            .map(|((m, _), _)| m.clone())
            .collect();
        Ok(Clustering {
            space: parts.name,
            algorithm: options.algorithm.to_string(),
            k: clusters.len(),
            silhouette,
            clusters,
            noise,
        })
    }

    /// The space(s) `options` cluster in.
    fn cluster_parts(&self, options: &ClusterOptions) -> Result<Parts> {
        let appearance = || -> Result<Vec<String>> {
            if !options.texts.is_empty() {
                // Texts and videos must share the space: one whose model embeds text.
                return Ok(vec![self.text_space(options.space.as_deref())?.name]);
            }
            match options.space.as_deref() {
                None => Ok(vec![self.visual_space(None)?.name]),
                Some(requested) => self.named_spaces(requested),
            }
        };
        let motion = || -> Result<String> {
            if !options.texts.is_empty() {
                return Err(EngineError::Input(
                    "texts cannot be clustered by motion: cluster texts in the rgb stream".into(),
                ));
            }
            Ok(self.motion_space()?.name)
        };
        let alike = |spaces: Vec<String>, total: f32| -> Vec<(String, f32)> {
            let weight = total / spaces.len() as f32;
            spaces.into_iter().map(|s| (s, weight)).collect()
        };
        Ok(match options.stream {
            Stream::Rgb => {
                let spaces = appearance()?;
                Parts {
                    name: spaces.join("+"),
                    spaces: alike(spaces, 1.0),
                }
            }
            Stream::Motion => {
                let motion = motion()?;
                Parts {
                    name: motion.clone(),
                    spaces: vec![(motion, 1.0)],
                }
            }
            Stream::Both { motion_weight } => {
                motion::check_weight(motion_weight)?;
                let motion = motion()?;
                let spaces = appearance()?;
                let mut weighted = alike(spaces, 1.0 - motion_weight);
                weighted.push((motion.clone(), motion_weight));
                Parts {
                    name: weighted.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>().join("+"),
                    spaces: weighted,
                }
            }
        })
    }

    /// `a+b+...`: each a space of the index (any kind: a frame model's, a text space's).
    fn named_spaces(&self, requested: &str) -> Result<Vec<String>> {
        let known: Vec<String> = self.store.spaces()?.into_iter().map(|s| s.name).collect();
        let mut spaces: Vec<String> = Vec::new();
        for name in requested.split('+').map(str::trim) {
            if !known.iter().any(|k| k == name) {
                return Err(EngineError::NotFound(format!(
                    "no space '{name}' in this index (it has: {})",
                    known.join(", ")
                )));
            }
            if spaces.iter().any(|s| s == name) {
                return Err(EngineError::invalid("space", format!("'{name}' is named twice")));
            }
            spaces.push(name.to_string());
        }
        Ok(spaces)
    }

    /// Every video or segment of `options` with its vector: the parts' unit vectors, each scaled
    /// by the square root of its weight and joined, so that a dot product is the weighted sum of
    /// the parts' cosines (as `similar --stream both` scores). An item missing from a later part
    /// has zeros there.
    fn cluster_items(&self, parts: &Parts, options: &ClusterOptions) -> Result<Vec<(Member, Vec<f32>)>> {
        let paths: HashMap<i64, String> = self.videos()?.into_iter().map(|v| (v.id, v.meta.path)).collect();
        let keep = |path: &str| options.only.is_empty() || options.only.iter().any(|o| o == path);
        let mut items: Vec<(Member, Vec<f32>)> = Vec::new();
        for (n, (space, weight)) in parts.spaces.iter().enumerate() {
            let scale = weight.sqrt();
            let vectors: Vec<(Member, Vec<f32>)> = match options.level {
                Level::Video => self
                    .store
                    .video_vectors(space)?
                    .into_iter()
                    .filter_map(|(id, v)| {
                        let video = paths.get(&id)?.clone();
                        let member = Member {
                            video,
                            video_id: Some(id),
                            segment: None,
                            start: None,
                            end: None,
                            text: None,
                            similarity: 0.0,
                            position: None,
                        };
                        Some((member, v))
                    })
                    .collect(),
                Level::Segment => self
                    .all_segment_vectors(space)?
                    .into_iter()
                    .filter_map(|(s, v)| {
                        let video = paths.get(&s.video_id)?.clone();
                        let member = Member {
                            video,
                            video_id: Some(s.video_id),
                            segment: Some(s.id),
                            start: Some(s.start),
                            end: Some(s.end),
                            text: None,
                            similarity: 0.0,
                            position: None,
                        };
                        Some((member, v))
                    })
                    .collect(),
            };
            if n == 0 {
                items = vectors
                    .into_iter()
                    .filter(|(m, _)| keep(&m.video))
                    .map(|(m, v)| (m, v.iter().map(|x| x * scale).collect()))
                    .collect();
            } else {
                let dim = vectors.first().map_or(0, |(_, v)| v.len());
                let mut by_key: HashMap<Option<i64>, Vec<f32>> =
                    vectors.into_iter().map(|(m, v)| (m.vector_key(), v)).collect();
                for (member, vector) in &mut items {
                    match by_key.remove(&member.vector_key()) {
                        Some(v) => vector.extend(v.iter().map(|x| x * scale)),
                        None => vector.extend(std::iter::repeat_n(0.0, dim)),
                    }
                }
            }
        }
        Ok(items)
    }
}

/// Texts and pictures embed apart even in a shared space (CLIP's "modality gap": every text is
/// nearer every other text than any picture), so clustered as they come the texts would form a
/// cluster of their own. Each modality is centred on its own mean and re-normalised: the videos'
/// mean is theirs, the texts' is the given texts' own (what a list of topics has in common is its
/// phrasing, not its subject). A lone text is centred on the label set's mean instead, when the
/// labels live in this space. (Centring texts on the label set's mean when there are several
/// left "a cat", "a cup of coffee" and "a rocket launch" in one cluster of texts: sentences are
/// phrased unlike ImageNet's class names.)
fn close_modality_gap(
    items: &mut Vec<(Member, Vec<f32>)>,
    texts: Vec<Vec<f32>>,
    label_mean: Option<Vec<f32>>,
    names: &[String],
) {
    let centre = |v: &mut Vec<f32>, mean: &[f32]| {
        v.iter_mut().zip(mean).for_each(|(x, m)| *x -= m);
        normalize(v);
    };
    if items.len() > 1 {
        let video_mean = mean_unit(items.iter().map(|(_, v)| v.as_slice())).unwrap_or_default();
        items.iter_mut().for_each(|(_, v)| centre(v, &video_mean));
    }
    let text_mean = if texts.len() > 1 {
        mean_unit(texts.iter().map(Vec::as_slice))
    } else {
        label_mean
    };
    for (mut vector, name) in texts.into_iter().zip(names) {
        if let Some(m) = &text_mean {
            centre(&mut vector, m);
        }
        items.push((Member::text(name), vector));
    }
}

/// Default of [`ClusterOptions::text_min_score`]. With the offline pack (ConSE into MiniLM's
/// space, its classes grounded in WordNet) on the captioned dev set, 0.34 keeps 19 of 25
/// captions with their clip and lets 7 of 16 unrelated topics join a cluster, where 0.3 let 11
/// in (`docs/performance.md`, clustering texts): the pack cannot tell them apart well, and
/// strays cost more than weak true matches.
pub const TEXT_JOIN_MIN: f32 = 0.34;

/// Texts join the clusters of the videos, never move them: a list of topics maps the library as
/// it is. A text goes where its nearest video is, as a search for it would find; one that matches
/// no video well (or only noise) forms its own cluster.
fn place_text(text: &[f32], videos: &[Vec<f32>], min_score: f32, grouping: &mut Grouping) {
    let nearest = videos
        .iter()
        .enumerate()
        .map(|(i, v)| (i, dot(text, v)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let joined = nearest
        .filter(|(_, cosine)| *cosine >= min_score)
        .and_then(|(i, _)| grouping.assignments[i]);
    match joined {
        Some(cluster) => grouping.assignments.push(Some(cluster)),
        None => {
            grouping.assignments.push(Some(grouping.centroids.len()));
            grouping.centroids.push(text.to_vec());
        }
    }
}

fn kmeans_grouping(data: &[Vec<f32>], options: &ClusterOptions) -> Result<Grouping> {
    let result = match options.k {
        Some(0) => return Err(EngineError::invalid("k", "must be at least 1")),
        Some(k) => spherical_kmeans(data, k, options.seed, options.restarts),
        // Silhouette rewards ever smaller clusters on small sets; the usual sqrt(n) cap keeps
        // near-duplicates of unequal quality (a 3gp and an mp4 of one clip) together.
        None => {
            let cap = ((data.len() as f64).sqrt().ceil() as usize).min(options.max_k).max(2);
            choose_k(data, 2..=cap, options.seed, options.restarts).1
        }
    };
    Ok(Grouping {
        assignments: result.assignments.into_iter().map(Some).collect(),
        centroids: result.centroids,
    })
}

/// HDBSCAN over cosine distances: exact up to [`HDBSCAN_EXACT_MAX`] items, else on a sample (see
/// [`HDBSCAN_SAMPLE`]) drawn from `seed`.
pub fn hdbscan(data: &[Vec<f32>], min_cluster_size: usize, min_samples: usize, seed: u64) -> Result<Grouping> {
    if min_cluster_size < 2 {
        return Err(EngineError::invalid("min cluster size", "must be at least 2"));
    }
    if min_samples < 1 {
        return Err(EngineError::invalid("min samples", "must be at least 1"));
    }
    if data.len() < min_cluster_size {
        return Err(EngineError::Conflict(format!(
            "{} items cannot hold a cluster of at least {min_cluster_size} (the smallest cluster)",
            data.len()
        )));
    }
    if data.len() <= HDBSCAN_EXACT_MAX {
        return hdbscan_exact(data, min_cluster_size, min_samples);
    }
    // A cluster of m items in n has about m * s / n in a sample of s: scale the sizes with it.
    let share = HDBSCAN_SAMPLE as f64 / data.len() as f64;
    let scaled = |size: usize| ((size as f64 * share).round() as usize).max(2);
    let sample: Vec<Vec<f32>> = sample_indices(data.len(), HDBSCAN_SAMPLE, seed)
        .into_iter()
        .map(|i| data[i].clone())
        .collect();
    let found = hdbscan_exact(
        &sample,
        scaled(min_cluster_size),
        scaled(min_samples).min(scaled(min_cluster_size)),
    )?;
    // Each cluster's extent: the lowest cosine of a sampled member to its centroid.
    let mut extent = vec![f32::INFINITY; found.centroids.len()];
    for (v, c) in sample.iter().zip(&found.assignments) {
        if let Some(c) = *c {
            extent[c] = extent[c].min(dot(v, &found.centroids[c]));
        }
    }
    let assignments = par_map(data, |v| {
        let (c, cosine) = kmeans::nearest(v, &found.centroids);
        (!found.centroids.is_empty() && cosine >= extent[c]).then_some(c)
    });
    Ok(Grouping {
        assignments,
        centroids: found.centroids,
    })
}

/// HDBSCAN on all of `data`. The crate's own distances would be Euclidean on 1280-d rows,
/// recomputed by its spanning-tree pass; the cosine matrix is computed once here, on all cores.
fn hdbscan_exact(data: &[Vec<f32>], min_cluster_size: usize, min_samples: usize) -> Result<Grouping> {
    let n = data.len();
    let matrix: Vec<Vec<f32>> = par_map(data, |a| data.iter().map(|b| (1.0 - dot(a, b)).max(0.0)).collect());
    let params = hdbscan::HdbscanHyperParams::builder()
        .min_cluster_size(min_cluster_size)
        .min_samples(min_samples.min(n))
        .dist_metric(hdbscan::DistanceMetric::Precalculated)
        .build();
    let labels = hdbscan::Hdbscan::new(&matrix, params)
        .cluster()
        .map_err(|e| EngineError::Internal(format!("HDBSCAN: {e}")))?;
    let assignments: Vec<Option<usize>> = labels.iter().map(|&l| usize::try_from(l).ok()).collect();
    let k = assignments.iter().flatten().max().map_or(0, |m| m + 1);
    let mut centroids = vec![vec![0f32; data[0].len()]; k];
    for (c, v) in assignments.iter().zip(data) {
        if let Some(c) = c {
            centroids[*c].iter_mut().zip(v).for_each(|(s, x)| *s += x);
        }
    }
    centroids.iter_mut().for_each(|c| normalize(c));
    Ok(Grouping { assignments, centroids })
}

impl Engine {
    /// The segment whose thumbnail shows a member: its own, or for a whole video the one nearest
    /// its middle; none for a text.
    pub fn member_thumbnail_segment(&self, member: &Member) -> Result<Option<i64>> {
        match (member.segment, member.video_id) {
            (Some(segment), _) => Ok(Some(segment)),
            (None, Some(video)) => self.video_thumbnail_segment(video),
            (None, None) => Ok(None),
        }
    }
}

/// Tags and objects shown per cluster.
const TAGS_PER_CLUSTER: usize = 3;

impl Engine {
    /// The tags most members carry (a video carries the tags of any of its segments).
    fn frequent_tags(&self, members: &[Member]) -> Result<Vec<(String, usize)>> {
        frequent_labels(members, |video_id| {
            let tags = self.store.tags(video_id)?;
            Ok(tags
                .iter()
                .map(|t| (t.segment, label_name(&t.label).to_string(), t.score))
                .collect())
        })
    }

    /// The objects most members show (a video shows those of any of its segments).
    fn frequent_objects(&self, members: &[Member]) -> Result<Vec<(String, usize)>> {
        frequent_labels(members, |video_id| {
            let segments = self.store.objects(video_id)?.map_or_else(Vec::new, |f| f.segments);
            Ok(segments.into_iter().map(|s| (s.segment, s.label, s.share)).collect())
        })
    }
}

/// The labels most members carry, with how many carry each: `labels_of` gives a video's
/// (segment, label, weight) triples, read once per video; a segment member carries its own
/// segment's. Ties go to the label of more weight (score, or share of time) in all.
fn frequent_labels(
    members: &[Member],
    mut labels_of: impl FnMut(i64) -> Result<Vec<(i64, String, f32)>>,
) -> Result<Vec<(String, usize)>> {
    let mut counts: HashMap<String, (usize, f32)> = HashMap::new();
    let mut by_video: HashMap<i64, Vec<(i64, String, f32)>> = HashMap::new();
    for m in members {
        let Some(video_id) = m.video_id else { continue };
        let labels = match by_video.entry(video_id) {
            std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => slot.insert(labels_of(video_id)?),
        };
        let mut carried: HashMap<&str, f32> = HashMap::new();
        for (_, label, weight) in labels
            .iter()
            .filter(|(segment, ..)| m.segment.is_none_or(|s| s == *segment))
        {
            *carried.entry(label.as_str()).or_default() += weight;
        }
        for (label, weight) in carried {
            let entry = counts.entry(label.to_string()).or_default();
            entry.0 += 1;
            entry.1 += weight;
        }
    }
    let mut frequent: Vec<(String, (usize, f32))> = counts.into_iter().collect();
    frequent.sort_by(|a, b| {
        let ((count_a, weight_a), (count_b, weight_b)) = (a.1, b.1);
        count_b
            .cmp(&count_a)
            .then(weight_b.total_cmp(&weight_a))
            .then_with(|| a.0.cmp(&b.0))
    });
    frequent.truncate(TAGS_PER_CLUSTER);
    Ok(frequent
        .into_iter()
        .map(|(label, (members, _))| (label, members))
        .collect())
}

/// Names clusters by the labels nearest their centroid in a text space.
struct Namer {
    labels: LabelSet,
    /// Every item's vector in the text space, by segment id (segment level) or video id, read
    /// once for all clusters.
    vectors: HashMap<i64, Vec<f32>>,
}

impl Namer {
    fn new(engine: &Engine, labels: LabelSet, level: Level) -> Result<Self> {
        let vectors = match level {
            Level::Segment => engine
                .all_segment_vectors(&labels.space)?
                .into_iter()
                .map(|(s, v)| (s.id, v))
                .collect(),
            Level::Video => engine.store.video_vectors(&labels.space)?.into_iter().collect(),
        };
        Ok(Self { labels, vectors })
    }

    /// Texts among the members name the cluster with the labels: only videos are averaged.
    fn names(&self, members: &[Member]) -> Vec<(String, f32)> {
        let Some(centroid) = mean_unit(
            members
                .iter()
                .filter_map(|m| self.vectors.get(&m.vector_key()?))
                .map(Vec::as_slice),
        ) else {
            return Vec::new();
        };
        self.labels
            .nearest(&centroid, NAMES_PER_CLUSTER)
            .into_iter()
            .map(|(label, score)| (label_name(label).to_string(), score))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vtx_core::Rng;

    /// `n` unit vectors in 16-d around the first three axes (item i near axis i % 3), and the
    /// axis of each.
    fn three_groups(n: usize, seed: u64) -> (Vec<Vec<f32>>, Vec<usize>) {
        let mut rng = Rng::new(seed);
        (0..n)
            .map(|i| {
                let group = i % 3;
                let mut v: Vec<f32> = (0..16)
                    .map(|d| f32::from(u8::from(d == group)) + 0.15 * (rng.unit() as f32 - 0.5))
                    .collect();
                normalize(&mut v);
                (v, group)
            })
            .unzip()
    }

    #[test]
    fn hdbscan_finds_dense_groups_and_leaves_strays_as_noise() {
        // Three tight groups of ten around axes of 16-d, and three strays far from all of them.
        let (mut data, truth) = three_groups(30, 5);
        for stray in 0..3 {
            let mut v = vec![0f32; 16];
            v[8 + 2 * stray] = 1.0;
            v[9 + 2 * stray] = 0.5;
            normalize(&mut v);
            data.push(v);
        }
        let grouping = hdbscan(&data, 5, 5, 1).unwrap();
        assert_eq!(grouping.centroids.len(), 3, "{:?}", grouping.assignments);
        let found: Vec<usize> = grouping.assignments[..30].iter().map(|c| c.expect("grouped")).collect();
        assert!((agreement(&found, &truth).ari - 1.0).abs() < 1e-9, "{found:?}");
        assert!(
            grouping.assignments[30..].iter().all(Option::is_none),
            "{:?}",
            grouping.assignments
        );
        assert!(hdbscan(&data[..3], 5, 5, 1).is_err(), "fewer items than a cluster");
    }

    #[test]
    fn hdbscan_on_many_items_clusters_a_sample_and_assigns_the_rest() {
        // 7,000 items (over the exact limit) in three groups, and a stray far from them.
        let (mut data, truth) = three_groups(HDBSCAN_EXACT_MAX + 2000, 9);
        let mut stray = vec![0f32; 16];
        stray[12] = 1.0;
        data.push(stray);
        let grouping = hdbscan(&data, 20, 20, 3).unwrap();
        assert_eq!(grouping.centroids.len(), 3);
        let found: Vec<usize> = grouping.assignments[..truth.len()]
            .iter()
            .map(|c| c.unwrap_or(usize::MAX))
            .collect();
        let score = agreement(&found, &truth);
        assert!(score.ari > 0.95, "{score:?}");
        assert_eq!(grouping.assignments.last(), Some(&None), "the stray is noise");
    }
}
