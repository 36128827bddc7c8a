//! Conversion of decoded frames straight to a model's input size and pixel layout.

use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling::{self, Flags};
use ffmpeg_next::util::frame::video::Video;

use crate::{MediaError, Result};

/// How a frame of any aspect ratio is fitted into the output size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resize {
    /// Scale the shorter side to fit, then cut the centre (what ImageNet and CLIP models expect).
    #[default]
    CenterCrop,
    /// Scale both sides independently, distorting the aspect ratio but keeping all content.
    Squash,
}

/// The resampling filter; models are trained on frames resized one particular way (CLIP with
/// bicubic, most ImageNet models with bilinear), and match it best.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    #[default]
    Bilinear,
    Bicubic,
    Area,
    /// Nearest pixel: reads only the pixels it keeps, so a 1080p frame shrinks to a thumbnail
    /// almost for free (aliasing is harmless where only frame-to-frame change matters).
    Point,
}

impl Filter {
    fn flags(self) -> Flags {
        // Exact rounding and full chroma interpolation keep swscale within a level or two of a
        // float reference (PIL); the default fast paths are off by several levels. Point sampling
        // is for cheap thumbnails, where speed matters and a level does not.
        let quality = Flags::ACCURATE_RND | Flags::FULL_CHR_H_INT | Flags::FULL_CHR_H_INP;
        match self {
            Filter::Bilinear => quality | Flags::BILINEAR,
            Filter::Bicubic => quality | Flags::BICUBIC,
            Filter::Area => quality | Flags::AREA,
            Filter::Point => Flags::POINT,
        }
    }
}

/// The size, fitting and filter of the frames handed to a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSize {
    pub width: u32,
    pub height: u32,
    pub resize: Resize,
    pub filter: Filter,
}

impl FrameSize {
    /// The least picture a pass can ask for, when it decodes only to measure (shots, motion).
    pub const MEASURE_ONLY: FrameSize = FrameSize::new(2, 2, Resize::Squash).with_filter(Filter::Point);

    pub const fn new(width: u32, height: u32, resize: Resize) -> Self {
        Self {
            width,
            height,
            resize,
            filter: Filter::Bilinear,
        }
    }

    pub const fn with_filter(self, filter: Filter) -> Self {
        Self {
            width: self.width,
            height: self.height,
            resize: self.resize,
            filter,
        }
    }
}

/// A swscale context plus the crop that follows it, rebuilt when the input format or size
/// changes mid-stream (which some containers do).
pub(crate) struct Scaler {
    target: FrameSize,
    context: Option<(scaling::Context, (Pixel, u32, u32))>,
    scaled: Video,
}

// SAFETY: a swscale context has no tie to the thread that made it; it only must not be used by two
// threads at once, which exclusive ownership (`&mut self` to convert) already rules out. Shot
// detection and motion move theirs to an analysis thread.
unsafe impl Send for Scaler {}

impl Scaler {
    pub(crate) fn new(target: FrameSize) -> Self {
        Self {
            target,
            context: None,
            scaled: Video::empty(),
        }
    }

    /// The intermediate size that swscale produces before the centre crop.
    fn scaled_size(&self, src_w: u32, src_h: u32) -> (u32, u32) {
        let FrameSize {
            width, height, resize, ..
        } = self.target;
        match resize {
            Resize::Squash => (width, height),
            Resize::CenterCrop => {
                let scale = f64::max(width as f64 / src_w as f64, height as f64 / src_h as f64);
                let w = ((src_w as f64 * scale).round() as u32).max(width);
                let h = ((src_h as f64 * scale).round() as u32).max(height);
                (w, h)
            }
        }
    }

    pub(crate) fn convert(&mut self, frame: &Video) -> Result<Vec<u8>> {
        let key = (frame.format(), frame.width(), frame.height());
        if key.1 == 0 || key.2 == 0 {
            return Err(MediaError::Decode("decoder produced an empty frame".into()));
        }
        if self.context.as_ref().map(|(_, k)| *k) != Some(key) {
            let (w, h) = self.scaled_size(key.1, key.2);
            let ctx = scaling::Context::get(key.0, key.1, key.2, Pixel::RGB24, w, h, self.target.filter.flags())
                .map_err(|e| MediaError::Decode(format!("cannot convert {:?} frames: {e}", key.0)))?;
            self.context = Some((ctx, key));
        }
        let (ctx, _) = self.context.as_mut().expect("scaler context was just created");
        ctx.run(frame, &mut self.scaled)
            .map_err(|e| MediaError::Decode(format!("frame conversion failed: {e}")))?;
        Ok(self.crop())
    }

    /// Copy the centre `target` rectangle out of the scaled frame, dropping swscale's row padding.
    fn crop(&self) -> Vec<u8> {
        let FrameSize { width, height, .. } = self.target;
        let stride = self.scaled.stride(0);
        let data = self.scaled.data(0);
        let x0 = ((self.scaled.width() - width) / 2) as usize;
        let y0 = ((self.scaled.height() - height) / 2) as usize;
        let row_bytes = width as usize * 3;
        let mut out = Vec::with_capacity(row_bytes * height as usize);
        for y in 0..height as usize {
            let start = (y0 + y) * stride + x0 * 3;
            out.extend_from_slice(&data[start..start + row_bytes]);
        }
        out
    }
}

/// Frames shrunk to a small width (the height follows the first frame's aspect ratio), cheaply
/// enough to run on every decoded frame: what shot detection and optical flow look at. Each
/// output pixel is the mean of `supersample` x `supersample` point samples: reading only those
/// pixels is cheap at any resolution (swscale's area filter over a whole 1080p frame cost 35% of
/// indexing when shot detection used it on every frame), and the averaging keeps single-pixel
/// noise from looking like change.
pub(crate) struct SmallFrames {
    width: u32,
    supersample: u32,
    /// For 4:2:0 YUV (nearly every H.264, HEVC, VP9 and MPEG-4 stream).
    direct: Option<Yuv420Sampler>,
    /// For everything else.
    scaler: Option<(Scaler, u32)>,
}

impl SmallFrames {
    pub(crate) fn new(width: u32, supersample: u32) -> Self {
        Self {
            width,
            supersample: supersample.max(1),
            direct: None,
            scaler: None,
        }
    }

    /// The frame as packed RGB, `width` x the returned height.
    pub(crate) fn convert(&mut self, frame: &Video) -> Result<Vec<u8>> {
        Ok(self.convert_sized(frame)?.0)
    }

    /// [`convert`](Self::convert), with the picture's width and height.
    pub(crate) fn convert_sized(&mut self, frame: &Video) -> Result<(Vec<u8>, u32, u32)> {
        let width = self.width;
        if let Some(direct) = self.direct.as_mut().filter(|d| d.fits(frame)) {
            return Ok((direct.convert(frame), width, direct.height));
        }
        if let Some(direct) = Yuv420Sampler::new(frame, width, self.supersample) {
            let height = direct.height;
            let rgb = direct.convert(frame);
            self.direct = Some(direct);
            return Ok((rgb, width, height));
        }
        let k = self.supersample;
        let (scaler, height) = self.scaler.get_or_insert_with(|| {
            let height = (f64::from(width) * f64::from(frame.height()) / f64::from(frame.width().max(1)))
                .round()
                .max(2.0) as u32;
            let size = FrameSize::new(width * k, height * k, Resize::Squash).with_filter(Filter::Point);
            (Scaler::new(size), height)
        });
        let sampled = scaler.convert(frame)?;
        Ok((
            box_average(&sampled, width as usize, *height as usize, k as usize),
            width,
            *height,
        ))
    }
}

/// Small frames read straight from 4:2:0 YUV planes: each output pixel averages k x k
/// point samples of luma and chroma, and only the averages are converted to RGB (BT.601, as
/// swscale does by default). The same picture as the point-sample-and-average path through
/// swscale (conversion is linear), for a fraction of the work: swscale converts every sample.
struct Yuv420Sampler {
    source: (u32, u32),
    height: u32,
    full_range: bool,
    /// Source columns and rows of the point samples, `k` per output pixel.
    columns: Vec<usize>,
    /// The chroma column of each sample (chroma is half as wide).
    chroma_columns: Vec<usize>,
    rows: Vec<usize>,
    k: usize,
}

impl Yuv420Sampler {
    fn new(frame: &Video, width: u32, k: u32) -> Option<Self> {
        let full_range = match frame.format() {
            Pixel::YUV420P => false,
            Pixel::YUVJ420P => true,
            _ => return None,
        };
        let (fw, fh) = (frame.width(), frame.height());
        if fw < 2 || fh < 2 {
            return None;
        }
        let height = (f64::from(width) * f64::from(fh) / f64::from(fw)).round().max(2.0) as u32;
        // The centre of each of the out x k cells across the source.
        let centres = |out: u32, src: u32| -> Vec<usize> {
            let n = u64::from(out * k);
            (0..n)
                .map(|i| ((2 * i + 1) * u64::from(src) / (2 * n)).min(u64::from(src) - 1) as usize)
                .collect()
        };
        let columns = centres(width, fw);
        Some(Self {
            source: (fw, fh),
            height,
            full_range,
            chroma_columns: columns.iter().map(|c| c / 2).collect(),
            columns,
            rows: centres(height, fh),
            k: k as usize,
        })
    }

    fn fits(&self, frame: &Video) -> bool {
        matches!(frame.format(), Pixel::YUV420P | Pixel::YUVJ420P)
            && (frame.width(), frame.height()) == self.source
            && self.full_range == (frame.format() == Pixel::YUVJ420P)
    }

    fn convert(&self, frame: &Video) -> Vec<u8> {
        let k = self.k;
        let width = self.columns.len() / k;
        let mut out = Vec::with_capacity(width * self.height as usize * 3);
        let samples = (k * k) as f32;
        let mut sums = vec![[0u32; 3]; width];
        for rows in self.rows.chunks_exact(k) {
            sums.iter_mut().for_each(|s| *s = [0; 3]);
            // Row by row, so that each source row is read left to right once.
            for &r in rows {
                let luma = &frame.data(0)[r * frame.stride(0)..];
                let u = &frame.data(1)[(r / 2) * frame.stride(1)..];
                let v = &frame.data(2)[(r / 2) * frame.stride(2)..];
                let cells = self.columns.chunks_exact(k).zip(self.chroma_columns.chunks_exact(k));
                for (sum, (columns, chroma)) in sums.iter_mut().zip(cells) {
                    let (mut ys, mut us, mut vs) = (0u32, 0u32, 0u32);
                    for (&c, &h) in columns.iter().zip(chroma) {
                        ys += u32::from(luma[c]);
                        us += u32::from(u[h]);
                        vs += u32::from(v[h]);
                    }
                    sum[0] += ys;
                    sum[1] += us;
                    sum[2] += vs;
                }
            }
            for sum in &sums {
                let [y, u, v] = sum.map(|s| s as f32 / samples);
                out.extend(yuv_to_rgb(y, u, v, self.full_range));
            }
        }
        out
    }
}

/// BT.601 YUV to RGB, limited (16-235) or full range.
fn yuv_to_rgb(y: f32, u: f32, v: f32, full_range: bool) -> [u8; 3] {
    let (y, scale_c) = if full_range {
        (y, 1.0)
    } else {
        ((y - 16.0) * 255.0 / 219.0, 255.0 / 224.0)
    };
    let (u, v) = ((u - 128.0) * scale_c, (v - 128.0) * scale_c);
    let r = y + 1.402 * v;
    let g = y - 0.344_136 * u - 0.714_136 * v;
    let b = y + 1.772 * u;
    // Adding a half then truncating rounds (the values are clamped non-negative first).
    [r, g, b].map(|x| (x.clamp(0.0, 255.0) + 0.5) as u8)
}

/// Mean of each k x k block of a packed RGB picture `width * k` wide.
fn box_average(rgb: &[u8], width: usize, height: usize, k: usize) -> Vec<u8> {
    let row = width * k * 3;
    let mut out = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            let mut sum = [0u32; 3];
            for dy in 0..k {
                let start = (y * k + dy) * row + x * k * 3;
                for px in rgb[start..start + k * 3].chunks_exact(3) {
                    sum.iter_mut().zip(px).for_each(|(s, v)| *s += u32::from(*v));
                }
            }
            out.extend(sum.map(|s| (s / (k * k) as u32) as u8));
        }
    }
    out
}

/// A 64-bit difference hash of a packed RGB24 picture: its grey levels on a 9x8 grid of block
/// means, one bit per pair of horizontal neighbours (brighter or not). Pictures that look alike
/// differ in few bits; a static shot's frames differ in none or one.
pub fn signature(rgb: &[u8], width: u32, height: u32) -> u64 {
    let (w, h) = (width as usize, height as usize);
    if w == 0 || h == 0 || rgb.len() < w * h * 3 {
        return 0;
    }
    let mut grid = [[0f32; 9]; 8];
    for (gy, row) in grid.iter_mut().enumerate() {
        let (y0, y1) = (gy * h / 8, ((gy + 1) * h / 8).max(gy * h / 8 + 1));
        for (gx, cell) in row.iter_mut().enumerate() {
            let (x0, x1) = (gx * w / 9, ((gx + 1) * w / 9).max(gx * w / 9 + 1));
            let mut sum = 0u32;
            for y in y0..y1.min(h) {
                for px in rgb[(y * w + x0) * 3..(y * w + x1.min(w)) * 3].chunks_exact(3) {
                    sum += u32::from(px[0]) + u32::from(px[1]) + u32::from(px[2]);
                }
            }
            *cell = sum as f32 / ((y1 - y0) * (x1 - x0)) as f32;
        }
    }
    let mut bits = 0u64;
    for (gy, row) in grid.iter().enumerate() {
        for gx in 0..8 {
            if row[gx] > row[gx + 1] {
                bits |= 1 << (gy * 8 + gx);
            }
        }
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_frames_read_from_yuv_planes_match_swscale() {
        crate::init();
        for format in [Pixel::YUV420P, Pixel::YUVJ420P] {
            let (w, h) = (384u32, 216u32);
            let mut frame = Video::new(format, w, h);
            for plane in 0..3 {
                let (pw, ph) = if plane == 0 { (w, h) } else { (w / 2, h / 2) };
                let stride = frame.stride(plane);
                let data = frame.data_mut(plane);
                for y in 0..ph as usize {
                    for x in 0..pw as usize {
                        let wave = ((x as f32 * 0.05 + plane as f32).sin() * (y as f32 * 0.07).cos() * 90.0) as i32;
                        data[y * stride + x] = (128 + wave).clamp(0, 255) as u8;
                    }
                }
            }
            let direct = SmallFrames::new(48, 4).convert_sized(&frame).unwrap();
            assert_eq!((direct.1, direct.2), (48, 27));
            let mut scaler = Scaler::new(FrameSize::new(48 * 4, 27 * 4, Resize::Squash).with_filter(Filter::Point));
            let reference = box_average(&scaler.convert(&frame).unwrap(), 48, 27, 4);
            let mean_error = direct
                .0
                .iter()
                .zip(&reference)
                .map(|(a, b)| f64::from(a.abs_diff(*b)))
                .sum::<f64>()
                / reference.len() as f64;
            assert!(mean_error < 3.0, "{format:?}: mean difference {mean_error}");
        }
    }

    #[test]
    fn center_crop_scales_shorter_side_to_target() {
        let s = Scaler::new(FrameSize::new(224, 224, Resize::CenterCrop));
        assert_eq!(s.scaled_size(1280, 720), (398, 224));
        assert_eq!(s.scaled_size(84, 33), (570, 224));
        assert_eq!(s.scaled_size(300, 400), (224, 299));
    }

    #[test]
    fn signatures_tell_pictures_apart_but_not_small_changes() {
        let (w, h) = (36u32, 24u32);
        let picture = |f: &dyn Fn(u32, u32) -> u8| -> Vec<u8> {
            (0..h).flat_map(|y| (0..w).flat_map(move |x| [f(x, y); 3])).collect()
        };
        let ramp = picture(&|x, y| ((x * 7 + y * 3) % 256) as u8);
        let noisy = picture(&|x, y| ((x * 7 + y * 3) % 256) as u8 ^ u8::from((x + y) % 5 == 0));
        let mirrored = picture(&|x, y| (((w - 1 - x) * 7 + y * 3) % 256) as u8);
        let a = signature(&ramp, w, h);
        assert!((a ^ signature(&noisy, w, h)).count_ones() <= 2);
        assert!((a ^ signature(&mirrored, w, h)).count_ones() > 20);
    }

    #[test]
    fn squash_ignores_aspect_ratio() {
        let s = Scaler::new(FrameSize::new(224, 224, Resize::Squash));
        assert_eq!(s.scaled_size(1280, 720), (224, 224));
    }
}
