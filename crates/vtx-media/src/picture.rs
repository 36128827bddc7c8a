//! Still pictures out: JPEG thumbnails with FFmpeg's own MJPEG encoder (already linked for
//! decoding, so no image crate is needed).

use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling::{self, Flags};
use ffmpeg_next::util::frame::video::Video;
use ffmpeg_next::{codec, encoder, Packet, Rational};

use crate::{init, MediaError, Result};

/// MJPEG quantiser scale (2 best .. 31 worst): 5 keeps a 320x180 thumbnail near 10 KB with no
/// visible blocking.
const JPEG_QSCALE: i32 = 5;

fn encode_error(e: impl std::fmt::Display) -> MediaError {
    MediaError::Decode(format!("JPEG encoding failed: {e}"))
}

/// Encode a packed RGB24 picture (`width * height * 3` bytes) as a baseline JPEG.
pub fn encode_jpeg(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    init();
    let row = width as usize * 3;
    if width == 0 || height == 0 || rgb.len() != row * height as usize {
        return Err(encode_error(format!(
            "{} bytes is not a {width}x{height} RGB picture",
            rgb.len()
        )));
    }
    let mut src = Video::new(Pixel::RGB24, width, height);
    let stride = src.stride(0);
    for (y, line) in rgb.chunks_exact(row).enumerate() {
        src.data_mut(0)[y * stride..y * stride + row].copy_from_slice(line);
    }
    let mut yuv = Video::empty();
    scaling::Context::get(
        Pixel::RGB24,
        width,
        height,
        Pixel::YUVJ420P,
        width,
        height,
        Flags::BILINEAR | Flags::ACCURATE_RND,
    )
    .and_then(|mut ctx| ctx.run(&src, &mut yuv))
    .map_err(encode_error)?;
    let codec = encoder::find(codec::Id::MJPEG).ok_or_else(|| encode_error("no MJPEG encoder in this FFmpeg"))?;
    let mut context = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(encode_error)?;
    context.set_width(width);
    context.set_height(height);
    context.set_format(Pixel::YUVJ420P);
    context.set_time_base(Rational(1, 1));
    context.set_flags(codec::Flags::QSCALE);
    let lambda = JPEG_QSCALE * ffmpeg_next::ffi::FF_QP2LAMBDA;
    context.set_global_quality(lambda);
    let mut jpeg = context.open_as(codec).map_err(encode_error)?;
    // With a fixed quantiser the encoder reads the quality from each frame, as the ffmpeg CLI sets it.
    // SAFETY: `yuv` is a valid, exclusively owned frame; `quality` is a plain int field.
    unsafe { (*yuv.as_mut_ptr()).quality = lambda };
    yuv.set_pts(Some(0));
    jpeg.send_frame(&yuv).map_err(encode_error)?;
    jpeg.send_eof().map_err(encode_error)?;
    let mut packet = Packet::empty();
    jpeg.receive_packet(&mut packet).map_err(encode_error)?;
    packet
        .data()
        .map(<[u8]>::to_vec)
        .ok_or_else(|| encode_error("the encoder returned no data"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gradient_round_trips_through_jpeg() {
        let (w, h) = (64u32, 36u32);
        let rgb: Vec<u8> = (0..h)
            .flat_map(|y| (0..w).flat_map(move |x| [(x * 4) as u8, (y * 7) as u8, 128]))
            .collect();
        let jpeg = encode_jpeg(&rgb, w, h).unwrap();
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "JPEG start-of-image marker");
        assert_eq!(&jpeg[jpeg.len() - 2..], &[0xFF, 0xD9], "JPEG end-of-image marker");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jpg");
        std::fs::write(&path, &jpeg).unwrap();
        let size = crate::FrameSize::new(w, h, crate::Resize::Squash);
        let back = crate::load_picture(&path, &[size]).unwrap().remove(0);
        let mean_error = back
            .iter()
            .zip(&rgb)
            .map(|(a, b)| f64::from(a.abs_diff(*b)))
            .sum::<f64>()
            / rgb.len() as f64;
        assert!(mean_error < 4.0, "mean error {mean_error}");
        assert!(encode_jpeg(&rgb[1..], w, h).is_err());
    }
}
