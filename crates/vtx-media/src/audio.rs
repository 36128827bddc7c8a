//! A file's sound, decoded in-process and resampled to what speech models take: 16 kHz mono.

use std::path::Path;

use ffmpeg_next::{format, frame, media, software::resampling, ChannelLayout};

use crate::{MediaError, Result};

/// Samples a second of [`decode_audio`]'s output (Whisper's and Silero's rate).
pub const SPEECH_RATE: u32 = 16_000;

/// The first audio stream of `path` as mono float samples at [`SPEECH_RATE`], or `None` when the
/// file has no audio stream. Packets that fail to decode are skipped (a damaged stretch is silence
/// lost, not the whole track); a file that cannot be opened is an error.
pub fn decode_audio(path: &Path) -> Result<Option<Vec<f32>>> {
    let mut input = crate::sampler::open_input(path)?;
    let Some(stream) = input.streams().best(media::Type::Audio) else {
        return Ok(None);
    };
    let index = stream.index();
    let context = ffmpeg_next::codec::context::Context::from_parameters(stream.parameters())
        .map_err(|e| MediaError::Decode(e.to_string()))?;
    let mut decoder = context
        .decoder()
        .audio()
        .map_err(|e| MediaError::Decode(format!("no decoder for the audio stream: {e}")))?;
    let mut resampler: Option<resampling::Context> = None;
    let mut samples = Vec::new();
    let mut decoded = frame::Audio::empty();
    let mut take = |decoder: &mut ffmpeg_next::decoder::Audio, samples: &mut Vec<f32>| -> Result<()> {
        while decoder.receive_frame(&mut decoded).is_ok() {
            if decoded.channel_layout().is_empty() {
                decoded.set_channel_layout(ChannelLayout::default(i32::from(decoded.channels())));
            }
            let converter = match &mut resampler {
                Some(converter) => converter,
                None => resampler.insert(
                    resampling::Context::get(
                        decoded.format(),
                        decoded.channel_layout(),
                        decoded.rate(),
                        format::Sample::F32(format::sample::Type::Packed),
                        ChannelLayout::MONO,
                        SPEECH_RATE,
                    )
                    .map_err(|e| MediaError::Decode(format!("cannot resample the audio: {e}")))?,
                ),
            };
            let mut out = frame::Audio::empty();
            converter
                .run(&decoded, &mut out)
                .map_err(|e| MediaError::Decode(format!("cannot resample the audio: {e}")))?;
            samples.extend_from_slice(&out.plane::<f32>(0)[..out.samples()]);
        }
        Ok(())
    };
    for (stream, packet) in input.packets() {
        if stream.index() != index {
            continue;
        }
        if decoder.send_packet(&packet).is_ok() {
            take(&mut decoder, &mut samples)?;
        }
    }
    // The packets the decoder still holds.
    if decoder.send_eof().is_ok() {
        take(&mut decoder, &mut samples)?;
    }
    Ok(Some(samples))
}
