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
    pub fn new(width: u32, height: u32, resize: Resize) -> Self {
        Self {
            width,
            height,
            resize,
            filter: Filter::Bilinear,
        }
    }

    pub fn with_filter(self, filter: Filter) -> Self {
        Self { filter, ..self }
    }
}

/// A swscale context plus the crop that follows it, rebuilt when the input format or size
/// changes mid-stream (which some containers do).
pub(crate) struct Scaler {
    target: FrameSize,
    context: Option<(scaling::Context, (Pixel, u32, u32))>,
    scaled: Video,
}

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
