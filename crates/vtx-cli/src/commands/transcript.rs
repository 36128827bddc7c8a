use anyhow::Result;
use vtx::Transcript;

use crate::args::TranscriptArgs;
use crate::output::TranscriptFormat;

pub fn run(args: &TranscriptArgs) -> Result<Transcript> {
    super::find_words(
        super::stored_index(args.index.as_deref(), &args.stored_on, &args.models)?,
        &args.models,
        &args.video,
        ("speech was transcribed", "--speech"),
        |models| {
            let options = crate::args::speech_options(&args.speech_model, &args.language, args.no_vad);
            vtx::Transcriber::new(models, &options)
        },
    )
}

pub fn format(args: &TranscriptArgs) -> TranscriptFormat {
    match (args.srt, args.vtt, args.json) {
        (true, _, _) => TranscriptFormat::Subtitles(vtx_api::Subtitles::Srt),
        (_, true, _) => TranscriptFormat::Subtitles(vtx_api::Subtitles::Vtt),
        (_, _, true) => TranscriptFormat::Json,
        _ => TranscriptFormat::Text,
    }
}
