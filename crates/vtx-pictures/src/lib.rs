//! Pictures of a clustering: a contact sheet per cluster (a grid of its members' thumbnails under
//! the cluster's name) and a map of the library (a PCA projection, one colour per cluster).
//! Drawn on a plain RGB canvas with an 8x8 bitmap font and encoded with FFmpeg's PNG encoder: no
//! image or plotting crate. The map needs the clustering's positions: cluster with
//! `ClusterOptions::map` set.

use std::path::{Path, PathBuf};

use vtx::cluster::{Cluster, Clustering, Member};
use vtx::{Engine, EngineError, Result};
use vtx_api::format_time;
use vtx_media::{FrameSize, Resize};

type Rgb = [u8; 3];

const BACKGROUND: Rgb = [24, 24, 28];
const PANEL: Rgb = [48, 48, 56];
const INK: Rgb = [235, 235, 235];
const FAINT: Rgb = [150, 150, 160];
const NOISE: Rgb = [110, 110, 110];
/// Distinct colours for clusters (Tableau 10 and two more), repeated past twelve.
const PALETTE: [Rgb; 12] = [
    [78, 121, 167],
    [242, 142, 43],
    [225, 87, 89],
    [118, 183, 178],
    [89, 161, 79],
    [237, 201, 72],
    [176, 122, 161],
    [255, 157, 167],
    [156, 117, 95],
    [23, 190, 207],
    [31, 119, 180],
    [188, 189, 34],
];

/// The colour of cluster `id` on the map and its sheet.
fn colour(id: usize) -> Rgb {
    PALETTE[id % PALETTE.len()]
}

const GLYPH: u32 = 8;

struct Canvas {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(width: u32, height: u32, background: Rgb) -> Self {
        Self {
            width,
            height,
            rgb: background.repeat((width * height) as usize),
        }
    }

    fn put(&mut self, x: i64, y: i64, colour: Rgb) {
        if (0..i64::from(self.width)).contains(&x) && (0..i64::from(self.height)).contains(&y) {
            let at = (y as usize * self.width as usize + x as usize) * 3;
            self.rgb[at..at + 3].copy_from_slice(&colour);
        }
    }

    fn fill(&mut self, x: i64, y: i64, width: u32, height: u32, colour: Rgb) {
        for dy in 0..i64::from(height) {
            for dx in 0..i64::from(width) {
                self.put(x + dx, y + dy, colour);
            }
        }
    }

    fn outline(&mut self, x: i64, y: i64, size: u32, colour: Rgb) {
        let s = i64::from(size) - 1;
        for d in 0..=s {
            self.put(x + d, y, colour);
            self.put(x + d, y + s, colour);
            self.put(x, y + d, colour);
            self.put(x + s, y + d, colour);
        }
    }

    fn disc(&mut self, cx: i64, cy: i64, radius: i64, colour: Rgb) {
        for dy in -radius..=radius {
            for dx in -radius..=radius {
                if dx * dx + dy * dy <= radius * radius {
                    self.put(cx + dx, cy + dy, colour);
                }
            }
        }
    }

    /// Copy a packed RGB picture in at (x, y).
    fn blit(&mut self, x: u32, y: u32, width: u32, picture: &[u8]) {
        let row = width as usize * 3;
        for (dy, line) in picture.chunks_exact(row).enumerate() {
            let top = y as usize + dy;
            if top >= self.height as usize {
                break;
            }
            let visible = (self.width.saturating_sub(x) as usize).min(width as usize) * 3;
            let at = (top * self.width as usize + x as usize) * 3;
            self.rgb[at..at + visible].copy_from_slice(&line[..visible]);
        }
    }

    /// Write `text` with its top-left corner at (x, y), glyphs `scale` times 8 pixels, cut to
    /// `max_chars` (ending in "..." when cut). Characters outside ASCII show as '?'.
    fn text(&mut self, x: i64, y: i64, text: &str, scale: u32, max_chars: usize, colour: Rgb) {
        let chars: Vec<char> = text.chars().collect();
        let shown: Vec<char> = if chars.len() > max_chars {
            let mut cut: Vec<char> = chars[..max_chars.saturating_sub(3)].to_vec();
            cut.extend("...".chars());
            cut
        } else {
            chars
        };
        let step = i64::from(GLYPH * scale);
        for (i, c) in shown.iter().enumerate() {
            let code = if c.is_ascii() && !c.is_ascii_control() {
                *c as usize
            } else {
                '?' as usize
            };
            let glyph = font8x8::legacy::BASIC_LEGACY[code];
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits >> col & 1 == 1 {
                        let s = i64::from(scale);
                        for (dy, dx) in (0..s).flat_map(|dy| (0..s).map(move |dx| (dy, dx))) {
                            self.put(x + i as i64 * step + col * s + dx, y + row as i64 * s + dy, colour);
                        }
                    }
                }
            }
        }
    }

    fn png(&self) -> Result<Vec<u8>> {
        Ok(vtx_media::encode_png(&self.rgb, self.width, self.height)?)
    }
}

/// Words of `text` in lines of at most `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + word.len() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

const TILE_WIDTH: u32 = 192;
const TILE_HEIGHT: u32 = 108;
const CAPTION: u32 = 12;
const GAP: u32 = 8;
const COLUMNS: u32 = 5;
/// Tiles on one sheet: the most typical members.
const SHEET_TILES: usize = 30;
const HEADER: u32 = 44;

/// The file name of a member's video, for captions.
fn short_name(member: &Member) -> String {
    Path::new(&member.video)
        .file_name()
        .map_or_else(|| member.video.clone(), |n| n.to_string_lossy().into_owned())
}

fn member_thumbnail(engine: &Engine, member: &Member) -> Result<Option<Vec<u8>>> {
    match engine.member_thumbnail_segment(member)? {
        Some(id) => engine.thumbnail(id),
        None => Ok(None),
    }
}

fn contact_sheet(engine: &Engine, cluster: &Cluster) -> Result<Vec<u8>> {
    let shown = &cluster.members[..cluster.members.len().min(SHEET_TILES)];
    let rows = (shown.len() as u32).div_ceil(COLUMNS).max(1);
    let width = GAP + COLUMNS * (TILE_WIDTH + GAP);
    let height = HEADER + rows * (TILE_HEIGHT + CAPTION + GAP) + GAP;
    let mut canvas = Canvas::new(width, height, BACKGROUND);
    canvas.fill(0, 0, width, 6, colour(cluster.id));
    let title = format!("{}: {}", cluster.id, cluster.name);
    canvas.text(i64::from(GAP), 14, &title, 2, (width / 16) as usize - 16, INK);
    let more = cluster.members.len() - shown.len();
    let count = if more > 0 {
        format!("{} members, {more} not shown", cluster.size)
    } else {
        format!("{} members", cluster.size)
    };
    let right = i64::from(width - GAP) - (count.len() as i64) * 8;
    canvas.text(right, 20, &count, 1, 40, FAINT);
    let tile = FrameSize::new(TILE_WIDTH, TILE_HEIGHT, Resize::CenterCrop);
    let caption_chars = (TILE_WIDTH / GLYPH) as usize;
    for (i, member) in shown.iter().enumerate() {
        let (col, row) = (i as u32 % COLUMNS, i as u32 / COLUMNS);
        let x = GAP + col * (TILE_WIDTH + GAP);
        let y = HEADER + row * (TILE_HEIGHT + CAPTION + GAP);
        canvas.fill(i64::from(x), i64::from(y), TILE_WIDTH, TILE_HEIGHT, PANEL);
        if let Some(text) = &member.text {
            for (n, line) in wrap(&format!("\"{text}\""), caption_chars - 2)
                .iter()
                .take(6)
                .enumerate()
            {
                let top = i64::from(y) + 10 + n as i64 * 14;
                canvas.text(i64::from(x) + 8, top, line, 1, caption_chars - 2, INK);
            }
            canvas.text(
                i64::from(x),
                i64::from(y + TILE_HEIGHT + 2),
                "text",
                1,
                caption_chars,
                FAINT,
            );
            continue;
        }
        match member_thumbnail(engine, member)? {
            Some(jpeg) => canvas.blit(x, y, TILE_WIDTH, &vtx_media::decode_jpeg(&jpeg, tile)?),
            None => canvas.text(i64::from(x) + 8, i64::from(y) + 8, "no picture", 1, 20, FAINT),
        }
        let caption = match member.start {
            Some(start) => format!("{} {}", format_time(start), short_name(member)),
            None => short_name(member),
        };
        canvas.text(
            i64::from(x),
            i64::from(y + TILE_HEIGHT + 2),
            &caption,
            1,
            caption_chars,
            FAINT,
        );
    }
    canvas.png()
}

const MAP_SIZE: u32 = 720;
const LEGEND_WIDTH: u32 = 300;

/// The library map: each item a dot at its PCA position in its cluster's colour (noise grey),
/// texts as squares with their words, a legend of cluster names.
fn library_map(clustering: &Clustering) -> Result<Vec<u8>> {
    let placed: Vec<(&Member, Option<usize>)> = clustering
        .clusters
        .iter()
        .flat_map(|c| c.members.iter().map(move |m| (m, Some(c.id))))
        .chain(clustering.noise.iter().map(|m| (m, None)))
        .collect();
    let points: Vec<[f32; 2]> = placed.iter().map(|(m, _)| m.position.unwrap_or_default()).collect();
    let of_item: Vec<Option<usize>> = placed.iter().map(|(_, c)| *c).collect();
    let texts: Vec<Option<&str>> = placed.iter().map(|(m, _)| m.text.as_deref()).collect();
    let mut canvas = Canvas::new(MAP_SIZE + LEGEND_WIDTH, MAP_SIZE, BACKGROUND);
    let (mut low, mut high) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for p in &points {
        for a in 0..2 {
            low[a] = low[a].min(p[a]);
            high[a] = high[a].max(p[a]);
        }
    }
    let margin = 40.0;
    let span = (MAP_SIZE as f32 - 2.0 * margin).max(1.0);
    // One scale for both axes, so distances on the map are distances in the projection.
    let extent = (high[0] - low[0]).max(high[1] - low[1]).max(f32::EPSILON);
    let place = |p: &[f32; 2]| -> (i64, i64) {
        let x = margin + (p[0] - low[0]) / extent * span;
        let y = MAP_SIZE as f32 - margin - (p[1] - low[1]) / extent * span;
        (x as i64, y as i64)
    };
    let radius = if points.len() > 5000 {
        1
    } else if points.len() > 500 {
        2
    } else {
        4
    };
    // Noise first, so clusters draw over it; texts last, on top of everything.
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_key(|&i| (texts[i].is_some(), of_item[i].is_some()));
    for i in order {
        let (x, y) = place(&points[i]);
        let ink = of_item[i].map_or(NOISE, colour);
        match texts[i] {
            Some(text) => {
                canvas.fill(x - 5, y - 5, 11, 11, ink);
                canvas.outline(x - 6, y - 6, 13, INK);
                canvas.text(x + 10, y - 4, text, 1, 28, INK);
            }
            None => canvas.disc(x, y, radius, ink),
        }
    }
    let left = i64::from(MAP_SIZE);
    canvas.fill(left, 0, LEGEND_WIDTH, MAP_SIZE, PANEL);
    let title = format!("{} clusters, {}", clustering.clusters.len(), clustering.algorithm);
    canvas.text(left + 12, 12, &title, 1, 35, INK);
    canvas.text(left + 12, 26, &clustering.space, 1, 35, FAINT);
    let mut y = 48;
    for cluster in &clustering.clusters {
        if y + 16 > i64::from(MAP_SIZE) {
            canvas.text(left + 12, y, "...", 1, 3, FAINT);
            break;
        }
        canvas.fill(left + 12, y, 10, 10, colour(cluster.id));
        let line = format!("{} {} ({})", cluster.id, cluster.name, cluster.size);
        canvas.text(left + 28, y + 1, &line, 1, 33, INK);
        y += 16;
    }
    if !clustering.noise.is_empty() && y + 16 <= i64::from(MAP_SIZE) {
        canvas.fill(left + 12, y, 10, 10, NOISE);
        canvas.text(
            left + 28,
            y + 1,
            &format!("noise ({})", clustering.noise.len()),
            1,
            33,
            INK,
        );
    }
    canvas.png()
}

/// Write `cluster-<id>.png` for every cluster and `map.png` into `dir`; each file appears whole or
/// not at all (written aside, then renamed). Returns the files written.
pub fn write(engine: &Engine, clustering: &Clustering, dir: &Path) -> Result<Vec<PathBuf>> {
    let unplaced = clustering
        .clusters
        .iter()
        .flat_map(|c| &c.members)
        .chain(&clustering.noise)
        .any(|m| m.position.is_none());
    if unplaced {
        return Err(EngineError::Internal(
            "the library map needs a clustering made with ClusterOptions::map".into(),
        ));
    }
    let fail = |path: &Path, source: std::io::Error| EngineError::Io {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    let save = |name: String, png: Vec<u8>| -> Result<PathBuf> {
        let path = dir.join(name);
        let part = path.with_extension("png.part");
        std::fs::write(&part, png)
            .and_then(|()| std::fs::rename(&part, &path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&part);
                fail(&path, e)
            })?;
        Ok(path)
    };
    let mut written = Vec::new();
    for cluster in &clustering.clusters {
        written.push(save(
            format!("cluster-{}.png", cluster.id),
            contact_sheet(engine, cluster)?,
        )?);
    }
    written.push(save("map.png".into(), library_map(clustering)?)?);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_drawn_in_glyph_cells_and_cut_with_dots() {
        let mut canvas = Canvas::new(64, 16, [0, 0, 0]);
        canvas.text(0, 0, "I", 1, 10, [255, 255, 255]);
        let lit = |c: &Canvas, x0: u32, x1: u32| {
            (0..c.height)
                .flat_map(|y| (x0..x1).map(move |x| (x, y)))
                .filter(|&(x, y)| c.rgb[((y * c.width + x) * 3) as usize] == 255)
                .count()
        };
        assert!(lit(&canvas, 0, 8) > 5, "the I has ink");
        assert_eq!(lit(&canvas, 8, 64), 0, "nothing past its cell");
        let mut cut = Canvas::new(64, 16, [0, 0, 0]);
        cut.text(0, 0, "abcdefghij", 1, 5, [255, 255, 255]);
        assert!(lit(&cut, 0, 40) > 0);
        assert_eq!(lit(&cut, 40, 64), 0, "five characters at most: ab...");
        assert_eq!(wrap("a cat on a warm mat", 8), vec!["a cat on", "a warm", "mat"]);
    }
}
