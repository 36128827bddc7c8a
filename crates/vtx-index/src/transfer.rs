//! Copying videos between stores (`vtx export`, `vtx import`): everything a store keeps of a
//! video, read through the seams and written through a writer, so any store copies into any
//! other without decoding a video again.

use std::collections::HashMap;

use crate::{Result, SegmentSpan, Tag, TextSource, VectorStore, VideoRecord};

/// Declare in `to` every space of `from` (an error if `to` has one of the same name with another
/// model or dimension).
pub fn copy_spaces(from: &dyn VectorStore, to: &dyn VectorStore) -> Result<()> {
    for space in from.spaces()? {
        to.ensure_space(&space)?;
    }
    Ok(())
}

/// Whether `to` already holds this video as `from` has it (same path, same content), so a copy
/// that was interrupted goes on where it stopped.
pub fn already_copied(video: &VideoRecord, to: &dyn VectorStore) -> Result<bool> {
    Ok(to
        .video_by_path(&video.meta.path)?
        .is_some_and(|there| there.meta.hash == video.meta.hash))
}

/// Copy one video (its frames, segments with their thumbnails, shots, vectors in every space,
/// tags, objects and text) from `from` into `to`, all or nothing; its id in `to`.
pub fn copy_video(from: &dyn VectorStore, to: &dyn VectorStore, video: &VideoRecord) -> Result<i64> {
    let spaces = from.spaces()?;
    let mut writer = to.write_video(&video.meta.path, &video.meta.hash)?;
    for space in &spaces {
        let moments = from.moments(video.id, &space.name)?;
        for batch in moments.chunks(1024) {
            writer.add_frames(&space.name, batch)?;
        }
    }
    writer.set_shots(&from.shots(video.id)?)?;
    let segments = from.segments(video.id)?;
    let spans: Vec<SegmentSpan> = segments
        .iter()
        .map(|s| {
            Ok(SegmentSpan {
                start: s.start,
                end: s.end,
                thumbnail: if s.has_thumbnail { from.thumbnail(s.id)? } else { None },
            })
        })
        .collect::<Result<_>>()?;
    writer.set_segments(&spans)?;
    // Segment ids derive from the video's id in each store, which two stores can choose apart
    // (a collision one of them met): map them by position.
    let there: HashMap<i64, i64> = segments
        .iter()
        .zip(writer.segments()?)
        .map(|(here, there)| (here.id, there.id))
        .collect();
    for space in &spaces {
        let vectors = from.stored_vectors(video.id, &space.name)?;
        if vectors.video.is_some() || vectors.segments.iter().any(Option::is_some) {
            writer.put_vectors(&vectors)?;
        }
    }
    let id = writer.commit(&video.meta)?;
    let tags: Vec<Tag> = from
        .tags(video.id)?
        .into_iter()
        .filter_map(|t| {
            Some(Tag {
                segment: *there.get(&t.segment)?,
                ..t
            })
        })
        .collect();
    if !tags.is_empty() {
        to.set_tags(id, &tags)?;
    }
    if let Some(mut objects) = from.objects(video.id)? {
        for labels in [&mut objects.segments, &mut objects.actions] {
            labels.retain_mut(|o| match there.get(&o.segment) {
                Some(&segment) => {
                    o.segment = segment;
                    true
                }
                None => false,
            });
        }
        to.set_objects(id, &objects)?;
    }
    for source in [TextSource::Screen, TextSource::Speech] {
        if let Some(text) = from.text(video.id, source)? {
            to.set_text(id, &text)?;
        }
    }
    Ok(id)
}
