//! Still pictures: JPEG thumbnails with FFmpeg's own MJPEG encoder, PNG for contact sheets and
//! plots, and JPEG decoding back (FFmpeg is already linked for video, so no image crate).

use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling::{self, Flags};
use ffmpeg_next::util::frame::video::Video;
use ffmpeg_next::{codec, decoder, encoder, Packet, Rational};

use crate::scale::{FrameSize, Scaler};
use crate::{init, MediaError, Result};

/// MJPEG quantiser scale (2 best .. 31 worst): 5 keeps a 320x180 thumbnail near 10 KB with no
/// visible blocking.
const JPEG_QSCALE: i32 = 5;

fn picture_error(what: &str, e: impl std::fmt::Display) -> MediaError {
    MediaError::Decode(format!("{what} failed: {e}"))
}

/// A packed RGB24 picture (`width * height * 3` bytes) in an FFmpeg frame.
fn rgb_frame(rgb: &[u8], width: u32, height: u32, what: &str) -> Result<Video> {
    let row = width as usize * 3;
    if width == 0 || height == 0 || rgb.len() != row * height as usize {
        return Err(picture_error(
            what,
            format!("{} bytes is not a {width}x{height} RGB picture", rgb.len()),
        ));
    }
    let mut frame = Video::new(Pixel::RGB24, width, height);
    let stride = frame.stride(0);
    for (y, line) in rgb.chunks_exact(row).enumerate() {
        frame.data_mut(0)[y * stride..y * stride + row].copy_from_slice(line);
    }
    Ok(frame)
}

/// One picture through one of FFmpeg's still-image encoders; `quality` is a fixed quantiser (in
/// lambda units) when given.
fn encode_still(id: codec::Id, mut frame: Video, quality: Option<i32>, what: &str) -> Result<Vec<u8>> {
    let fail = |e: &dyn std::fmt::Display| picture_error(what, e);
    let codec = encoder::find(id).ok_or_else(|| fail(&"no such encoder in this FFmpeg"))?;
    let mut context = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(|e| fail(&e))?;
    context.set_width(frame.width());
    context.set_height(frame.height());
    context.set_format(frame.format());
    context.set_time_base(Rational(1, 1));
    if let Some(lambda) = quality {
        context.set_flags(codec::Flags::QSCALE);
        context.set_global_quality(lambda);
        // With a fixed quantiser the encoder reads the quality from each frame, as the ffmpeg CLI
        // sets it.
        // SAFETY: `frame` is a valid, exclusively owned frame; `quality` is a plain int field.
        unsafe { (*frame.as_mut_ptr()).quality = lambda };
    }
    let mut opened = context.open_as(codec).map_err(|e| fail(&e))?;
    frame.set_pts(Some(0));
    opened.send_frame(&frame).map_err(|e| fail(&e))?;
    opened.send_eof().map_err(|e| fail(&e))?;
    let mut packet = Packet::empty();
    opened.receive_packet(&mut packet).map_err(|e| fail(&e))?;
    packet
        .data()
        .map(<[u8]>::to_vec)
        .ok_or_else(|| fail(&"the encoder returned no data"))
}

/// Encode a packed RGB24 picture (`width * height * 3` bytes) as a baseline JPEG.
pub fn encode_jpeg(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    init();
    let what = "JPEG encoding";
    let src = rgb_frame(rgb, width, height, what)?;
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
    .map_err(|e| picture_error(what, e))?;
    encode_still(
        codec::Id::MJPEG,
        yuv,
        Some(JPEG_QSCALE * ffmpeg_next::ffi::FF_QP2LAMBDA),
        what,
    )
}

/// Encode a packed RGB24 picture as a PNG (lossless: contact sheets and plots keep sharp text).
pub fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    init();
    let what = "PNG encoding";
    encode_still(codec::Id::PNG, rgb_frame(rgb, width, height, what)?, None, what)
}

/// Decode a JPEG held in memory (a stored thumbnail) and convert it to `size`.
pub fn decode_jpeg(jpeg: &[u8], size: FrameSize) -> Result<Vec<u8>> {
    init();
    let fail = |e: &dyn std::fmt::Display| picture_error("JPEG decoding", e);
    let codec = decoder::find(codec::Id::MJPEG).ok_or_else(|| fail(&"no MJPEG decoder in this FFmpeg"))?;
    let mut context = codec::context::Context::new_with_codec(codec)
        .decoder()
        .video()
        .map_err(|e| fail(&e))?;
    context.send_packet(&Packet::copy(jpeg)).map_err(|e| fail(&e))?;
    context.send_eof().map_err(|e| fail(&e))?;
    let mut frame = Video::empty();
    context.receive_frame(&mut frame).map_err(|e| fail(&e))?;
    Scaler::new(size).convert(&frame)
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
        // The in-memory decoder reads it back the same, and at another size.
        let again = decode_jpeg(&jpeg, size).unwrap();
        assert_eq!(again, back);
        let half = decode_jpeg(&jpeg, crate::FrameSize::new(w / 2, h / 2, crate::Resize::Squash)).unwrap();
        assert_eq!(half.len(), (w / 2 * h / 2 * 3) as usize);
        assert!(decode_jpeg(b"not a jpeg", size).is_err());
    }

    #[test]
    fn a_png_round_trips_exactly() {
        let (w, h) = (37u32, 21u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 31 % 251) as u8).collect();
        let png = encode_png(&rgb, w, h).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.png");
        std::fs::write(&path, &png).unwrap();
        let size = crate::FrameSize::new(w, h, crate::Resize::Squash);
        assert_eq!(crate::load_picture(&path, &[size]).unwrap().remove(0), rgb);
    }
}
