// The vtx page: search, watch a moment, browse videos and clusters. Plain JS, no build step; all
// data comes from the JSON API of the same server. Routes live in the address's hash so that the
// back button and links work: #/search?q=..., #/video/ID?t=SECONDS, #/similar/ID, #/videos, #/clusters.
"use strict";

const main = document.getElementById("main");
const form = document.getElementById("search-form");
const input = document.getElementById("q");

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    // Through the CSSOM: the page's Content-Security-Policy refuses inline style attributes.
    else if (key === "style") Object.assign(node.style, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function clock(seconds) {
  const s = Math.max(0, seconds);
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(1).padStart(4, "0")}`;
}

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function show(...nodes) {
  main.replaceChildren(...nodes);
}

function failed(error) {
  show(el("p", { class: "error", role: "alert" }, String(error.message || error)));
}

// A snippet of on-screen text with its matched words (between ** marks) highlighted, as text
// nodes: nothing read off a picture becomes markup.
function snippet(text, matched) {
  const parts = text.split("**").map((part, i) => (i % 2 ? el("mark", {}, part) : part));
  return el("div", { class: "snippet" }, el("span", { class: "why" }, `${matched.join(" + ")}: `), "\u201c", ...parts, "\u201d");
}

// One moment (or video) as a card: its picture, name, time and score, and for a hit by its text
// the line that matched; opening it plays it from that line's second.
function card(item) {
  const start = item.snippet_at ?? item.start ?? 0;
  const href = `#/video/${item.video_id}?t=${start.toFixed(3)}`;
  const label = `${item.name} ${clock(start)}${item.end != null ? "-" + clock(item.end) : ""}`;
  const picture = item.thumbnail ? el("img", { src: item.thumbnail, alt: "", loading: "lazy" }) : el("div");
  const text = el("div", { class: "text" },
    el("div", { class: "name" }, item.name),
    el("div", { class: "meta" }, item.end != null ? `${clock(start)}-${clock(item.end)}` : "",
      item.score != null ? `  score ${item.score.toFixed(3)}` : ""),
    ...(item.snippet ? [snippet(item.snippet, item.matched ?? [])] : []));
  const open = el("a", { class: "open result", href, "aria-label": `Play ${label}`,
    "data-video": item.name, "data-start": String(start), "data-end": String(item.end ?? "") }, picture, text);
  const more = el("button", { type: "button", onclick: () => { location.hash = `#/similar/${item.video_id}`; } },
    "More like this");
  return el("li", { class: "card" }, open, el("div", { class: "actions" }, more));
}

function grid(items) {
  return el("ul", { class: "grid" }, ...items.map(card));
}

async function search(query) {
  input.value = query;
  document.title = `${query} - vtx`;
  show(el("p", { class: "hint", role: "status" }, `Searching for "${query}"...`));
  const result = await api("/api/search", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ q: query, top: 24 }),
  });
  show(el("h1", {}, `Moments matching "${query}"`),
    result.hits.length ? grid(result.hits) : el("p", { class: "hint" }, "Nothing found."));
}

async function similar(id) {
  const [video, result] = await Promise.all([api(`/api/videos/${id}`), api(`/api/similar?video=${id}&top=24`)]);
  show(el("h1", {}, `Videos like ${video.name}`), grid(result.hits));
}

// The boxes of a video's tracks (`vtx index --objects`) drawn over the player at its current
// time, each with its label and track id. `canvas.dataset.drawn` says how many are on it now.
function overlay(player, found) {
  const canvas = el("canvas", { class: "boxes", "aria-hidden": "true" });
  // A box stands for its moment and half a sampling step either side.
  const reach = 0.5 / (found.fps || 5) + 0.01;
  let shown = true;
  const draw = () => {
    const [width, height] = [player.clientWidth, player.clientHeight];
    if (canvas.width !== width || canvas.height !== height) [canvas.width, canvas.height] = [width, height];
    const g = canvas.getContext("2d");
    g.clearRect(0, 0, width, height);
    let drawn = 0;
    if (shown && player.videoWidth) {
      // Where the picture lies inside the element (letterboxed to keep its shape).
      const scale = Math.min(width / player.videoWidth, height / player.videoHeight);
      const [w, h] = [player.videoWidth * scale, player.videoHeight * scale];
      const [left, top] = [(width - w) / 2, (height - h) / 2];
      g.lineWidth = 3;
      g.font = "14px sans-serif";
      for (const track of found.tracks) {
        const t = player.currentTime;
        if (t < track.start - reach || t > track.end + reach) continue;
        const box = track.boxes.find((b) => Math.abs(b.t - t) <= reach);
        if (!box) continue;
        const colour = SWATCHES[track.id % SWATCHES.length];
        const [x, y] = [left + box.x0 * w, top + box.y0 * h];
        g.strokeStyle = colour;
        g.strokeRect(x, y, (box.x1 - box.x0) * w, (box.y1 - box.y0) * h);
        g.fillStyle = colour;
        g.fillText(`${track.label} #${track.id}`, x + 4, Math.max(y - 4, 14));
        drawn += 1;
      }
    }
    canvas.dataset.drawn = String(drawn);
  };
  for (const event of ["timeupdate", "seeked", "loadeddata"]) player.addEventListener(event, draw);
  window.addEventListener("resize", draw);
  const toggle = el("input", { type: "checkbox", id: "show-boxes", checked: "" });
  toggle.addEventListener("change", () => { shown = toggle.checked; draw(); });
  const control = el("label", { class: "toggle" }, toggle,
    ` Boxes (${found.tracks.length} tracks, ${found.detector})`);
  return { canvas, control };
}

async function watch(id, start) {
  const video = await api(`/api/videos/${id}`);
  // No objects detected (a 404) just means no boxes; no transcript, no subtitles.
  const [found, heard] = await Promise.all([
    api(`/api/videos/${id}/tracks`).catch(() => null),
    api(`/api/videos/${id}/transcript`).catch(() => null),
  ]);
  document.title = `${video.name} - vtx`;
  const player = el("video", { id: "player", controls: "", preload: "auto", src: video.media });
  player.muted = true; // browsers only start playing by themselves when muted
  if (heard && heard.phrases.length) {
    player.append(el("track", { kind: "subtitles", srclang: "en", label: "Transcript", default: "",
      src: `/api/videos/${id}/subtitles.vtt` }));
  }
  player.addEventListener("loadedmetadata", () => {
    player.currentTime = start;
    player.play().catch(() => {});
  }, { once: true });
  const timeline = el("div", { class: "timeline", role: "group", "aria-label": "Segments" });
  const list = el("ol", { class: "segments" });
  for (const segment of video.segments) {
    const span = `${clock(segment.start)}-${clock(segment.end)}`;
    const button = el("button", {
      type: "button", title: span, "aria-label": `Play from ${clock(segment.start)}`,
      style: { flexGrow: String(Math.max(segment.end - segment.start, 0.05)) },
      onclick: () => { player.currentTime = segment.start; player.play().catch(() => {}); },
    });
    if (start >= segment.start && start < segment.end) button.classList.add("current");
    timeline.append(button);
    const tags = segment.tags.map(([label]) => label).join(", ");
    list.append(el("li", {}, span, tags ? `  ${tags}` : ""));
  }
  const more = el("button", { type: "button", onclick: () => { location.hash = `#/similar/${id}`; } }, "More like this");
  const boxes = found ? overlay(player, found) : null;
  // The transcript: a line a phrase, each a button that plays the video from it.
  const said = heard && heard.phrases.length
    ? [el("h2", {}, "Transcript"), el("ol", { class: "transcript" }, ...heard.phrases.map((p) => el("li", {},
      el("button", { type: "button", class: "said", "data-start": String(p.start),
        onclick: () => { player.currentTime = p.start; player.play().catch(() => {}); } }, clock(p.start)),
      " ", p.text)))]
    : [];
  show(el("section", { class: "player" },
    el("h1", {}, video.name),
    el("div", { class: "stage" }, player, ...(boxes ? [boxes.canvas] : [])), timeline,
    el("p", { class: "meta" }, `${video.width}x${video.height} ${video.codec}, ${clock(video.duration)}  `, more,
      ...(boxes ? [" ", boxes.control] : [])),
    ...said,
    list));
}

async function videos() {
  const list = await api("/api/videos");
  show(el("h1", {}, `${list.length} videos`), grid(list.map((v) => ({ ...v, video_id: v.id, start: 0, end: null }))));
}

const SWATCHES = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#17becf", "#1f77b4", "#bcbd22"];

async function clusters() {
  show(el("p", { class: "hint", role: "status" }, "Clustering the library..."));
  const result = await api("/api/clusters");
  const sections = result.clusters.map((c) => el("section", { class: "cluster" },
    el("h2", {}, el("span", { class: "swatch", style: { background: c.id < 0 ? "#777" : SWATCHES[c.id % SWATCHES.length] } }),
      `${c.name || "cluster " + c.id} (${c.size})`),
    c.tags.length ? el("p", { class: "meta" }, "tags: " + c.tags.map(([t, n]) => `${t} x${n}`).join(", ")) : "",
    (c.objects || []).length ? el("p", { class: "meta" }, "objects: " + c.objects.map(([o, n]) => `${o} x${n}`).join(", ")) : "",
    grid(c.members.slice(0, 12).map((m) => ({ ...m, score: m.similarity })))));
  show(el("h1", {}, `${result.clusters.length} clusters (${result.algorithm}, ${result.space})`), ...sections);
}

async function route() {
  const hash = location.hash.slice(1) || "/";
  const [path, query = ""] = hash.split("?");
  const params = new URLSearchParams(query);
  try {
    if (path === "/search" && params.get("q")) await search(params.get("q"));
    else if (path.startsWith("/video/")) await watch(path.split("/")[2], Number(params.get("t") || 0));
    else if (path.startsWith("/similar/")) await similar(path.split("/")[2]);
    else if (path === "/videos") await videos();
    else if (path === "/clusters") await clusters();
    else show(el("p", { class: "hint" }, "Type a sentence and press Enter: the matching moments appear here; open one to watch it from that second."));
  } catch (error) {
    failed(error);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const query = input.value.trim();
  if (query) location.hash = `#/search?q=${encodeURIComponent(query)}`;
});
window.addEventListener("hashchange", route);
route();
