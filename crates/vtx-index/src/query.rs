//! Searches as data: what to rank, how many, and which points may be hits. Every store applies a
//! [`Filter`] inside its own search (an exact scan checks each point; a graph checks it while it
//! walks), so a filter never becomes a list of ids built by the caller.

use std::collections::HashSet;

/// Which segments may be hits. Every condition set must hold (an empty filter lets all through).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only segments of these videos.
    pub videos: Option<HashSet<i64>>,
    /// Only segments with a tag (`vtx tag`) whose label contains this word, in any case.
    pub tag: Option<String>,
    /// Only segments that overlap this span, seconds into their video.
    pub time: Option<TimeRange>,
    /// Only segments where a detector saw this object (`vtx index --objects`).
    pub object: Option<ObjectFilter>,
    /// Only segments where someone does this (walking, running, ...; any case).
    pub action: Option<String>,
}

/// Segments holding an object label (any case), at least `min_count` of them at once.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectFilter {
    pub label: String,
    pub min_count: u32,
}

/// A span of seconds; a segment overlaps it if it starts before `end` and ends after `start`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeRange {
    pub start: f64,
    pub end: f64,
}

impl Filter {
    /// The filter that lets one video's segments through.
    pub fn video(id: i64) -> Self {
        Self {
            videos: Some(HashSet::from([id])),
            ..Self::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.videos.is_none()
            && self.tag.is_none()
            && self.time.is_none()
            && self.object.is_none()
            && self.action.is_none()
    }
}

/// One ranked search over the segments of a space.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest<'a> {
    pub space: &'a str,
    /// A unit vector of the space's dimension.
    pub query: &'a [f32],
    /// How many hits at most.
    pub limit: usize,
    pub filter: Filter,
    /// Only the best segment of each video.
    pub group_by_video: bool,
    /// Scan every vector instead of walking the approximate index.
    pub exact: bool,
}

impl<'a> SearchRequest<'a> {
    /// The `limit` best segments in `space`, unfiltered, approximate where the store can be.
    pub fn new(space: &'a str, query: &'a [f32], limit: usize) -> Self {
        Self {
            space,
            query,
            limit,
            filter: Filter::default(),
            group_by_video: false,
            exact: false,
        }
    }
}
