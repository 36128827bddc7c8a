//! The PP-OCRv4 reader on frames of real footage with text drawn over it in several fonts, sizes
//! and colours at known times (`make setup` renders them with FFmpeg's drawtext from
//! scripts/text-fixtures.tsv and writes truth.tsv).

use std::path::PathBuf;

use vtx_models::{OnnxTextReader, Registry, TextReader};

fn cache() -> PathBuf {
    std::env::var_os("VTX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/vtx"))
}

fn reader() -> OnnxTextReader {
    let dir = std::env::var_os("VTX_MODELS").map_or_else(|| cache().join("models"), PathBuf::from);
    let registry = Registry::new(&dir);
    let manifest = registry
        .get("ppocr-v4")
        .unwrap_or_else(|e| panic!("{e}: run `make setup`"));
    OnnxTextReader::load(&manifest, registry.options()).unwrap()
}

/// (clip, start, end, font size, text) for each drawn line.
fn truth() -> Vec<(PathBuf, f64, f64, u32, String)> {
    let path = cache().join("fixtures/text/truth.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}: run `make setup`", path.display()));
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            (
                f[0].into(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4].into(),
            )
        })
        .collect()
}

/// The frame of `clip` at `t`, scaled by FFmpeg to `w` x `h`.
fn frame(clip: &std::path::Path, t: f64, w: u32, h: u32) -> Vec<u8> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &t.to_string(), "-i"])
        .arg(clip)
        .args([
            "-frames:v",
            "1",
            "-vf",
            &format!("scale={w}:{h}"),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Character error rate of the best of `read` against `truth`.
fn cer(truth: &str, read: &[String]) -> f64 {
    read.iter()
        .map(|r| vtx_core::character_error_rate(truth, r))
        .fold(1.0, f64::min)
}

#[test]
fn every_drawn_line_is_read_in_the_middle_of_its_time() {
    let mut reader = reader();
    let mut rates = Vec::new();
    for (clip, start, end, size, text) in truth() {
        let probe = std::process::Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=width,height",
                "-of",
                "csv=p=0",
            ])
            .arg(&clip)
            .output()
            .unwrap();
        let dims: Vec<f64> = String::from_utf8_lossy(&probe.stdout)
            .trim()
            .split(',')
            .map(|d| d.parse().unwrap())
            .collect();
        let (w, h) = reader.frame_size(dims[0] / dims[1]);
        let lines = reader.read(&frame(&clip, (start + end) / 2.0, w, h), w, h).unwrap();
        for line in &lines {
            let b = line.bbox;
            assert!(
                0.0 <= b.x0 && b.x0 < b.x1 && b.x1 <= 1.0 && 0.0 <= b.y0 && b.y0 < b.y1 && b.y1 <= 1.0,
                "{b:?}"
            );
            assert!((0.0..=1.0).contains(&line.score));
        }
        let read: Vec<String> = lines.into_iter().map(|l| l.text).collect();
        let rate = cer(&text, &read);
        eprintln!("{size:>3} px  CER {rate:.3}  '{text}'  read {read:?}");
        // Measured: every line exact (CER 0) at 16 px and up.
        assert!(rate <= 0.15, "'{text}' ({size} px) read as {read:?}");
        rates.push(rate);
    }
    let mean = rates.iter().sum::<f64>() / rates.len() as f64;
    eprintln!("mean CER {mean:.3} over {} lines", rates.len());
    assert!(mean <= 0.05, "mean CER {mean}");
}

#[test]
fn a_frame_without_text_has_no_lines_and_a_wrong_frame_is_refused() {
    let mut reader = reader();
    let (w, h) = reader.frame_size(16.0 / 9.0);
    let grey = vec![90u8; (w * h * 3) as usize];
    assert!(reader.read(&grey, w, h).unwrap().is_empty());
    assert!(reader.read(&grey[1..], w, h).is_err());
    assert!(
        reader.read(&vec![0u8; 100 * 50 * 3], 100, 50).is_err(),
        "sides not multiples of 32"
    );
}

/// Mean CER of the reference lines of a page, each against its best-read line.
fn page_cer(clip: &str) -> f64 {
    let mut reader = reader();
    let (w, h) = reader.frame_size(16.0 / 9.0);
    let lines = reader
        .read(&frame(&cache().join("fixtures/text").join(clip), 0.5, w, h), w, h)
        .unwrap();
    let read: Vec<String> = lines.into_iter().map(|l| l.text).collect();
    let page = include_str!("fixtures/page.txt");
    let rates: Vec<f64> = page.lines().map(|line| cer(line, &read)).collect();
    rates.iter().sum::<f64>() / rates.len() as f64
}

#[test]
fn a_printed_page_is_read_line_by_line_level_or_slanted() {
    let level = page_cer("page-level.mp4");
    let slanted = page_cer("page-slanted.mp4");
    eprintln!("page CER: level {level:.4}, slanted by about 5 degrees {slanted:.4}");
    // Measured: level 0.000, slanted 0.0125.
    assert!(level <= 0.01, "level page CER {level}");
    assert!(slanted <= 0.04, "slanted page CER {slanted}");
}
