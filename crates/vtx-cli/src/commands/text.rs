use std::ops::ControlFlow;

use anyhow::{Context, Result};
use vtx::{TextOptions, TextReport};

use crate::args::TextArgs;

pub fn run(args: &TextArgs) -> Result<TextReport> {
    if let Some(index) = &args.index {
        let what = ("text was read", "--ocr");
        return super::stored(
            index,
            &args.models,
            &args.video,
            what,
            vtx::Engine::stored_found::<vtx::ScreenReader>,
        );
    }
    let models = vtx::model_registry(&super::models_dir(&args.models)).with_device(args.models.device);
    let options = TextOptions {
        reader: args.reader.clone(),
        fps: args.fps,
    };
    let mut reader = vtx::ScreenReader::new(&models, &options)?;
    let mut bar = crate::progress::SecondsBar::default();
    let read = reader.run(&args.video, &mut |t, claimed| {
        bar.at(t, claimed);
        ControlFlow::Continue(())
    });
    bar.finish();
    let read = read
        .with_context(|| args.video.display().to_string())?
        .context("the reading stopped without being asked to")?;
    if let Some(warning) = &read.warning {
        eprintln!("warning: {}: {warning}", vtx_api::one_line(&args.video));
    }
    Ok(read)
}
