//! How results look on a terminal: text for people, `--json` (the `vtx_api` documents, one per
//! line) for programs, CSV where a table is asked for. Every function writes to the stream it is
//! given and hands back the write error, so a closed pipe (`vtx info | head`) ends the command
//! quietly instead of panicking.

use std::io::{self, Write};

use serde::Serialize;
use vtx::{FileOutcome, IndexReport, OptimizeAction};
use vtx_api::{format_time, one_line, Clustering, Info, SearchResults, SimilarResults};

/// What a pass after the decoding (objects, text) found in the videos of an indexing run, and
/// where it failed.
fn pass_summary(found: &[(std::path::PathBuf, Result<usize, String>)], what: &str, unit: &str) -> Vec<String> {
    if found.is_empty() {
        return Vec::new();
    }
    let total: usize = found.iter().filter_map(|(_, r)| r.as_ref().ok()).sum();
    let failed: Vec<String> = found
        .iter()
        .filter_map(|(path, r)| {
            r.as_ref()
                .err()
                .map(|e| format!("  {what} failed: {}: {e}", one_line(path)))
        })
        .collect();
    let mut lines = vec![format!(
        "{what}: {total} {unit} in {} video(s){}",
        found.len() - failed.len(),
        match failed.len() {
            0 => String::new(),
            n => format!(", {n} failed (their vectors are written)"),
        }
    )];
    lines.extend(failed);
    lines
}

/// One document as one line of JSON.
pub fn json(out: &mut impl Write, document: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, document)?;
    writeln!(out)
}

/// What `vtx index` did, for standard error.
pub fn index_summary(report: &IndexReport) -> Vec<String> {
    let indexed = report.count(|o| matches!(o, FileOutcome::Indexed { .. }));
    let extended = report.count(|o| matches!(o, FileOutcome::Extended { .. }));
    let unchanged = report.count(|o| matches!(o, FileOutcome::Unchanged | FileOutcome::SameContent));
    let speed = report.video_seconds / report.wall_seconds.max(1e-9);
    let mut others = String::new();
    for (n, what) in [
        (
            report.count(|o| matches!(o, FileOutcome::ByOtherWorker)),
            "by other workers",
        ),
        (
            report.count(|o| matches!(o, FileOutcome::OtherShare)),
            "left to other shards",
        ),
        (
            report.count(|o| matches!(o, FileOutcome::Claimed { .. })),
            "still being indexed by other workers",
        ),
    ] {
        if n > 0 {
            others.push_str(&format!(", {n} {what}"));
        }
    }
    let skipped = match report.frames_skipped {
        0 => String::new(),
        n => format!(" ({n} near-duplicate frames skipped)"),
    };
    let extended = match extended {
        0 => String::new(),
        n => format!("; {n} already indexed got the new models' vectors"),
    };
    let mut lines = vec![format!(
        "indexed {indexed} video(s){others}, {unchanged} unchanged, {} failed; {} frames{skipped} from {:.1} s of video in {:.1} s ({speed:.1}x real time){extended}{}",
        report.failed(),
        report.frames,
        report.video_seconds,
        report.wall_seconds,
        if report.cancelled { "; interrupted" } else { "" }
    )];
    if let Some((reason, left)) = &report.aborted {
        lines.push(format!("stopped early: {reason}; {left} file(s) not attempted"));
    }
    if !report.pruned.is_empty() {
        lines.push(format!("pruned {} video(s) whose files are gone", report.pruned.len()));
    }
    if report.taken_over > 0 {
        lines.push(format!(
            "took over {} video(s) from other workers whose claims ran out before they were done",
            report.taken_over
        ));
    }
    lines.extend(pass_summary(&report.objects, "objects", "track(s)"));
    lines.extend(pass_summary(&report.text, "text", "line(s)"));
    lines.extend(pass_summary(&report.speech, "speech", "phrase(s)"));
    if let Some(why) = &report.not_optimized {
        lines.push(format!(
            "warning: the approximate index was not updated ({why}); every video is searchable (what it lacks is searched exactly), and the next `vtx index` tries again"
        ));
    }
    for done in &report.optimized {
        let what = match done.action {
            OptimizeAction::Built => "built",
            OptimizeAction::Merged => "updated",
            _ => continue,
        };
        lines.push(format!(
            "approximate index of '{}' {what}: {} vectors in {:.1} s",
            done.space, done.points, done.seconds
        ));
    }
    lines
}

fn hit_lines(out: &mut impl Write, hits: &[vtx_api::Hit]) -> io::Result<()> {
    if hits.is_empty() {
        writeln!(out, "(no results: the index is empty, or nothing passes the filter)")?;
    }
    for hit in hits {
        writeln!(
            out,
            "{}  {}-{}  {:.3}  segment {}",
            hit.video,
            hit.time,
            format_time(hit.end),
            hit.score,
            hit.segment
        )?;
        if let Some(snippet) = &hit.snippet {
            writeln!(out, "    {}: \"{}\"", hit.matched.join("+"), one_line_text(snippet))?;
        }
    }
    Ok(())
}

/// Text read off a picture, on one line and unable to drive the terminal whatever it holds.
fn one_line_text(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Search results: in text, a `# query` line before each query's hits when there are several.
pub fn search(out: &mut impl Write, results: &[SearchResults], as_json: bool) -> io::Result<()> {
    for result in results {
        if as_json {
            json(out, result)?;
            continue;
        }
        if results.len() > 1 {
            writeln!(out, "# {}", result.query)?;
        }
        hit_lines(out, &result.hits)?;
    }
    Ok(())
}

pub fn similar(out: &mut impl Write, results: &SimilarResults, as_json: bool) -> io::Result<()> {
    match as_json {
        true => json(out, results),
        false => hit_lines(out, &results.hits),
    }
}

pub fn shots(out: &mut impl Write, shots: &[vtx_api::Shot], as_json: bool, as_csv: bool) -> io::Result<()> {
    if as_json {
        return json(out, &shots);
    }
    if as_csv {
        writeln!(out, "shot,start,end,length,boundary")?;
    }
    for (i, s) in shots.iter().enumerate() {
        let length = s.end - s.start;
        match as_csv {
            true => writeln!(out, "{},{:.3},{:.3},{length:.3},{}", i + 1, s.start, s.end, s.boundary)?,
            false => writeln!(
                out,
                "{:>4}  {}  {}  {length:>8.3} s  {}",
                i + 1,
                format_time(s.start),
                format_time(s.end),
                s.boundary
            )?,
        }
    }
    Ok(())
}

fn member_line(m: &vtx_api::Member) -> String {
    if let Some(text) = &m.text {
        return format!("text \"{text}\"");
    }
    match (m.start, m.end) {
        (Some(a), Some(b)) => format!("{}  {}-{}", m.video, format_time(a), format_time(b)),
        _ => m.video.clone(),
    }
}

pub fn clusters(out: &mut impl Write, clustering: &Clustering, as_json: bool) -> io::Result<()> {
    if as_json {
        return json(out, clustering);
    }
    writeln!(
        out,
        "{} clusters ({}) in space {} (silhouette {:.3})",
        clustering.k, clustering.algorithm, clustering.space, clustering.silhouette
    )?;
    for c in &clustering.clusters {
        if c.id < 0 {
            writeln!(out, "\n## noise ({} in no cluster)", c.size)?;
            for m in &c.members {
                writeln!(out, "       {}", member_line(m))?;
            }
            continue;
        }
        let mut names: Vec<String> = c.names.iter().map(|(n, s)| format!("{n} {s:.2}")).collect();
        names.extend(c.tags.iter().map(|(t, n)| format!("tag {t} x{n}")));
        names.extend(c.objects.iter().map(|(o, n)| format!("object {o} x{n}")));
        writeln!(
            out,
            "\n## cluster {}: {} ({} members; {})",
            c.id,
            c.name,
            c.size,
            names.join(", ")
        )?;
        for m in &c.members {
            writeln!(out, "{:.3}  {}", m.similarity, member_line(m))?;
        }
    }
    Ok(())
}

pub fn tags(out: &mut impl Write, tagged: &[vtx_api::VideoTags], as_json: bool) -> io::Result<()> {
    if as_json {
        return json(out, &tagged);
    }
    let list = |tags: &[(String, f32)]| {
        tags.iter()
            .map(|(l, s)| format!("{l} {s:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for video in tagged {
        writeln!(out, "{}  {}", video.video, list(&video.tags))?;
        for s in &video.segments {
            writeln!(
                out,
                "  {}-{}  {}",
                format_time(s.start),
                format_time(s.end),
                list(&s.tags)
            )?;
        }
    }
    Ok(())
}

pub fn motion(out: &mut impl Write, segments: &[vtx_api::SegmentMotion], as_json: bool) -> io::Result<()> {
    if as_json {
        return json(out, &segments);
    }
    writeln!(
        out,
        "{:<25} {:>8} {:>8} {:>7} {:>7} {:>8}  kind",
        "segment", "camera_x", "camera_y", "zoom", "moving", "local_v"
    )?;
    for s in segments {
        writeln!(
            out,
            "{}-{} {:>8.3} {:>8.3} {:>7.3} {:>6.1}% {:>8.3}  {}",
            format_time(s.start),
            format_time(s.end),
            s.camera.0,
            s.camera.1,
            s.zoom,
            s.moving_share * 100.0,
            s.local_speed,
            s.kind
        )?;
    }
    writeln!(
        out,
        "(speeds in frame widths per second; camera: right and down positive)"
    )
}

pub fn objects(out: &mut impl Write, objects: &vtx_api::ObjectsReport, as_json: bool) -> io::Result<()> {
    if as_json {
        return json(out, objects);
    }
    writeln!(
        out,
        "{}: {} track(s) in {} frames at {} fps ({})",
        objects.video,
        objects.tracks.len(),
        objects.frames,
        objects.fps,
        objects.detector
    )?;
    writeln!(
        out,
        "{:>5}  {:<14} {:<17} {:>6} {:>6} {:>7}  heading",
        "track", "label", "span", "frames", "score", "speed"
    )?;
    for t in &objects.tracks {
        writeln!(
            out,
            "{:>5}  {:<14} {:<17} {:>6} {:>6.2} {:>7.3}  {}",
            t.id,
            t.label,
            format!("{}-{}", format_time(t.start), format_time(t.end)),
            t.boxes.len(),
            t.score,
            t.speed,
            t.heading
        )?;
        if !t.actions.is_empty() {
            let spans: Vec<String> = t
                .actions
                .iter()
                .map(|a| format!("{} {}-{}", a.action, format_time(a.start), format_time(a.end)))
                .collect();
            writeln!(out, "{:>7}{}", "", spans.join(", "))?;
        }
    }
    writeln!(out, "(speed in frame widths per second)")
}

pub fn text(out: &mut impl Write, read: &vtx_api::TextReport, as_json: bool) -> io::Result<()> {
    if as_json {
        return json(out, read);
    }
    writeln!(
        out,
        "{}: {} line(s) in {} frames at {} fps ({})",
        read.video,
        read.lines.len(),
        read.frames,
        read.fps,
        read.reader
    )?;
    for line in &read.lines {
        writeln!(
            out,
            "{}-{}  {:.2}  {}",
            format_time(line.start),
            format_time(line.end),
            line.score,
            one_line_text(&line.text)
        )?;
    }
    Ok(())
}

/// How `vtx transcript` prints: subtitles, JSON, or a line a phrase.
pub enum TranscriptFormat {
    Text,
    Json,
    Subtitles(vtx_api::Subtitles),
}

pub fn transcript(out: &mut impl Write, heard: &vtx_api::Transcript, format: TranscriptFormat) -> io::Result<()> {
    match format {
        TranscriptFormat::Json => json(out, heard),
        TranscriptFormat::Subtitles(kind) => out.write_all(kind.write(heard).as_bytes()),
        TranscriptFormat::Text => {
            let sound = match heard.has_audio {
                true => format!("{:.1} s of sound", heard.duration),
                false => "no audio stream".into(),
            };
            let language = heard.language.as_deref().map(|l| format!(", {l}")).unwrap_or_default();
            writeln!(
                out,
                "{}: {} phrase(s) in {sound} ({}{language})",
                heard.video,
                heard.phrases.len(),
                heard.model
            )?;
            for phrase in &heard.phrases {
                writeln!(
                    out,
                    "{}-{}  {}",
                    format_time(phrase.start),
                    format_time(phrase.end),
                    one_line_text(&phrase.text)
                )?;
            }
            Ok(())
        }
    }
}

pub fn info(out: &mut impl Write, info: &Info, as_json: bool) -> io::Result<()> {
    if as_json {
        return json(out, info);
    }
    let index = &info.index;
    writeln!(out, "index:    {}", index.index_dir)?;
    if let Some(c) = &index.cluster {
        let down = c.shard_copies.iter().filter(|s| s.2 != "Active").count();
        writeln!(
            out,
            "cluster:  {} node(s), {} shard(s) x {} replica(s) (writes wait for {}), {} points{}",
            c.nodes,
            c.shards,
            c.replicas,
            c.write_consistency,
            c.points,
            if down > 0 {
                format!("; {down} shard copies not active")
            } else {
                String::new()
            }
        )?;
    }
    writeln!(out, "videos:   {}", index.videos)?;
    writeln!(out, "frames:   {}", index.frames)?;
    writeln!(out, "segments: {}", index.segments)?;
    writeln!(out, "duration: {}", format_time(index.total_duration_s))?;
    if index.cluster.is_none() {
        writeln!(
            out,
            "on disk:  {:.1} MiB",
            index.bytes_on_disk as f64 / (1 << 20) as f64
        )?;
    }
    for s in &index.spaces {
        let search = if s.approximate { "graph" } else { "exact" };
        writeln!(
            out,
            "space:    {} ({}-d, {}): {} segment vectors, searched {search}",
            s.name, s.dim, s.model, s.segment_vectors
        )?;
    }
    for t in &index.text {
        let (what, found) = match t.source.as_str() {
            "speech" => ("transcribed", "phrase(s)"),
            _ => ("read", "line(s)"),
        };
        let empty = match (t.empty, t.no_sound) {
            (0, _) => String::new(),
            (n, 0) => format!("; {n} with none"),
            (n, m) => format!("; {n} with none, {m} of them without an audio stream"),
        };
        writeln!(
            out,
            "{:<9} {} video(s) {what}, {} {found}{empty}",
            format!("{}:", t.source),
            t.videos,
            t.lines
        )?;
    }
    for v in info.list.iter().flatten().map(|d| &d.video) {
        writeln!(
            out,
            "{}  {}  {}x{}  {}  {} frames",
            v.video,
            format_time(v.duration),
            v.width,
            v.height,
            v.codec,
            v.frames
        )?;
    }
    Ok(())
}

pub fn retrieval(out: &mut impl Write, result: &vtx_api::RetrievalEvaluation, as_json: bool) -> io::Result<()> {
    if as_json {
        return json(out, result);
    }
    writeln!(
        out,
        "{} captions of {} videos, space {}",
        result.captions, result.videos, result.space
    )?;
    writeln!(out, "direction        R@1    R@5   R@10  median rank  mean rank")?;
    for (name, r) in [
        ("text -> video", &result.text_to_video),
        ("video -> text", &result.video_to_text),
    ] {
        writeln!(
            out,
            "{name:<14} {:>5.3}  {:>5.3}  {:>5.3}  {:>11.1}  {:>9.2}",
            r.r1, r.r5, r.r10, r.median_rank, r.mean_rank
        )?;
    }
    if !result.categories.is_empty() {
        writeln!(out, "\ntext -> video by category")?;
        writeln!(out, "category         captions    R@1    R@5   R@10  mean rank")?;
        for c in &result.categories {
            let r = &c.ranks;
            writeln!(
                out,
                "{:<16} {:>8}  {:>5.3}  {:>5.3}  {:>5.3}  {:>9.2}",
                c.category, r.queries, r.r1, r.r5, r.r10, r.mean_rank
            )?;
        }
    }
    if !result.misses.is_empty() {
        writeln!(out, "\ncaptions whose video did not come first (worst first)")?;
        for m in &result.misses {
            let category = m.category.as_deref().map(|c| format!(" [{c}]")).unwrap_or_default();
            writeln!(
                out,
                "{:>4}  {}{category}: {} (first: {})",
                m.rank,
                m.caption,
                vtx_api::file_name(&m.video),
                vtx_api::file_name(&m.first)
            )?;
        }
    }
    Ok(())
}

pub fn cluster_agreement(out: &mut impl Write, result: &vtx_api::ClusterEvaluation, as_json: bool) -> io::Result<()> {
    if as_json {
        return json(out, result);
    }
    writeln!(out, "videos    {}", result.videos)?;
    writeln!(out, "space     {}", result.space)?;
    writeln!(out, "labels    {}", result.agreement.labels)?;
    writeln!(out, "clusters  {}", result.agreement.clusters)?;
    if result.noise > 0 {
        writeln!(out, "noise     {}", result.noise)?;
    }
    writeln!(out, "NMI       {:.3}", result.agreement.nmi)?;
    writeln!(out, "ARI       {:.3}", result.agreement.ari)?;
    writeln!(out, "purity    {:.3}", result.agreement.purity)
}

/// A benchmark's report: JSON, or the table it draws of itself.
pub fn report<R: Serialize>(
    out: &mut impl Write,
    report: &R,
    as_json: bool,
    table: fn(&R) -> String,
) -> io::Result<()> {
    match as_json {
        true => json(out, report),
        false => write!(out, "{}", table(report)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_queries_get_headings_and_no_results_say_why() {
        let results = [
            SearchResults::new("a cat", "text", &[]),
            SearchResults::new("a dog", "text", &[]),
        ];
        let mut text = Vec::new();
        search(&mut text, &results, false).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.starts_with("# a cat\n(no results"), "{text}");
        let mut lines = Vec::new();
        search(&mut lines, &results[..1], true).unwrap();
        let line: serde_json::Value = serde_json::from_slice(&lines).unwrap();
        assert_eq!(
            (line["query"].as_str(), line["space"].as_str()),
            (Some("a cat"), Some("text"))
        );
    }
}
