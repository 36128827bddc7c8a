//! `vtx objects`: the COCO detector and the tracker on real pictures that move.

mod common;

use common::{cache, file_name, interrupt_after, vtx};
use serde_json::Value;

fn objects(video: &str, extra: &[&str]) -> Value {
    let path = cache().join(video);
    let mut args = vec!["objects", "--json", path.to_str().unwrap()];
    args.extend(extra);
    let out = vtx(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn tracks_of<'a>(objects: &'a Value, label: &str) -> Vec<&'a Value> {
    objects["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["label"] == label)
        .collect()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn photos_crossing_the_frame_give_one_track_each_heading_their_way() {
    let found = objects("fixtures/objects/crossing.mp4", &[]);
    assert_eq!(file_name(found["video"].as_str().unwrap()), "crossing.mp4");
    assert_eq!(
        (found["frames"].as_u64(), found["detector"].as_str()),
        (Some(20), Some("centernet-coco")),
        "4 s at 5 fps"
    );
    // Both move at 100 px/s across 640 px: 0.156 frame widths a second.
    for (label, heading, x_sign) in [("motorcycle", "right", 1.0), ("person", "left", -1.0)] {
        let tracks = tracks_of(&found, label);
        assert_eq!(tracks.len(), 1, "{label}: {tracks:#?}");
        let track = tracks[0];
        assert_eq!(track["heading"], heading, "{track:#}");
        assert!(
            f(&track["start"]) < 0.3 && f(&track["end"]) > 3.5,
            "{label} seen throughout: {track:#}"
        );
        let vx = f(&track["velocity"][0]);
        assert!((vx - x_sign * 0.156).abs() < 0.02, "{label}: {vx} frame widths/s");
        assert!(f(&track["velocity"][1]).abs() < 0.02);
        // Its boxes follow it: the first and last centres 0.6 s worth of motion apart at least.
        let boxes = track["boxes"].as_array().unwrap();
        let centre = |b: &Value| (f(&b["x0"]) + f(&b["x1"])) / 2.0;
        assert!(x_sign * (centre(boxes.last().unwrap()) - centre(&boxes[0])) > 0.5);
    }
}

/// People in the first 8 s of OpenCV's pedestrian footage, checked by eye on frames drawn with
/// the boxes: a point on each person (fractions of the frame) at moments they are in plain view.
/// B stops behind the sign post at about 2.3 s and is found again there.
const PEOPLE: &[(&str, f64, f64, f64)] = &[
    ("A", 0.0, 0.345, 0.458),
    ("A", 1.0, 0.434, 0.435),
    ("A", 2.6, 0.503, 0.389),
    ("A", 5.0, 0.503, 0.38),
    ("B", 0.0, 0.668, 0.336),
    ("B", 1.0, 0.627, 0.352),
    ("B", 3.4, 0.557, 0.40),
    ("B", 5.0, 0.578, 0.366),
    ("C", 0.0, 0.863, 0.486),
    ("C", 1.0, 0.731, 0.486),
    ("C", 2.6, 0.543, 0.463),
    ("C", 5.0, 0.543, 0.389),
    ("D", 2.6, 0.873, 0.537),
    ("D", 3.4, 0.8125, 0.505),
    ("D", 5.0, 0.679, 0.454),
    ("D", 6.0, 0.63, 0.43),
    ("E", 2.6, 0.913, 0.537),
    ("E", 3.4, 0.851, 0.505),
    ("E", 5.0, 0.738, 0.454),
    ("E", 6.0, 0.674, 0.43),
    ("F", 5.0, 0.899, 0.542),
    ("F", 6.0, 0.823, 0.505),
];

/// What the tracker did on that stretch when the points were checked: B's track breaks once where
/// the sign post hides him; no track ever jumps from one person to another; every point is found.
const FRAGMENTS: usize = 1;
const ID_SWITCHES: usize = 0;

#[test]
fn pedestrians_keep_their_tracks_as_checked_by_hand() {
    let found = objects("fixtures/objects/pedestrians-8s.avi", &[]);
    let people = tracks_of(&found, "person");
    // The person track at moment t whose box holds the point, the nearest centre if several do.
    let track_at = |t: f64, x: f64, y: f64| -> Option<u64> {
        people
            .iter()
            .filter_map(|track| {
                let b = track["boxes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|b| (f(&b["t"]) - t).abs() < 0.05)?;
                let (x0, y0, x1, y1) = (f(&b["x0"]), f(&b["y0"]), f(&b["x1"]), f(&b["y1"]));
                let inside = (x0..=x1).contains(&x) && (y0..=y1).contains(&y);
                let distance = ((x0 + x1) / 2.0 - x).hypot((y0 + y1) / 2.0 - y);
                inside.then(|| (distance, track["id"].as_u64().unwrap()))
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, id)| id)
    };
    let mut ids_of_person: std::collections::BTreeMap<&str, Vec<u64>> = Default::default();
    let mut people_of_id: std::collections::BTreeMap<u64, Vec<&str>> = Default::default();
    let mut missed = Vec::new();
    for &(person, t, x, y) in PEOPLE {
        match track_at(t, x, y) {
            Some(id) => {
                ids_of_person.entry(person).or_default().push(id);
                people_of_id.entry(id).or_default().push(person);
            }
            None => missed.push((person, t)),
        }
    }
    let distinct = |v: &Vec<u64>| v.iter().collect::<std::collections::BTreeSet<_>>().len();
    let fragments: usize = ids_of_person.values().map(|ids| distinct(ids) - 1).sum();
    let switches: usize = people_of_id
        .values()
        .map(|who| who.iter().collect::<std::collections::BTreeSet<_>>().len() - 1)
        .sum();
    eprintln!(
        "fragments {fragments}, switches {switches}, missed {missed:?}, {} person tracks, {ids_of_person:?}",
        people.len()
    );
    assert!(missed.is_empty(), "people not in any track: {missed:?}");
    assert!(
        switches == ID_SWITCHES,
        "tracks holding several people: {people_of_id:?}"
    );
    assert!(fragments <= FRAGMENTS, "people split over tracks: {ids_of_person:?}");
    // Seven people walk through (G enters at 6.4 s), so seven tracks at least, and little more
    // than one per person: the fragment above and one still rock on the lawn that reads as a
    // person.
    // What they do, as seen on the same frames: A walks up to the sign post and stands there from
    // about 2.4 s (his point does not move from 2.6 s on); D and E walk the whole time.
    let doing = |person: &str, t: f64| -> String {
        let id = ids_of_person[person][0];
        let track = people.iter().find(|p| p["id"] == id).unwrap();
        let span = track["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| (f(&a["start"])..=f(&a["end"])).contains(&t));
        span.map_or_else(|| "nothing".into(), |a| a["action"].as_str().unwrap().to_string())
    };
    let seen: Vec<(&str, f64, String)> = [
        ("A", 0.4),
        ("A", 1.0),
        ("A", 3.4),
        ("A", 6.0),
        ("D", 3.4),
        ("D", 6.0),
        ("E", 3.4),
        ("E", 5.0),
    ]
    .into_iter()
    .map(|(person, t)| (person, t, doing(person, t)))
    .collect();
    let expected = [
        "walking", "walking", "standing", "standing", "walking", "walking", "walking", "walking",
    ];
    assert_eq!(
        seen.iter().map(|(_, _, a)| a.as_str()).collect::<Vec<_>>(),
        expected,
        "{seen:?}"
    );
    let moving = people.iter().filter(|t| t["heading"] != "still").count();
    assert!((6..=8).contains(&moving), "{moving} moving person tracks");
    assert!(people.len() <= 7 + FRAGMENTS + 2, "{} person tracks", people.len());
}

#[test]
fn speed_in_body_heights_tells_a_walk_from_a_run() {
    // The same photo at the same size: 100 px/s in crossing.mp4, 400 px/s in running.mp4.
    for (video, action) in [("crossing.mp4", "walking"), ("running.mp4", "running")] {
        let found = objects(&format!("fixtures/objects/{video}"), &["--min-frames", "2"]);
        let people = tracks_of(&found, "person");
        assert_eq!(people.len(), 1, "{video}: {people:#?}");
        let actions: Vec<&str> = people[0]["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, [action], "{video}");
        // Other objects have no actions.
        assert!(found["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["label"] != "person")
            .all(|t| t["actions"].as_array().unwrap().is_empty()));
    }
}

#[test]
fn poses_tell_postures_where_box_shapes_mislead() {
    let actions_of = |track: &Value| -> Vec<String> {
        let actions = track["actions"].as_array().unwrap();
        actions
            .iter()
            .map(|a| a["action"].as_str().unwrap().to_string())
            .collect()
    };
    // The tallest person of each clip (the one the photo is of).
    let main_person = |found: &Value| -> Value {
        let people = tracks_of(found, "person");
        let height = |t: &Value| f(&t["boxes"][0]["y1"]) - f(&t["boxes"][0]["y0"]);
        (*people.iter().max_by(|a, b| height(a).total_cmp(&height(b))).unwrap()).clone()
    };
    // The footballer kicks, arms and leg out: his box is wider than tall, which the box's shape
    // alone reads as lying; his pose has him upright.
    let boxes_only = main_person(&objects("fixtures/objects/football.mp4", &["--no-pose"]));
    assert_eq!(actions_of(&boxes_only), ["lying"]);
    assert!(boxes_only["boxes"][0].get("posture").is_none());
    let posed = main_person(&objects("fixtures/objects/football.mp4", &[]));
    assert_eq!(actions_of(&posed), ["standing"]);
    let postures: Vec<&str> = posed["boxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["posture"].as_str().unwrap())
        .collect();
    assert!(postures.iter().all(|p| *p == "upright"), "{postures:?}");
    // A standing man turned on his side: lying, his pose agreeing with his box.
    let turned = main_person(&objects("fixtures/objects/lying.mp4", &[]));
    assert_eq!(actions_of(&turned), ["lying"]);
    assert_eq!(turned["boxes"][0]["posture"], "lying");
    // People under a fifth of the frame's height get no pose.
    let crowd = objects("fixtures/objects/pedestrians-8s.avi", &[]);
    let small = tracks_of(&crowd, "person")
        .into_iter()
        .flat_map(|t| t["boxes"].as_array().unwrap())
        .filter(|b| f(&b["y1"]) - f(&b["y0"]) < 0.2)
        .count();
    assert!(small > 50);
    assert!(tracks_of(&crowd, "person")
        .into_iter()
        .flat_map(|t| t["boxes"].as_array().unwrap())
        .all(|b| f(&b["y1"]) - f(&b["y0"]) >= 0.2 || b.get("posture").is_none()));
}

#[test]
fn bad_options_and_models_are_named() {
    let video = cache().join("fixtures/objects/crossing.mp4");
    let video = video.to_str().unwrap();
    for (args, message) in [
        (vec!["--fps", "0"], "fps must be a positive number"),
        (vec!["--min-score", "1.5"], "min score must lie in 0..1"),
        (
            vec!["--detector", "efficientnet-lite0"],
            "is an image model, not an object detector",
        ),
        (vec!["--detector", "nonesuch"], "no model named 'nonesuch'"),
        (
            vec!["--pose", "centernet-coco"],
            "is an object detector model, not a pose model",
        ),
        (vec!["--pose", "movenet-lightning", "--no-pose"], "cannot be used with"),
    ] {
        let mut all = vec!["objects", video];
        all.extend(&args);
        let out = vtx(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(if message.starts_with("no model") { 3 } else { 2 }),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let out = vtx(&["objects", cache().join("fixtures/bad/notes.mp4").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    // A truncated file: the part that can be read, and a warning saying so.
    let out = vtx(&["objects", cache().join("fixtures/bad/truncated.avi").to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning:") && stderr.contains("looked for objects in"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("person"));
}

#[test]
fn indexing_with_objects_lets_search_filter_and_rank_by_them() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let index = index.to_str().unwrap();
    let crossing = cache().join("fixtures/objects/crossing.mp4");
    let pedestrians = cache().join("fixtures/objects/pedestrians-8s.avi");
    let (crossing, pedestrians) = (crossing.to_str().unwrap(), pedestrians.to_str().unwrap());
    let out = vtx(&[
        "index",
        "--index",
        index,
        "--objects",
        "--no-motion",
        crossing,
        pedestrians,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("in 2 video(s)"), "{stderr}");
    let search = |args: &[&str]| -> Vec<(String, f64)> {
        let mut all = vec!["search", "--index", index, "--json", "--top", "50"];
        all.extend(args);
        let out = vtx(&all);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let found: Value = serde_json::from_slice(&out.stdout).unwrap();
        found["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h["name"].as_str().unwrap().to_string(), f(&h["score"])))
            .collect()
    };
    // Three people or more at once: only the pedestrians, both its segments.
    let crowded = search(&["--object", "person", "--min-count", "3"]);
    assert_eq!(crowded.len(), 2, "{crowded:?}");
    assert!(
        crowded.iter().all(|(file, _)| file == "pedestrians-8s.avi"),
        "{crowded:?}"
    );
    // One person or more: both videos, ranked by detection score.
    let people = search(&["--object", "person"]);
    assert_eq!(people.len(), 3, "{people:?}");
    assert!(people.windows(2).all(|w| w[0].1 >= w[1].1), "{people:?}");
    let motorcycles = search(&["--object", "Motorcycle"]);
    assert_eq!(
        motorcycles.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        ["crossing.mp4"]
    );
    // With a sentence, the filter applies inside the text search.
    let riders = search(&["a motorcycle", "--object", "motorcycle"]);
    assert_eq!(riders.len(), 1, "{riders:?}");
    assert!(search(&["a motorcycle", "--object", "giraffe"]).is_empty());
    // Actions are labels of their own, in the search and by themselves.
    let walking = search(&["--action", "walking"]);
    let mut files: Vec<&str> = walking.iter().map(|(f, _)| f.as_str()).collect();
    files.dedup();
    assert_eq!(files.len(), 2, "both videos have people walking: {walking:?}");
    assert!(search(&["--action", "running"]).is_empty(), "nobody runs here");
    assert!(
        search(&["--object", "walking"]).is_empty(),
        "no object is called walking"
    );
    let out = vtx(&["search", "--index", index, "--action", "flying"]);
    assert_eq!(out.status.code(), Some(2));
    // Clusters list the objects their members show: each segment of the pedestrians shows people.
    let out = vtx(&["cluster", "--index", index, "--level", "segment", "--k", "2", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let clustering: Value = serde_json::from_slice(&out.stdout).unwrap();
    for cluster in clustering["clusters"].as_array().unwrap() {
        let members = cluster["members"].as_array().unwrap().len();
        let people = cluster["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o[0] == "person")
            .map_or(0, |o| o[1].as_u64().unwrap());
        assert_eq!(
            people as usize, members,
            "every segment here shows a person: {cluster:#}"
        );
    }
    // What was stored is printed back without a detector.
    let stored = vtx(&["objects", "--index", index, "--json", crossing]);
    assert!(stored.status.success(), "{}", String::from_utf8_lossy(&stored.stderr));
    let stored: Value = serde_json::from_slice(&stored.stdout).unwrap();
    assert_eq!(
        (stored["frames"].as_u64(), stored["detector"].as_str()),
        (Some(20), Some("centernet-coco"))
    );
    let motorcycles = tracks_of(&stored, "motorcycle");
    assert_eq!(motorcycles.len(), 1);
    assert_eq!(motorcycles[0]["heading"], "right");
    let running = cache().join("fixtures/objects/running.mp4");
    let out = vtx(&["objects", "--index", index, running.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "not in the index: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A second run finds the objects stored and decodes nothing again.
    let again = vtx(&["index", "--index", index, "--objects", crossing]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success() && !stderr.contains("objects:"), "{stderr}");
    let out = vtx(&["search", "--index", index, "--min-count", "2", "a dog"]);
    assert_eq!(out.status.code(), Some(2), "--min-count needs --object");
    let out = vtx(&[
        "index",
        "--index",
        index,
        "--objects",
        "--detector",
        "minilm-l6-v2",
        crossing,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not an object detector"), "{stderr}");
}

#[test]
fn detected_people_and_what_they_do_strengthen_the_text_space() {
    let dir = tempfile::tempdir().unwrap();
    let clips: Vec<String> = [
        "fixtures/objects/running.mp4",
        "fixtures/objects/pedestrians-8s.avi",
        "fixtures/photos/cat.mp4",
        "fixtures/photos/coffee.mp4",
        "fixtures/photos/motorcycle.mp4",
    ]
    .iter()
    .map(|c| cache().join(c).to_str().unwrap().to_string())
    .collect();
    let index = |name: &str, runs: &[&[&str]]| -> String {
        let index = dir.path().join(name).to_str().unwrap().to_string();
        for extra in runs {
            let mut args = vec!["index", "--index", &index, "--no-motion"];
            args.extend(*extra);
            args.extend(clips.iter().map(String::as_str));
            let out = vtx(&args);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        index
    };
    let best = |index: &str, query: &str| -> String {
        let out = vtx(&["search", "--index", index, "--json", "--top", "1", query]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let found: Value = serde_json::from_slice(&out.stdout).unwrap();
        found["hits"][0]["name"].as_str().unwrap().to_string()
    };
    // ImageNet has no person and no running: on pictures alone the motorbike (with its rider)
    // comes first for both.
    let pictures = index("pictures", &[&["--objects", "--object-text-weight", "0"]]);
    assert_eq!(best(&pictures, "a person running"), "motorcycle.mp4");
    assert_eq!(best(&pictures, "people walking"), "motorcycle.mp4");
    // Folded in on the indexing decode, and by the decode of its own that a video indexed before
    // gets: the same answers.
    let side = index("side", &[&["--objects"]]);
    let later = index("later", &[&[], &["--objects"]]);
    for folded in [&side, &later] {
        assert_eq!(best(folded, "a person running"), "running.mp4", "{folded}");
        assert_eq!(best(folded, "people walking"), "pedestrians-8s.avi", "{folded}");
        assert_eq!(best(folded, "a cup of coffee"), "coffee.mp4", "{folded}");
    }
    let out = vtx(&[
        "index",
        "--index",
        &side,
        "--objects",
        "--object-text-weight",
        "-1",
        &clips[0],
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let out = vtx(&["index", "--index", &side, "--no-pose", &clips[0]]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("go with --objects"), "{stderr}");
}

#[test]
fn ctrl_c_while_objects_are_detected_keeps_the_vectors_and_stores_no_half_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let index = index.to_str().unwrap();
    // The 56 s bench clip, indexed first without objects: a later `--objects` run then decodes it
    // for the detector alone, for several seconds.
    let clip = cache().join("fixtures/bench/cockatoo-720p.mp4");
    let clip = clip.to_str().unwrap();
    let out = vtx(&["index", "--index", index, "--no-motion", clip]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (out, stopping) = interrupt_after(&["index", "--index", index, "--objects", clip], 2000);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "an interrupted run: {stderr}");
    assert!(
        stopping < std::time::Duration::from_secs(5),
        "the detector stopped {stopping:?} after Ctrl-C"
    );
    assert!(stderr.contains("interrupted"), "{stderr}");
    let search = |args: &[&str]| {
        let mut all = vec!["search", "--index", index, "--json"];
        all.extend(args);
        let out = vtx(&all);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["hits"]
            .as_array()
            .unwrap()
            .len()
    };
    assert!(search(&["a bird"]) > 0, "the vectors stay searchable");
    assert_eq!(search(&["--object", "bird"]), 0, "no objects from a stopped detection");
    // The next run finds the video written and detects its objects only.
    let again = vtx(&["index", "--index", index, "--objects", clip]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        again.status.success() && stderr.contains("1 unchanged") && stderr.contains("in 1 video(s)"),
        "{stderr}"
    );
    assert!(search(&["--object", "bird"]) > 0, "the cockatoo is a bird");
}
