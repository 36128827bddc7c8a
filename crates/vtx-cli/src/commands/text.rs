use anyhow::Result;
use vtx::{TextOptions, TextReport};

use crate::args::TextArgs;

pub fn run(args: &TextArgs) -> Result<TextReport> {
    let options = TextOptions {
        reader: args.reader.clone(),
        fps: args.fps,
    };
    let read = super::find_words(
        super::stored_index(args.index.as_deref(), &args.stored_on, &args.models)?,
        &args.models,
        &args.video,
        ("text was read", "--ocr"),
        |models| vtx::ScreenReader::new(models, &options),
    )?;
    if let Some(warning) = &read.warning {
        eprintln!("warning: {}: {warning}", vtx_api::one_line(&args.video));
    }
    Ok(read)
}
