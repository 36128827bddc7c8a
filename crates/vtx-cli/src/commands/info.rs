use anyhow::Result;
use vtx_api::{Info, VideoDetail};

use super::open_engine;
use crate::args::InfoArgs;

pub fn run(args: &InfoArgs) -> Result<Info> {
    let engine = open_engine(&args.common)?;
    let list = match args.videos {
        true => Some(
            engine
                .videos()?
                .into_iter()
                .map(|v| VideoDetail::new(&engine, v))
                .collect::<vtx::Result<Vec<_>>>()?,
        ),
        false => None,
    };
    Ok(Info {
        index: engine.info()?,
        list,
    })
}
