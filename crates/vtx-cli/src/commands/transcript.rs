use std::ops::ControlFlow;

use anyhow::{Context, Result};
use vtx::Transcript;

use crate::args::TranscriptArgs;
use crate::output::TranscriptFormat;

pub fn run(args: &TranscriptArgs) -> Result<Transcript> {
    if let Some(index) = &args.index {
        let what = ("speech was transcribed", "--speech");
        return super::stored(
            index,
            &args.models,
            &args.video,
            what,
            vtx::Engine::stored_found::<vtx::Transcriber>,
        );
    }
    let models = vtx::model_registry(&super::models_dir(&args.models)).with_device(args.models.device);
    let mut transcriber = vtx::Transcriber::new(&models, &args.speech_model)?;
    let mut bar = crate::progress::SecondsBar::default();
    let heard = transcriber.run(&args.video, &mut |t, length| {
        bar.at(t, length);
        ControlFlow::Continue(())
    });
    bar.finish();
    heard
        .with_context(|| args.video.display().to_string())?
        .context("the transcription stopped without being asked to")
}

pub fn format(args: &TranscriptArgs) -> TranscriptFormat {
    match (args.srt, args.vtt, args.json) {
        (true, _, _) => TranscriptFormat::Subtitles(vtx_api::Subtitles::Srt),
        (_, true, _) => TranscriptFormat::Subtitles(vtx_api::Subtitles::Vtt),
        (_, _, true) => TranscriptFormat::Json,
        _ => TranscriptFormat::Text,
    }
}
