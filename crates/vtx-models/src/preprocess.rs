//! Packed RGB24 frames of a model's input size to the float tensor its graph takes.

use crate::manifest::{ChannelOrder, ClipLayout, ImageLayout, PixelRange, Preprocess};
use crate::{ModelError, Result};

impl Preprocess {
    pub fn width(&self) -> usize {
        self.size[0] as usize
    }
    pub fn height(&self) -> usize {
        self.size[1] as usize
    }
    fn frame_bytes(&self) -> usize {
        self.width() * self.height() * 3
    }

    /// Per-channel `scale` and `offset` so that `value = byte * scale + offset` is
    /// `(byte / range - mean) / std` in one multiply-add.
    fn affine(&self) -> [(f32, f32); 3] {
        let range = match self.range {
            PixelRange::Unit => 255.0,
            PixelRange::Byte => 1.0,
        };
        std::array::from_fn(|c| {
            let scale = 1.0 / (range * self.std[c]);
            (scale, -self.mean[c] / self.std[c])
        })
    }

    pub(crate) fn check_frames(&self, frames: &[&[u8]]) -> Result<()> {
        let expected = self.frame_bytes();
        match frames.iter().find(|f| f.len() != expected) {
            Some(bad) => Err(ModelError::Input(format!(
                "frame of {} bytes, expected {expected} ({}x{} RGB)",
                bad.len(),
                self.width(),
                self.height()
            ))),
            None => Ok(()),
        }
    }

    /// Write one frame into `dst` (length `3 * width * height`) in the manifest's layout, with
    /// `plane_stride` between channel planes for planar layouts (so a frame can land inside a
    /// `[C, T, H, W]` clip tensor).
    fn write_frame(&self, frame: &[u8], dst: &mut [f32], planar: bool, plane_stride: usize) {
        let affine = self.affine();
        let source_channel = |c: usize| match self.channels {
            ChannelOrder::Rgb => c,
            ChannelOrder::Bgr => 2 - c,
        };
        if planar {
            for c in 0..3 {
                let (scale, offset) = affine[c];
                let src = source_channel(c);
                let plane = &mut dst[c * plane_stride..c * plane_stride + self.width() * self.height()];
                for (out, px) in plane.iter_mut().zip(frame.chunks_exact(3)) {
                    *out = f32::from(px[src]) * scale + offset;
                }
            }
        } else {
            for (out, px) in dst.chunks_exact_mut(3).zip(frame.chunks_exact(3)) {
                for c in 0..3 {
                    let (scale, offset) = affine[c];
                    out[c] = f32::from(px[source_channel(c)]) * scale + offset;
                }
            }
        }
    }

    /// `frames` to an image tensor and its shape.
    pub fn image_tensor(&self, frames: &[&[u8]]) -> Result<(Vec<usize>, Vec<f32>)> {
        self.check_frames(frames)?;
        let (w, h, n) = (self.width(), self.height(), frames.len());
        let mut out = vec![0f32; n * 3 * w * h];
        let planar = self.layout == ImageLayout::Nchw;
        for (frame, dst) in frames.iter().zip(out.chunks_exact_mut(3 * w * h)) {
            self.write_frame(frame, dst, planar, w * h);
        }
        let shape = match self.layout {
            ImageLayout::Nchw => vec![n, 3, h, w],
            ImageLayout::Nhwc => vec![n, h, w, 3],
        };
        Ok((shape, out))
    }

    /// Clips of `t` frames each to a 5-D tensor in `layout`, and its shape.
    pub fn clip_tensor(&self, clips: &[Vec<&[u8]>], t: usize, layout: ClipLayout) -> Result<(Vec<usize>, Vec<f32>)> {
        let (w, h, n) = (self.width(), self.height(), clips.len());
        let frame_len = 3 * w * h;
        let mut out = vec![0f32; n * t * frame_len];
        for (clip, dst) in clips.iter().zip(out.chunks_exact_mut(t * frame_len)) {
            if clip.len() != t {
                return Err(ModelError::Input(format!(
                    "a clip of {} frames, the model takes {t}",
                    clip.len()
                )));
            }
            self.check_frames(clip)?;
            for (i, frame) in clip.iter().enumerate() {
                match layout {
                    // Channel planes are t frames apart: [C, T, H, W].
                    ClipLayout::Bcthw => self.write_frame(frame, &mut dst[i * w * h..], true, t * w * h),
                    ClipLayout::Btchw => self.write_frame(frame, &mut dst[i * frame_len..], true, w * h),
                }
            }
        }
        let shape = match layout {
            ClipLayout::Bcthw => vec![n, 3, t, h, w],
            ClipLayout::Btchw => vec![n, t, 3, h, w],
        };
        Ok((shape, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Interpolation, ResizeMode};

    fn pre(range: PixelRange, channels: ChannelOrder, layout: ImageLayout) -> Preprocess {
        Preprocess {
            size: [2, 1],
            resize: ResizeMode::CenterCrop,
            interpolation: Interpolation::Bilinear,
            range,
            mean: [0.5, 0.25, 0.0],
            std: [0.5, 0.25, 1.0],
            channels,
            layout,
        }
    }

    // A 2x1 frame: pure red, then white.
    const FRAME: [u8; 6] = [255, 0, 0, 255, 255, 255];

    #[test]
    fn unit_range_mean_std_planar() {
        let (shape, t) = pre(PixelRange::Unit, ChannelOrder::Rgb, ImageLayout::Nchw)
            .image_tensor(&[&FRAME])
            .unwrap();
        assert_eq!(shape, [1, 3, 1, 2]);
        // R plane: (1-0.5)/0.5 twice; G: (0-0.25)/0.25, (1-0.25)/0.25; B: 0, 1.
        let expected = [1.0, 1.0, -1.0, 3.0, 0.0, 1.0];
        assert!(t.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-6), "{t:?}");
    }

    #[test]
    fn byte_range_bgr_interleaved() {
        let p = Preprocess {
            mean: [0.0; 3],
            std: [1.0; 3],
            ..pre(PixelRange::Byte, ChannelOrder::Bgr, ImageLayout::Nhwc)
        };
        let (shape, t) = p.image_tensor(&[&FRAME]).unwrap();
        assert_eq!(shape, [1, 1, 2, 3]);
        assert_eq!(t, [0.0, 0.0, 255.0, 255.0, 255.0, 255.0]);
    }

    #[test]
    fn clip_layouts_place_frames_and_channels() {
        let p = Preprocess {
            mean: [0.0; 3],
            std: [1.0; 3],
            ..pre(PixelRange::Byte, ChannelOrder::Rgb, ImageLayout::Nchw)
        };
        let a = [1u8, 2, 3, 4, 5, 6];
        let b = [7u8, 8, 9, 10, 11, 12];
        let clip = vec![&a[..], &b[..]];
        let (shape, t) = p
            .clip_tensor(std::slice::from_ref(&clip), 2, ClipLayout::Bcthw)
            .unwrap();
        assert_eq!(shape, [1, 3, 2, 1, 2]);
        // [C][T][W]: R of a, R of b, G of a, G of b, ...
        assert_eq!(t, [1.0, 4.0, 7.0, 10.0, 2.0, 5.0, 8.0, 11.0, 3.0, 6.0, 9.0, 12.0]);
        let (shape, t) = p.clip_tensor(&[clip], 2, ClipLayout::Btchw).unwrap();
        assert_eq!(shape, [1, 2, 3, 1, 2]);
        assert_eq!(t, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0, 7.0, 10.0, 8.0, 11.0, 9.0, 12.0]);
        assert!(p.clip_tensor(&[vec![&a[..]]], 2, ClipLayout::Bcthw).is_err());
    }
}
