//! What is in a video: a detector run over its frames at a tracking rate, and the detections
//! followed over time as tracks.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::Path;

use serde::Serialize;
use vtx_media::Sampling;
use vtx_models::{Detection, ModelKind, ObjectDetector, OnnxDetector, OnnxPose, PoseEstimator, Registry};

use crate::evidence::TextBridge;
use crate::frame_models::frame_size;
use crate::track::{Seen, Track, TrackBox, Tracker, TrackerOptions, PERSON};
use crate::{EngineError, Result};

/// The detector `make setup` installs.
pub const DEFAULT_DETECTOR: &str = "centernet-coco";
/// The pose model `make setup` installs.
pub const DEFAULT_POSE: &str = "movenet-lightning";
/// Frames a second the detector sees: enough for boxes of walking people to overlap from one
/// frame to the next, few enough to keep detection several times faster than real time on two
/// cores (docs/performance.md).
pub const DEFAULT_OBJECT_FPS: f64 = 5.0;

/// How [`objects`] runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectOptions {
    pub detector: String,
    pub fps: f64,
    /// Least score of a detection that starts a track (`None`: the detector manifest's
    /// `min_score`); detections down to half of it may continue one.
    pub min_score: Option<f32>,
    pub tracker: TrackerOptions,
    /// The pose model that reads the posture of people tall enough in the frame (`None`: their
    /// box's shape alone).
    pub pose: Option<String>,
    /// How much the objects and actions seen in a segment weigh in the index's ConSE text
    /// spaces, when indexing (0: not at all; see [`crate::evidence`]).
    pub text_weight: f32,
}

impl Default for ObjectOptions {
    fn default() -> Self {
        Self {
            detector: DEFAULT_DETECTOR.into(),
            fps: DEFAULT_OBJECT_FPS,
            min_score: None,
            tracker: TrackerOptions::default(),
            pose: Some(DEFAULT_POSE.into()),
            text_weight: crate::evidence::DEFAULT_TEXT_WEIGHT,
        }
    }
}

/// A video's tracks.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectsReport {
    pub video: String,
    pub detector: String,
    /// Frames the detector ran on, and their rate.
    pub frames: usize,
    pub fps: f64,
    pub duration: f64,
    pub tracks: Vec<Track>,
    /// What went wrong reading a damaged file (the tracks cover the part that could be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// When the detector's frames were, for presence per segment.
    #[serde(skip)]
    pub times: Vec<f64>,
}

impl ObjectsReport {
    /// Each label's presence in each of `segments` (id, start, end): the most tracks with it at
    /// one sampled moment, their mean score, and the share of the segment's moments with one.
    /// `label_of` names what a track's box at a moment stands for (its object, or what the
    /// person does then), if anything.
    fn per_segment<'t>(
        &'t self,
        segments: &[(i64, f64, f64)],
        label_of: impl Fn(&'t Track, &TrackBox) -> Option<&'t str>,
    ) -> Vec<vtx_index::SegmentObjects> {
        // Segments come in time order and do not overlap: each moment and box finds its own by a
        // binary search, so a long video costs one pass over its boxes, not one per segment.
        let segment_of = |t: f64| {
            let i = segments.partition_point(|&(_, start, _)| start <= t).checked_sub(1)?;
            (t < segments[i].2).then_some(i)
        };
        let mut moments = vec![0usize; segments.len()];
        for i in self.times.iter().filter_map(|&t| segment_of(t)) {
            moments[i] += 1;
        }
        // per segment: label -> (boxes per moment, score sum, boxes)
        type Seen<'l> = BTreeMap<&'l str, (BTreeMap<u64, u32>, f32, u32)>;
        let mut seen: Vec<Seen<'t>> = vec![BTreeMap::new(); segments.len()];
        for track in &self.tracks {
            for b in &track.boxes {
                let (Some(i), Some(label)) = (segment_of(b.t), label_of(track, b)) else {
                    continue;
                };
                let entry = seen[i].entry(label).or_default();
                *entry.0.entry(b.t.to_bits()).or_default() += 1;
                entry.1 += b.score;
                entry.2 += 1;
            }
        }
        let mut out = Vec::new();
        for ((&(id, ..), labels), moments) in segments.iter().zip(seen).zip(moments) {
            if moments == 0 {
                continue;
            }
            out.extend(
                labels
                    .into_iter()
                    .map(|(label, (at, score, boxes))| vtx_index::SegmentObjects {
                        segment: id,
                        label: label.to_string(),
                        count: at.values().copied().max().unwrap_or(0),
                        score: score / boxes as f32,
                        share: at.len() as f32 / moments as f32,
                    }),
            );
        }
        out
    }

    /// As the catalog keeps it.
    pub fn to_stored(&self, segments: &[(i64, f64, f64)]) -> vtx_index::VideoObjects {
        vtx_index::VideoObjects {
            detector: self.detector.clone(),
            fps: self.fps,
            frames: self.frames as u32,
            tracks: self.tracks.iter().map(Track::to_stored).collect(),
            segments: self.per_segment(segments, |track, _| Some(track.label.as_str())),
            actions: self.per_segment(segments, |track, b| {
                let doing = track.actions.iter().find(|a| (a.start..=a.end).contains(&b.t));
                doing.map(|a| a.action)
            }),
        }
    }
}

/// Detect and track the objects of one video (no index needed). `progress` hears how far into
/// the video (seconds) the detector has got, and the length the header claims, if any.
pub fn objects(
    video: &Path,
    models: &Registry,
    options: &ObjectOptions,
    progress: &mut dyn FnMut(f64, Option<f64>),
) -> Result<ObjectsReport> {
    let mut heard = |t: f64, length: Option<f64>| {
        progress(t, length);
        ControlFlow::Continue(())
    };
    let found = ObjectFinder::new(models, options)?.run(video, &mut heard)?;
    found.ok_or_else(|| EngineError::Internal("the detection stopped without being asked to".into()))
}

/// A loaded detector and its options, for the videos of a run one after another.
pub struct ObjectFinder {
    detector: OnnxDetector,
    pose: Option<OnnxPose>,
    name: String,
    options: ObjectOptions,
    birth_score: f32,
    /// The text spaces of the index being filled that what is found is folded into.
    bridges: Vec<TextBridge>,
}

impl ObjectFinder {
    /// Check `options` and load its detector.
    pub fn new(models: &Registry, options: &ObjectOptions) -> Result<Self> {
        if !(options.fps.is_finite() && options.fps > 0.0) {
            return Err(EngineError::invalid(
                "fps",
                "must be a positive number of frames a second",
            ));
        }
        if !(options.text_weight.is_finite() && options.text_weight >= 0.0) {
            return Err(EngineError::invalid(
                "object text weight",
                format!("must be a number from 0 up, not {}", options.text_weight),
            ));
        }
        if let Some(score) = options.min_score.filter(|s| !(0.0..=1.0).contains(s)) {
            return Err(EngineError::invalid(
                "min score",
                format!("must lie in 0..1, not {score}"),
            ));
        }
        let manifest = model_of_kind(models, &options.detector, ModelKind::Detector, "an object detector")?;
        let pose = match &options.pose {
            Some(name) => {
                let manifest = model_of_kind(models, name, ModelKind::Pose, "a pose model")?;
                Some(OnnxPose::load(&manifest, models.options())?)
            }
            None => None,
        };
        let mut detector = OnnxDetector::load(&manifest, models.options())?;
        let birth_score = options.min_score.unwrap_or(detector.spec().min_score);
        detector.set_min_score(birth_score / 2.0);
        Ok(Self {
            detector,
            pose,
            name: manifest.name,
            options: options.clone(),
            birth_score,
            bridges: Vec::new(),
        })
    }

    /// The detector's name.
    pub fn detector(&self) -> &str {
        &self.name
    }

    /// Fold what is found from now on into these text spaces of the index being filled.
    pub(crate) fn fold_into(&mut self, bridges: Vec<TextBridge>) {
        self.bridges = bridges;
    }

    /// The labels the detector gives.
    pub(crate) fn labels(&self) -> &[String] {
        self.detector.labels()
    }

    /// Fold `objects` into the text spaces of a video being written (see [`crate::evidence`]).
    pub(crate) fn fold(
        &self,
        writer: &mut dyn vtx_index::VideoWriter,
        objects: &vtx_index::VideoObjects,
        pooling: vtx_index::Pooling,
    ) -> Result<()> {
        crate::evidence::fold_objects(&self.bridges, writer, objects, self.options.text_weight, pooling)
    }

    /// Whether anything found is folded into a text space.
    fn folds(&self) -> bool {
        !self.bridges.is_empty() && self.options.text_weight > 0.0
    }

    /// Detect and track the objects of `video`; `progress` hears how far it has got (and the
    /// length the header claims) and may stop it, which gives `None`.
    pub fn run(
        &mut self,
        video: &Path,
        progress: &mut dyn FnMut(f64, Option<f64>) -> ControlFlow<()>,
    ) -> Result<Option<ObjectsReport>> {
        let info = vtx_media::probe(video)?;
        let claimed = info.claimed_duration();
        let side = self.side_stream();
        let mut found = self.begin(info.aspect());
        let queue = 2 * self.detector.batch_size();
        let (stats, stopped) = crate::passes::decode_ahead(
            video,
            Sampling::Fps(self.options.fps),
            side.size,
            queue,
            &mut |t, picture| {
                Ok(match self.feed(&mut found, t, picture)? {
                    true => progress(t, claimed),
                    false => ControlFlow::Continue(()),
                })
            },
        )?;
        if stopped {
            return Ok(None);
        }
        let warning = crate::ingest::warning_for(&stats, &info, "looked for objects in");
        self.end(found, video, &info, stats.duration, warning).map(Some)
    }

    /// The frames this detector wants from a decode: its rate, at its input size.
    pub(crate) fn side_stream(&self) -> vtx_media::SideStream {
        vtx_media::SideStream {
            fps: self.options.fps,
            size: frame_size(self.detector.preprocess()),
        }
    }

    /// A video's detection, before its first frame; `aspect` is its frames' width over height.
    pub(crate) fn begin(&self, aspect: f64) -> ObjectsInProgress {
        ObjectsInProgress {
            aspect: aspect as f32,
            tracker: Tracker::new(TrackerOptions {
                birth_score: self.birth_score,
                ..self.options.tracker
            }),
            pending: Vec::with_capacity(self.detector.batch_size()),
            times: Vec::new(),
        }
    }

    /// One frame of the side stream (time order); a batch runs once it is full. Whether a batch
    /// ran.
    pub(crate) fn feed(&mut self, found: &mut ObjectsInProgress, t: f64, picture: Vec<u8>) -> Result<bool> {
        found.pending.push((t, picture));
        if found.pending.len() < self.detector.batch_size() {
            return Ok(false);
        }
        self.flush(found)?;
        Ok(true)
    }

    fn flush(&mut self, found: &mut ObjectsInProgress) -> Result<()> {
        let pictures: Vec<&[u8]> = found.pending.iter().map(|(_, p)| p.as_slice()).collect();
        let detected = self.detector.detect(&pictures)?;
        let seen = self.postures(&pictures, detected, found.aspect)?;
        for ((t, _), seen) in found.pending.iter().zip(seen) {
            found.tracker.update(*t, &seen);
        }
        found.times.extend(found.pending.iter().map(|(t, _)| *t));
        found.pending.clear();
        Ok(())
    }

    /// Each frame's detections, confident ones of people tall enough with the posture of their
    /// pose, read from a square crop around them (`aspect`: the frame's width over its height).
    fn postures(&mut self, pictures: &[&[u8]], detected: Vec<Vec<Detection>>, aspect: f32) -> Result<Vec<Vec<Seen>>> {
        let mut seen: Vec<Vec<Seen>> = detected
            .into_iter()
            .map(|frame| frame.into_iter().map(Seen::from).collect())
            .collect();
        let Some(pose) = self.pose.as_mut() else {
            return Ok(seen);
        };
        let person = self.detector.labels().iter().position(|l| l == PERSON);
        let size = frame_size(self.detector.preprocess());
        let input = frame_size(pose.preprocess());
        let mut wanted: Vec<(usize, usize)> = Vec::new();
        let mut crops: Vec<Vec<u8>> = Vec::new();
        for (f, frame) in seen.iter().enumerate() {
            for (d, s) in frame.iter().enumerate() {
                let b = &s.detection.bbox;
                // Weak detections (which may only continue a track) are mostly partial boxes
                // of someone already detected: posing them would cost more than the rest.
                let confident = s.detection.score >= self.birth_score;
                if Some(s.detection.class) == person && confident && b.height() >= crate::posture::MIN_POSE_HEIGHT {
                    wanted.push((f, d));
                    crops.push(crate::posture::crop(
                        pictures[f],
                        (size.width as usize, size.height as usize),
                        &crate::posture::crop_region(b, aspect),
                        (input.width as usize, input.height as usize),
                    ));
                }
            }
        }
        let min_score = pose.min_score();
        for (batch, at) in crops.chunks(pose.batch_size()).zip(wanted.chunks(pose.batch_size())) {
            let refs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
            for (found, &(f, d)) in pose.estimate(&refs)?.iter().zip(at) {
                seen[f][d].posture = crate::posture::posture(found, min_score);
            }
        }
        Ok(seen)
    }

    /// The tracks of a video whose frames have all been fed.
    pub(crate) fn end(
        &mut self,
        mut found: ObjectsInProgress,
        video: &Path,
        info: &vtx_media::VideoInfo,
        duration: f64,
        warning: Option<String>,
    ) -> Result<ObjectsReport> {
        self.flush(&mut found)?;
        let aspect = info.aspect();
        Ok(ObjectsReport {
            video: video.display().to_string(),
            detector: self.name.clone(),
            frames: found.times.len(),
            fps: self.options.fps,
            duration,
            tracks: found.tracker.finish(self.detector.labels(), aspect),
            warning,
            times: found.times,
        })
    }
}

/// One video's detection under way: its frames' width over their height, its tracker, the frames
/// waiting for a batch, and when the frames seen were.
pub(crate) struct ObjectsInProgress {
    aspect: f32,
    tracker: Tracker,
    pending: Vec<(f64, Vec<u8>)>,
    times: Vec<f64>,
}

/// The installed model `name`, if it is of `kind` (`what` names that kind in the error).
fn model_of_kind(models: &Registry, name: &str, kind: ModelKind, what: &str) -> Result<vtx_models::Manifest> {
    let manifest = models.get(name)?;
    if manifest.kind != kind {
        return Err(EngineError::Input(format!(
            "'{}' is {} model, not {what}",
            manifest.name,
            with_article(crate::frame_models::kind_name(manifest.kind))
        )));
    }
    Ok(manifest)
}

fn with_article(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {noun}")
}

/// Objects for the indexed videos that have none from this detector.
struct ObjectsPass<'a> {
    engine: &'a crate::Engine,
    finder: &'a mut ObjectFinder,
    detector: String,
    pooling: vtx_index::Pooling,
}

impl crate::passes::Pass for ObjectsPass<'_> {
    fn doing(&self) -> &'static str {
        "finding objects in"
    }

    fn lacks(&mut self, video: &vtx_index::VideoRecord) -> Result<bool> {
        Ok(!self.engine.has_objects(video.id, &self.detector)?)
    }

    fn run(&mut self, video: &vtx_index::VideoRecord, heard: &mut crate::passes::Heard<'_>) -> Result<Option<usize>> {
        let found = self.engine.detect_objects(video, self.finder, self.pooling, heard)?;
        Ok(found.map(|report| report.tracks.len()))
    }
}

/// What a detector found in an indexed video, as stored.
#[derive(Debug, Clone, Serialize)]
pub struct StoredTracks {
    pub video_id: i64,
    pub detector: String,
    pub fps: f64,
    pub tracks: Vec<Track>,
}

impl crate::Engine {
    /// Detect and track the objects of an indexed video and store them with each segment's
    /// labels, replacing what an earlier run found: what `search --object` filters on. Stopped by
    /// `progress`, it stores nothing and gives `None`.
    pub fn detect_objects(
        &self,
        video: &vtx_index::VideoRecord,
        finder: &mut ObjectFinder,
        pooling: vtx_index::Pooling,
        progress: &mut dyn FnMut(f64, Option<f64>) -> ControlFlow<()>,
    ) -> Result<Option<ObjectsReport>> {
        let Some(report) = finder.run(Path::new(&video.meta.path), progress)? else {
            return Ok(None);
        };
        let segments: Vec<(i64, f64, f64)> = self
            .store
            .segments(video.id)?
            .iter()
            .map(|s| (s.id, s.start, s.end))
            .collect();
        let stored = report.to_stored(&segments);
        // The text spaces first: a crash between the two writes leaves the video without
        // objects, so the next run detects and folds again (folding starts from the moments).
        if finder.folds() {
            let mut writer = self.store.extend_video(video.id, &[])?;
            finder.fold(writer.as_mut(), &stored, pooling)?;
            writer.commit(&video.meta)?;
        }
        self.store.set_objects(video.id, &stored)?;
        Ok(Some(report))
    }

    /// The tracks stored for an indexed video, or `None` if no detector has run on it.
    pub fn video_tracks(&self, video_id: i64) -> Result<Option<StoredTracks>> {
        Ok(self.store.objects(video_id)?.map(|found| StoredTracks {
            video_id,
            detector: found.detector,
            fps: found.fps,
            tracks: found.tracks.iter().map(Track::from_stored).collect(),
        }))
    }

    /// What `index --objects` stored for the indexed video at `path`, as [`objects`] reports it,
    /// or `None` if no detector has run on it.
    pub fn stored_objects(&self, path: &Path) -> Result<Option<ObjectsReport>> {
        let video = self.video_at(path)?;
        Ok(self.store.objects(video.id)?.map(|found| ObjectsReport {
            video: video.meta.path.clone(),
            detector: found.detector,
            frames: found.frames as usize,
            fps: found.fps,
            duration: video.meta.duration,
            tracks: found.tracks.iter().map(Track::from_stored).collect(),
            warning: None,
            times: Vec::new(),
        }))
    }

    /// A detector loaded from this engine's models.
    pub fn object_finder(&self, options: &ObjectOptions) -> Result<ObjectFinder> {
        ObjectFinder::new(&self.registry, options)
    }

    /// A detector for an indexing run with `infos`' models, folding what it finds into their
    /// ConSE text spaces.
    pub(crate) fn object_finder_for(
        &self,
        options: &ObjectOptions,
        infos: &[crate::frame_models::ModelInfo],
    ) -> Result<ObjectFinder> {
        let mut finder = self.object_finder(options)?;
        if options.text_weight > 0.0 {
            // A ConSE model's second space is its text space.
            let bridges = infos
                .iter()
                .filter_map(|info| info.spaces.get(1))
                .map(|space| {
                    TextBridge::for_objects(space.clone(), finder.labels(), |words| {
                        self.embed_texts(&space.model, words)
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            finder.fold_into(bridges);
        }
        Ok(finder)
    }

    /// Whether `video` already has objects from `detector`.
    pub(crate) fn has_objects(&self, video_id: i64, detector: &str) -> Result<bool> {
        Ok(self.store.objects(video_id)?.is_some_and(|o| o.detector == detector))
    }

    /// Objects for the videos of an indexing run that have none from `finder`'s detector, and
    /// whose indexing decode did not already try (`tried`: a failure there is not repeated).
    pub(crate) fn objects_after_indexing(
        &self,
        files: &[(std::path::PathBuf, crate::FileOutcome)],
        tried: &[(std::path::PathBuf, std::result::Result<usize, String>)],
        finder: &mut ObjectFinder,
        pooling: vtx_index::Pooling,
        observer: &mut dyn crate::IndexObserver,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<Vec<(std::path::PathBuf, std::result::Result<usize, String>)>> {
        let tried = tried.iter().map(|(p, _)| p).collect();
        let mut pass = ObjectsPass {
            engine: self,
            detector: finder.detector().to_string(),
            finder,
            pooling,
        };
        crate::passes::after_indexing(&*self.store, files, &tried, &mut pass, observer, cancel)
    }

    /// The moments holding `options.object` (and passing the other filters), best detection
    /// score first: a search by object with no sentence.
    pub fn search_objects(&self, options: &crate::SearchOptions) -> Result<Vec<vtx_index::Hit>> {
        if options.top == 0 {
            return Err(EngineError::invalid("top", "must be at least 1"));
        }
        if options.object.is_none() && options.action.is_none() {
            return Err(EngineError::Input(
                "a search without a sentence needs an object or an action to look for".into(),
            ));
        }
        let mut scored = self.store.object_hits(&options.filter()?, usize::MAX)?;
        if options.per_video {
            let mut seen = std::collections::HashSet::new();
            scored.retain(|p| seen.insert(p.video));
        }
        scored.truncate(options.top);
        Ok(self.store.resolve(&scored)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vtx_models::BBox;

    fn track(id: u32, label: &str, times: &[f64]) -> Track {
        let bbox = BBox {
            x0: 0.1,
            y0: 0.1,
            x1: 0.2,
            y1: 0.4,
        };
        Track {
            id,
            label: label.into(),
            start: times[0],
            end: *times.last().unwrap(),
            score: 0.5,
            velocity: (0.0, 0.0),
            speed: 0.0,
            heading: "still",
            actions: Vec::new(),
            boxes: times
                .iter()
                .map(|&t| TrackBox {
                    t,
                    bbox,
                    score: 0.5,
                    posture: None,
                })
                .collect(),
        }
    }

    #[test]
    fn presence_per_segment_counts_the_most_at_once_and_the_share_of_moments() {
        let report = ObjectsReport {
            video: "v".into(),
            detector: "d".into(),
            frames: 8,
            fps: 2.0,
            duration: 4.0,
            // Two people together in the first two seconds, one of them on into the third; a
            // dog for one moment of the last segment.
            tracks: vec![
                track(1, "person", &[0.0, 0.5, 1.0, 1.5, 2.0, 2.5]),
                track(2, "person", &[0.0, 0.5, 1.0]),
                track(3, "dog", &[3.5]),
            ],
            warning: None,
            times: (0..8).map(|i| f64::from(i) * 0.5).collect(),
        };
        let found = report.per_segment(&[(10, 0.0, 2.0), (11, 2.0, 4.0)], |t, _| Some(t.label.as_str()));
        let summary: Vec<(i64, &str, u32, f32)> = found
            .iter()
            .map(|s| (s.segment, s.label.as_str(), s.count, s.share))
            .collect();
        assert_eq!(
            summary,
            [(10, "person", 2, 1.0), (11, "dog", 1, 0.25), (11, "person", 1, 0.5)]
        );
    }
}
