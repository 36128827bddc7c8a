//! The motion stream: dense optical flow on small grey frames, summarised per moment as camera
//! motion (a global affine fit: pan, zoom, rotation) and local motion (what moves against it).
//!
//! The flow is pyramidal dense Lucas-Kanade: per pixel, a 2x2 system over a 5x5 window, refined
//! coarse to fine over four levels with warping. On 160-pixel-wide frames that is about a
//! millisecond a pair, which is why vtx carries its own (`docs/design.md` says why not OpenCV).

use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use ffmpeg_next::util::frame::video::Video;

use crate::scale::SmallFrames;
use crate::Result;

/// How the motion stream is sampled.
#[derive(Debug, Clone, PartialEq)]
pub struct MotionOptions {
    /// One flow measurement every this many seconds of video.
    pub interval: f64,
    /// Width of the grey frames the flow is computed on (the height follows the aspect ratio).
    pub width: u32,
    /// The second frame of a pair is the first decoded at least this long after the first: slow
    /// motion then moves far enough to measure, whatever the frame rate.
    pub min_gap: f64,
    /// A pair of frames further apart than this is not measured (keyframe-only decoding, gaps).
    pub max_gap: f64,
}

impl Default for MotionOptions {
    fn default() -> Self {
        Self {
            interval: 0.5,
            width: 160,
            min_gap: 0.08,
            max_gap: 0.25,
        }
    }
}

/// Motion at one moment. Speeds are in frame widths per second, so they mean the same at any
/// resolution or frame rate.
#[derive(Debug, Clone, PartialEq)]
pub struct MotionSample {
    /// Seconds into the video (the first frame of the measured pair).
    pub t: f64,
    /// Where the camera moves: right and down are positive (the picture moves the other way).
    pub camera: (f32, f32),
    /// Relative change of scale per second (positive: zooming in or moving forward).
    pub zoom: f32,
    /// Radians per second, clockwise positive.
    pub rotation: f32,
    /// Share of the textured picture that moves against the camera motion.
    pub moving_share: f32,
    /// Mean speed of what moves against the camera motion.
    pub local_speed: f32,
    /// Compact unit-length descriptor for similarity search ([`DESCRIPTOR_DIM`] values).
    pub descriptor: Vec<f32>,
}

/// Length of [`MotionSample::descriptor`].
pub const DESCRIPTOR_DIM: usize = 28;

/// Speeds under this (frame widths per second) are flow noise on compressed video.
const STILL_SPEED: f32 = 0.02;
/// A pixel moves on its own when its flow departs from the camera's by this much, and by at
/// least [`LOCAL_PIXELS`] between the two frames (sub-pixel departures are flow noise).
const LOCAL_SPEED: f32 = 0.05;
const LOCAL_PIXELS: f32 = 1.0;

impl MotionSample {
    /// "still", "camera", "local" or "camera+local": a reading for people.
    pub fn kind(&self) -> &'static str {
        motion_kind(self.camera_speed(), self.zoom, self.moving_share)
    }

    pub fn camera_speed(&self) -> f32 {
        self.camera.0.hypot(self.camera.1)
    }
}

/// The reading of averaged motion figures; see [`MotionSample::kind`].
pub fn motion_kind(camera_speed: f32, zoom: f32, moving_share: f32) -> &'static str {
    let camera = camera_speed > STILL_SPEED || zoom.abs() > STILL_SPEED;
    let local = moving_share > 0.03;
    match (camera, local) {
        (false, false) => "still",
        (true, false) => "camera",
        (false, true) => "local",
        (true, true) => "camera+local",
    }
}

/// A grey picture as floats (0-255).
#[derive(Debug, Clone)]
pub(crate) struct Plane {
    w: usize,
    h: usize,
    data: Vec<f32>,
}

impl Plane {
    fn new(w: usize, h: usize, data: Vec<f32>) -> Self {
        debug_assert_eq!(data.len(), w * h);
        Self { w, h, data }
    }

    fn from_rgb(rgb: &[u8], w: usize, h: usize) -> Self {
        let data = rgb
            .chunks_exact(3)
            .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
            .collect();
        Self::new(w, h, data)
    }

    fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.w + x]
    }

    /// Bilinear sample, clamped at the borders.
    fn sample(&self, x: f32, y: f32) -> f32 {
        let x = x.clamp(0.0, (self.w - 1) as f32);
        let y = y.clamp(0.0, (self.h - 1) as f32);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let top = self.at(x0, y0) * (1.0 - fx) + self.at(x1, y0) * fx;
        let bottom = self.at(x0, y1) * (1.0 - fx) + self.at(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    /// Half the size: blurred first (a 3x3 mean, then each pixel the mean of a 2x2 block), so
    /// that fine texture does not alias into false motion at the coarse levels.
    fn half(&self) -> Plane {
        let blurred = Plane::new(self.w, self.h, box_mean(&self.data, self.w, self.h, 1));
        let (w, h) = (self.w / 2, self.h / 2);
        let mut data = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let (sx, sy) = (2 * x, 2 * y);
                data.push(
                    (blurred.at(sx, sy) + blurred.at(sx + 1, sy) + blurred.at(sx, sy + 1) + blurred.at(sx + 1, sy + 1))
                        / 4.0,
                );
            }
        }
        Plane::new(w, h, data)
    }
}

/// Mean over a (2r+1)^2 window, clamped at the borders: running sums along each row, then a
/// running sum of whole rows (row-major throughout, so both passes stream through memory).
fn box_mean(src: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    let scale = 1.0 / ((2 * r + 1) * (2 * r + 1)) as f32;
    let mut rows = vec![0f32; src.len()];
    for (line, out) in src.chunks_exact(w).zip(rows.chunks_exact_mut(w)) {
        let get = |i: isize| line[i.clamp(0, w as isize - 1) as usize];
        let r = r as isize;
        let mut sum: f32 = (-r..=r).map(get).sum();
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = sum;
            let i = i as isize;
            sum += get(i + r + 1) - get(i - r);
        }
    }
    let row = |y: isize| &rows[y.clamp(0, h as isize - 1) as usize * w..][..w];
    let mut acc = vec![0f32; w];
    for y in -(r as isize)..=(r as isize) {
        acc.iter_mut().zip(row(y)).for_each(|(a, x)| *a += x);
    }
    let mut out = vec![0f32; src.len()];
    for y in 0..h as isize {
        let dst = &mut out[y as usize * w..][..w];
        dst.iter_mut().zip(&acc).for_each(|(d, a)| *d = a * scale);
        let (enter, leave) = (row(y + r as isize + 1), row(y - r as isize));
        acc.iter_mut()
            .zip(enter.iter().zip(leave))
            .for_each(|(a, (e, l))| *a += e - l);
    }
    out
}

/// The median of nine values by Paeth's 19-exchange network, on min/max (branch-free): this
/// runs for every pixel of every pyramid level.
fn median9(p: [f32; 9]) -> f32 {
    let [mut p0, mut p1, mut p2, mut p3, mut p4, mut p5, mut p6, mut p7, mut p8] = p;
    macro_rules! exchange {
        ($a:ident, $b:ident) => {
            let low = $a.min($b);
            $b = $a.max($b);
            $a = low;
        };
    }
    exchange!(p1, p2);
    exchange!(p4, p5);
    exchange!(p7, p8);
    exchange!(p0, p1);
    exchange!(p3, p4);
    exchange!(p6, p7);
    exchange!(p1, p2);
    exchange!(p4, p5);
    exchange!(p7, p8);
    exchange!(p0, p3);
    exchange!(p5, p8);
    exchange!(p4, p7);
    exchange!(p3, p6);
    exchange!(p1, p4);
    exchange!(p2, p5);
    exchange!(p4, p7);
    exchange!(p4, p2);
    exchange!(p6, p4);
    exchange!(p4, p2);
    // The network leaves the others partly sorted; only the middle one is needed.
    let _ = (p0, p1, p2, p3, p5, p6, p7, p8);
    p4
}

/// 3x3 median, clamped at the borders.
fn median3(f: &[f32], w: usize, h: usize) -> Vec<f32> {
    let mut out = vec![0f32; f.len()];
    for y in 0..h {
        let rows = [y.saturating_sub(1) * w, y * w, (y + 1).min(h - 1) * w];
        for x in 0..w {
            let cols = [x.saturating_sub(1), x, (x + 1).min(w - 1)];
            let at = |r: usize, c: usize| f[rows[r] + cols[c]];
            out[y * w + x] = median9([
                at(0, 0),
                at(0, 1),
                at(0, 2),
                at(1, 0),
                at(1, 1),
                at(1, 2),
                at(2, 0),
                at(2, 1),
                at(2, 2),
            ]);
        }
    }
    out
}

const LEVELS: usize = 4;
const ITERATIONS: usize = 2;
const WINDOW_RADIUS: usize = 2;
/// Keeps the 2x2 systems solvable where there is no texture (the flow there stays near zero).
const REGULARISATION: f32 = 1.0;

/// Dense flow from `a` to `b` in pixels: for each pixel of `a`, where it went in `b`. Also returns
/// the smaller eigenvalue of each pixel's structure tensor (how well its flow is determined).
pub(crate) fn dense_flow(a: &Plane, b: &Plane) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut pyramid = vec![(a.clone(), b.clone())];
    while pyramid.len() < LEVELS {
        let (pa, pb) = pyramid.last().expect("starts with one level");
        if pa.w < 16 || pa.h < 16 {
            break;
        }
        let next = (pa.half(), pb.half());
        pyramid.push(next);
    }
    let (mut u, mut v) = (Vec::new(), Vec::new());
    let mut prev_w = 0;
    let mut confidence = Vec::new();
    for (level, (pa, pb)) in pyramid.iter().enumerate().rev() {
        let (w, h) = (pa.w, pa.h);
        // Carry the coarser level's flow up: twice the pixels, twice the displacement.
        if u.is_empty() {
            u = vec![0f32; w * h];
            v = vec![0f32; w * h];
        } else {
            let up = |f: &[f32]| {
                let mut out = Vec::with_capacity(w * h);
                let ph = f.len() / prev_w;
                for y in 0..h {
                    for x in 0..w {
                        out.push(2.0 * f[(y / 2).min(ph - 1) * prev_w + (x / 2).min(prev_w - 1)]);
                    }
                }
                out
            };
            u = up(&u);
            v = up(&v);
        }
        prev_w = w;
        let mut ix = vec![0f32; w * h];
        let mut iy = vec![0f32; w * h];
        for y in 0..h {
            for x in 0..w {
                ix[y * w + x] = (pa.at((x + 1).min(w - 1), y) - pa.at(x.saturating_sub(1), y)) / 2.0;
                iy[y * w + x] = (pa.at(x, (y + 1).min(h - 1)) - pa.at(x, y.saturating_sub(1))) / 2.0;
            }
        }
        let product = |p: &[f32], q: &[f32]| {
            box_mean(
                &p.iter().zip(q).map(|(a, b)| a * b).collect::<Vec<_>>(),
                w,
                h,
                WINDOW_RADIUS,
            )
        };
        let (ixx, ixy, iyy) = (product(&ix, &ix), product(&ix, &iy), product(&iy, &iy));
        for _ in 0..ITERATIONS {
            let mut it = vec![0f32; w * h];
            for y in 0..h {
                for x in 0..w {
                    let i = y * w + x;
                    it[i] = pb.sample(x as f32 + u[i], y as f32 + v[i]) - pa.data[i];
                }
            }
            let (ixt, iyt) = (product(&ix, &it), product(&iy, &it));
            for i in 0..w * h {
                let (a, b, c) = (ixx[i] + REGULARISATION, ixy[i], iyy[i] + REGULARISATION);
                let det = a * c - b * b;
                if det <= f32::EPSILON {
                    continue;
                }
                // Steps are capped so that one bad solve cannot throw a pixel across the frame.
                u[i] += (-(c * ixt[i] - b * iyt[i]) / det).clamp(-2.0, 2.0);
                v[i] += (-(a * iyt[i] - b * ixt[i]) / det).clamp(-2.0, 2.0);
            }
        }
        // A 3x3 median removes the outliers of badly conditioned windows before they spread to
        // the next level (as in Sun, Roth and Black's study of what makes flow work).
        u = median3(&u, w, h);
        v = median3(&v, w, h);
        if level == 0 {
            // Pixels near the border (where the coarse levels' windows run off the picture), or
            // whose content left the frame, have no trustworthy flow.
            let margin = (w / 16).max(WINDOW_RADIUS) as f32;
            confidence = (0..w * h)
                .map(|i| {
                    let (x, y) = ((i % w) as f32, (i / w) as f32);
                    let (tx, ty) = (x + u[i], y + v[i]);
                    let inside = |p: f32, len: usize| p >= margin && p <= len as f32 - 1.0 - margin;
                    if !(inside(x, w) && inside(y, h) && inside(tx, w) && inside(ty, h)) {
                        return 0.0;
                    }
                    let (a, b, c) = (ixx[i], ixy[i], iyy[i]);
                    (a + c) / 2.0 - (((a - c) / 2.0).powi(2) + b * b).sqrt()
                })
                .collect();
        }
    }
    (u, v, confidence)
}

/// Pixels whose smaller structure-tensor eigenvalue is under this are flat: their flow is a guess.
const MIN_TEXTURE: f32 = 20.0;

/// Weighted least-squares affine flow model over (x, y) in frame widths: u = p0 + p1 x + p2 y.
fn fit_affine(points: &[(f32, f32, f32)], values: impl Fn(usize) -> f32) -> [f32; 3] {
    let mut m = [[0f64; 3]; 3];
    let mut r = [0f64; 3];
    for (i, &(x, y, _)) in points.iter().enumerate() {
        let basis = [1.0, f64::from(x), f64::from(y)];
        for a in 0..3 {
            for b in 0..3 {
                m[a][b] += basis[a] * basis[b];
            }
            r[a] += basis[a] * f64::from(values(i));
        }
    }
    solve3(m, r).map_or([0.0; 3], |p| p.map(|x| x as f32))
}

fn solve3(m: [[f64; 3]; 3], r: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&m);
    if d.abs() < 1e-12 {
        return None;
    }
    let mut out = [0f64; 3];
    for (col, slot) in out.iter_mut().enumerate() {
        let mut mc = m;
        for row in 0..3 {
            mc[row][col] = r[row];
        }
        *slot = det(&mc) / d;
    }
    Some(out)
}

/// x / (x + scale): speeds of any size squeezed into 0..1 so that no one feature dominates the
/// descriptor's cosine.
fn squash(x: f32, scale: f32) -> f32 {
    x / (x + scale)
}

/// Summarise a flow field (pixels over `dt` seconds, frames `w` x `h`) as a [`MotionSample`].
pub(crate) fn summarise(t: f64, u: &[f32], v: &[f32], confidence: &[f32], w: usize, h: usize, dt: f64) -> MotionSample {
    let per_second = 1.0 / (w as f32 * dt as f32);
    let local_threshold = LOCAL_SPEED.max(LOCAL_PIXELS * per_second);
    // Textured pixels only, in frame widths from the centre, flow in frame widths per second.
    let mut points = Vec::new();
    let mut flows = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            if confidence[i] >= MIN_TEXTURE {
                let (px, py) = (
                    (x as f32 - w as f32 / 2.0) / w as f32,
                    (y as f32 - h as f32 / 2.0) / w as f32,
                );
                points.push((px, py, 1.0));
                flows.push((u[i] * per_second, v[i] * per_second, x * 3 / w.max(1), y * 3 / h.max(1)));
            }
        }
    }
    let mut descriptor = vec![0f32; DESCRIPTOR_DIM];
    if points.len() < 16 {
        // A black or flat picture: nothing can be said to move.
        descriptor[0] = 1.0;
        return MotionSample {
            t,
            camera: (0.0, 0.0),
            zoom: 0.0,
            rotation: 0.0,
            moving_share: 0.0,
            local_speed: 0.0,
            descriptor,
        };
    }
    // Fit the camera's motion, then again without the pixels that move on their own (a robust
    // fit in two rounds: the moving object must not drag the camera estimate along).
    let fit = |keep: &[bool]| {
        let kept: Vec<usize> = (0..points.len()).filter(|&i| keep[i]).collect();
        let pts: Vec<(f32, f32, f32)> = kept.iter().map(|&i| points[i]).collect();
        let pu = fit_affine(&pts, |k| flows[kept[k]].0);
        let pv = fit_affine(&pts, |k| flows[kept[k]].1);
        (pu, pv)
    };
    let residual = |(pu, pv): &([f32; 3], [f32; 3]), i: usize| {
        let (x, y, _) = points[i];
        let (fu, fv, _, _) = flows[i];
        (
            fu - (pu[0] + pu[1] * x + pu[2] * y),
            fv - (pv[0] + pv[1] * x + pv[2] * y),
        )
    };
    let mut model = fit(&vec![true; points.len()]);
    let keep: Vec<bool> = (0..points.len())
        .map(|i| {
            let (ru, rv) = residual(&model, i);
            ru.hypot(rv) < local_threshold
        })
        .collect();
    if keep.iter().filter(|k| **k).count() >= points.len() / 4 {
        model = fit(&keep);
    }
    let (pu, pv) = model;
    // The picture's motion at the centre is the opposite of the camera's.
    let camera = (-pu[0], -pv[0]);
    let zoom = (pu[1] + pv[2]) / 2.0;
    let rotation = (pv[1] - pu[2]) / 2.0;
    let n = points.len() as f32;
    let mut moving = 0f32;
    let mut local_sum = 0f32;
    let mut directions = [0f32; 8];
    let mut speeds = [0f32; 4];
    let mut grid_moving = [0f32; 9];
    let mut grid_all = [0f32; 9];
    for (i, &(_, _, column, row)) in flows.iter().enumerate() {
        let (ru, rv) = residual(&model, i);
        let speed = ru.hypot(rv);
        let cell = row.min(2) * 3 + column.min(2);
        grid_all[cell] += 1.0;
        if speed < local_threshold {
            continue;
        }
        moving += 1.0;
        local_sum += speed;
        grid_moving[cell] += 1.0;
        let angle = rv.atan2(ru).rem_euclid(std::f32::consts::TAU);
        directions[((angle / std::f32::consts::TAU * 8.0 + 0.5) as usize) % 8] += 1.0;
        let bin = ((speed / local_threshold).log2().floor().max(0.0) as usize).min(3);
        speeds[bin] += 1.0;
    }
    let moving_share = moving / n;
    let local_speed = if moving > 0.0 { local_sum / moving } else { 0.0 };
    let camera_speed = camera.0.hypot(camera.1);
    // Local features are scaled by the square root of the moving share, so that an object
    // covering a tenth of the picture weighs about a third, as much as a moderate pan.
    let presence = moving_share.sqrt();
    let total = camera_speed + zoom.abs() + rotation.abs() + local_speed * presence;
    descriptor[0] = 1.0 - squash(total, 0.05);
    if camera_speed > 0.0 {
        let s = squash(camera_speed, 0.1) / camera_speed;
        descriptor[1] = camera.0 * s;
        descriptor[2] = camera.1 * s;
    }
    descriptor[3] = zoom.signum() * squash(zoom.abs(), 0.1);
    descriptor[4] = rotation.signum() * squash(rotation.abs(), 0.5);
    descriptor[5] = presence;
    descriptor[6] = squash(local_speed, 0.2) * presence;
    let of_moving = |count: f32| if moving > 0.0 { count / moving * presence } else { 0.0 };
    for (slot, count) in descriptor[7..15].iter_mut().zip(directions) {
        *slot = of_moving(count);
    }
    for (slot, (m, all)) in descriptor[15..24].iter_mut().zip(grid_moving.iter().zip(grid_all)) {
        *slot = if all > 0.0 { m / all } else { 0.0 };
    }
    for (slot, count) in descriptor[24..28].iter_mut().zip(speeds) {
        *slot = of_moving(count);
    }
    let norm = descriptor.iter().map(|x| x * x).sum::<f32>().sqrt();
    descriptor.iter_mut().for_each(|x| *x /= norm.max(f32::EPSILON));
    MotionSample {
        t,
        camera,
        zoom,
        rotation,
        moving_share,
        local_speed,
        descriptor,
    }
}

/// Each grey pixel averages 2x2 point samples: enough against aliasing at 160 px for the flow
/// tests, at a quarter of the reads of 4x4 (the motion pictures were 40% of the analysis time).
const SUPERSAMPLE: u32 = 2;

/// Two frames to measure the flow between.
struct Pair {
    t: f64,
    dt: f64,
    a: Plane,
    b: Plane,
}

/// Pairs waiting for the flow worker; beyond this the decoder waits (each pair is ~100 KB).
const QUEUED_PAIRS: usize = 16;

/// Motion measured along a decode: at each interval, the frame reached and the first decoded at
/// least `min_gap` later. The flow runs on a worker thread, so a decode-bound pipeline does not
/// wait for it (the second core is idle there).
pub(crate) struct MotionTracker<'a> {
    options: &'a MotionOptions,
    small: SmallFrames,
    next_target: f64,
    first: Option<(f64, Plane)>,
    worker: Option<(SyncSender<Pair>, JoinHandle<Vec<MotionSample>>)>,
}

impl<'a> MotionTracker<'a> {
    pub(crate) fn new(options: &'a MotionOptions) -> Result<Self> {
        if !(options.interval.is_finite() && options.interval > 0.0) || options.width < 32 {
            return Err(crate::MediaError::InvalidSampling(
                "motion: interval > 0 and width >= 32".into(),
            ));
        }
        Ok(Self {
            options,
            small: SmallFrames::new(options.width, SUPERSAMPLE),
            next_target: 0.0,
            first: None,
            worker: None,
        })
    }

    fn grey(&mut self, frame: &Video) -> Result<Plane> {
        let (rgb, w, h) = self.small.convert_sized(frame)?;
        Ok(Plane::from_rgb(&rgb, w as usize, h as usize))
    }

    pub(crate) fn feed(&mut self, frame: &Video, t: f64) -> Result<()> {
        if let Some((t0, a)) = self.first.take() {
            let dt = t - t0;
            if dt < self.options.min_gap {
                self.first = Some((t0, a));
            } else if dt <= self.options.max_gap {
                let pair = Pair {
                    t: t0,
                    dt,
                    a,
                    b: self.grey(frame)?,
                };
                let (sender, _) = self.worker.get_or_insert_with(|| {
                    let (sender, pairs) = sync_channel::<Pair>(QUEUED_PAIRS);
                    let worker = std::thread::spawn(move || {
                        pairs
                            .iter()
                            .map(|p| {
                                let (u, v, confidence) = dense_flow(&p.a, &p.b);
                                summarise(p.t, &u, &v, &confidence, p.a.w, p.a.h, p.dt)
                            })
                            .collect()
                    });
                    (sender, worker)
                });
                // The worker only stops when the sender is dropped: a send cannot fail.
                let _ = sender.send(pair);
            }
            return Ok(());
        }
        if t >= self.next_target {
            self.first = Some((t, self.grey(frame)?));
            while self.next_target <= t {
                self.next_target += self.options.interval;
            }
        }
        Ok(())
    }

    /// Wait for the worker and return the samples in time order.
    pub(crate) fn finish(self) -> Vec<MotionSample> {
        match self.worker {
            None => Vec::new(),
            Some((sender, worker)) => {
                drop(sender);
                worker.join().unwrap_or_else(|_| {
                    tracing::warn!("the optical flow worker failed; this video has no motion stream");
                    Vec::new()
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth random texture, shifted by (dx, dy) pixels.
    fn texture(w: usize, h: usize, dx: f32, dy: f32) -> Plane {
        let value = |x: f32, y: f32| {
            128.0
                + 40.0 * (x * 0.31 + y * 0.17).sin()
                + 30.0 * (x * 0.07 - y * 0.23).cos()
                + 25.0 * (x * 0.13 * y * 0.011).sin()
        };
        let data = (0..h)
            .flat_map(|y| (0..w).map(move |x| value(x as f32 - dx, y as f32 - dy)))
            .collect();
        Plane::new(w, h, data)
    }

    #[test]
    fn median9_is_the_median_of_any_nine() {
        let mut seed = 12345u32;
        for _ in 0..1000 {
            let mut values = [0f32; 9];
            for v in &mut values {
                seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
                *v = (seed >> 16) as f32;
            }
            let mut sorted = values;
            sorted.sort_by(f32::total_cmp);
            assert_eq!(median9(values), sorted[4]);
        }
    }

    fn median(mut v: Vec<f32>) -> f32 {
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    }

    #[test]
    fn a_shifted_texture_gives_its_shift() {
        for (dx, dy) in [(1.0, 0.0), (3.0, -2.0), (-6.5, 4.0)] {
            let (a, b) = (texture(160, 90, 0.0, 0.0), texture(160, 90, dx, dy));
            let (u, v, _) = dense_flow(&a, &b);
            let (mu, mv) = (median(u), median(v));
            assert!(
                (mu - dx).abs() < 0.15 && (mv - dy).abs() < 0.15,
                "({dx}, {dy}): got ({mu}, {mv})"
            );
        }
    }

    #[test]
    fn a_global_shift_reads_as_camera_motion_and_a_patch_as_local() {
        let (w, h) = (160, 90);
        // The picture moves 4 px left in 0.04 s: the camera pans right at 0.625 widths/s.
        let (a, b) = (texture(w, h, 0.0, 0.0), texture(w, h, -4.0, 0.0));
        let (u, v, c) = dense_flow(&a, &b);
        let pan = summarise(0.0, &u, &v, &c, w, h, 0.04);
        assert_eq!(pan.kind(), "camera", "{pan:?}");
        assert!(
            (pan.camera.0 - 0.625).abs() < 0.05 && pan.camera.1.abs() < 0.05,
            "{pan:?}"
        );
        // Only a 30x30 patch moves 3 px down.
        let moved = texture(w, h, 0.0, 3.0);
        let mut b = a.clone();
        for y in 30..60 {
            for x in 60..90 {
                b.data[y * w + x] = moved.data[y * w + x];
            }
        }
        let (u, v, c) = dense_flow(&a, &b);
        let local = summarise(0.0, &u, &v, &c, w, h, 0.04);
        assert_eq!(local.kind(), "local", "{local:?}");
        assert!(local.moving_share > 0.03 && local.moving_share < 0.2, "{local:?}");
        // Still: no motion at all.
        let (u, v, c) = dense_flow(&a, &a);
        let still = summarise(0.0, &u, &v, &c, w, h, 0.04);
        assert_eq!(still.kind(), "still");
        assert!(still.descriptor[0] > 0.99);
        for s in [&pan, &local, &still] {
            let norm: f32 = s.descriptor.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4);
        }
    }
}
