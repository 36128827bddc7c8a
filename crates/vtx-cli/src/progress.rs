//! The progress of `vtx index`: a bar over bytes (the best predictor of decode time), with
//! videos done, the videos being read and frames a second, and a line for each file that failed
//! or warned.

use indicatif::{ProgressBar, ProgressStyle};
use vtx::{FileOutcome, IndexObserver};

use vtx_api::one_line;

pub struct Progress {
    bar: ProgressBar,
    files: usize,
    done: usize,
    frames: u64,
    /// Videos whose frames are reaching the encoder, oldest first (several with `--jobs`).
    reading: Vec<std::path::PathBuf>,
    /// The video the detector is on, after the decoding (`--objects`).
    detecting: Option<std::path::PathBuf>,
    /// Videos of the run that other workers hold, waited for at the end.
    waiting: usize,
    /// The video whose sound the speech model is on, and how far (seconds of how many).
    hearing: Option<(std::path::PathBuf, f64, Option<f64>)>,
    started: std::time::Instant,
}

impl Progress {
    pub fn new() -> Self {
        Self {
            bar: ProgressBar::hidden(),
            files: 0,
            done: 0,
            frames: 0,
            reading: Vec::new(),
            detecting: None,
            waiting: 0,
            hearing: None,
            started: std::time::Instant::now(),
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn message(&self) -> String {
        let rate = self.frames as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        let reading = match self.reading.as_slice() {
            [] => String::new(),
            paths => format!(
                ", reading {}",
                paths
                    .iter()
                    .map(|p| one_line(p.file_name().map_or(p.as_path(), std::path::Path::new)))
                    .collect::<Vec<_>>()
                    .join(" + ")
            ),
        };
        let hearing = match &self.hearing {
            None => String::new(),
            Some((path, t, length)) => format!(
                ", hearing {} {} of {}",
                one_line(path.file_name().map_or(path.as_path(), std::path::Path::new)),
                vtx_api::format_time(*t),
                length.map_or_else(|| "?".into(), vtx_api::format_time)
            ),
        };
        let waiting = match self.waiting {
            0 => String::new(),
            n => format!(", waiting for {n} that other workers are indexing"),
        };
        format!(
            "{}/{} videos{reading}{hearing}{waiting}, {} frames, {rate:.1} frames/s",
            self.done, self.files, self.frames
        )
    }
}

impl IndexObserver for Progress {
    fn started(&mut self, files: usize, bytes: u64) {
        self.files = files;
        self.done = 0;
        self.bar = ProgressBar::new(bytes);
        self.bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {percent:>3}%  {msg}  ETA {eta}")
                .expect("progress template is valid")
                .progress_chars("=> "),
        );
        self.bar.set_message(self.message());
    }

    fn frames_encoded(&mut self, count: usize) {
        self.frames += count as u64;
        self.bar.set_message(self.message());
    }

    fn begun(&mut self, path: &std::path::Path) {
        self.reading.push(path.to_path_buf());
        self.bar.set_message(self.message());
    }

    fn finished(&mut self, path: &std::path::Path, bytes: u64, outcome: &FileOutcome) {
        self.reading.retain(|p| p != path);
        if self.hearing.as_ref().is_some_and(|(p, ..)| p == path) {
            self.hearing = None;
        }
        if let FileOutcome::Claimed { .. } = outcome {
            // Not done: the run waits for it at the end, and counts it then.
            self.bar.set_message(self.message());
            return;
        }
        self.done += 1;
        self.bar.inc(bytes);
        self.bar.set_message(self.message());
        let path = one_line(path);
        let line = match outcome {
            FileOutcome::Failed(reason) => Some(format!("error: {path}: {reason}")),
            FileOutcome::Indexed { warning: Some(w), .. } => Some(format!("warning: {path}: {w}")),
            FileOutcome::Interrupted => Some(format!("interrupted: {path} (not written)")),
            FileOutcome::Extended { spaces, vectors } => {
                Some(format!("added {} to {path} ({vectors} vectors)", spaces.join(", ")))
            }
            _ => None,
        };
        if let Some(line) = line {
            self.bar.suspend(|| eprintln!("{line}"));
        }
    }

    fn detecting(&mut self, path: &std::path::Path, what: &str, t: f64, length: Option<f64>) {
        let name = one_line(path.file_name().map_or(path, std::path::Path::new));
        let message = format!(
            "{what} {name}: {} of {}",
            vtx_api::format_time(t),
            length.map_or_else(|| "?".into(), vtx_api::format_time)
        );
        if self.detecting.as_deref() != Some(path) {
            // One spinner per video: the bar over bytes belonged to the decode that is over.
            self.bar.finish_and_clear();
            self.bar = ProgressBar::new_spinner();
            self.bar.enable_steady_tick(std::time::Duration::from_millis(200));
            self.detecting = Some(path.to_path_buf());
        }
        self.bar.set_message(message);
    }

    fn hearing(&mut self, path: &std::path::Path, t: f64, length: Option<f64>) {
        self.hearing = Some((path.to_path_buf(), t, length));
        self.bar.set_message(self.message());
    }

    fn waiting(&mut self, videos: usize) {
        self.waiting = videos;
        self.bar.set_message(self.message());
        self.bar.enable_steady_tick(std::time::Duration::from_millis(500));
    }

    fn optimizing(&mut self, space: &str, points: u64) {
        self.bar.finish_and_clear();
        self.bar = ProgressBar::new_spinner();
        self.bar.set_message(format!(
            "updating the approximate index of '{space}' ({points} vectors)"
        ));
        self.bar.enable_steady_tick(std::time::Duration::from_millis(200));
    }
}

/// A bar over the seconds of one video, for a command that works through it (`vtx objects`,
/// `vtx text`); shown once the header says how long the video is, and only on a terminal.
#[derive(Default)]
pub struct SecondsBar {
    bar: Option<ProgressBar>,
}

impl SecondsBar {
    pub fn at(&mut self, t: f64, claimed: Option<f64>) {
        let Some(length) = claimed else { return };
        let bar = self.bar.get_or_insert_with(|| {
            ProgressBar::new((length * 10.0) as u64).with_style(
                indicatif::ProgressStyle::with_template("{bar:40} {msg} (eta {eta})").expect("a valid template"),
            )
        });
        bar.set_position((t * 10.0) as u64);
        bar.set_message(format!(
            "{} of {}",
            vtx_api::format_time(t),
            vtx_api::format_time(length)
        ));
    }

    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
