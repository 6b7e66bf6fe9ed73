/**
 * The dashboard page: the mesh drawn as a graph (each peer a node sized by its cores and
 * coloured by its load, the latest calls as edges from this peer to the one that ran them),
 * per-function calls, error rate and latency with a rollback button, the pool per peer, the
 * latest calls and a log pane. Plain HTML, CSS and script in one response, fed by
 * `/dashboard/events` (SSE); nothing is fetched from elsewhere.
 * @module
 */
import { escapeHtml } from "./signin.ts";
import { STYLE } from "./style.ts";

/** The page's script (no template literals inside, so it embeds as it is). */
const SCRIPT = String.raw`
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (ch) => "&#" + ch.charCodeAt(0) + ";");
const short = (id) => String(id).slice(-6);
const mib = (b) => (b / 1048576).toFixed(b < 10485760 ? 1 : 0);
const ms = (v) => v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
const SVGNS = "http://www.w3.org/2000/svg";
const EDGE_WINDOW_MS = 30000;
let last = null;

function loadColour(load, state) {
  if (state !== "alive") return "#6b7785";
  const l = Math.max(0, Math.min(1, load));
  return "hsl(" + Math.round(130 * (1 - l)) + ",62%,46%)";
}

function el(name, attrs, parent) {
  const e = document.createElementNS(SVGNS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}

function drawGraph(s) {
  const svg = $("graph");
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const W = 560, H = 380, cx = W / 2, cy = H / 2 + 6;
  const n = s.peers.length;
  const R = n <= 1 ? 0 : Math.min(W, H) / 2 - 70;
  const selfIdx = Math.max(0, s.peers.findIndex((p) => p.self));
  const pos = new Map();
  s.peers.forEach((p, i) => {
    const a = -Math.PI / 2 + 2 * Math.PI * ((i - selfIdx + n) % n) / Math.max(1, n);
    pos.set(p.peerId, { x: cx + R * Math.cos(a), y: cy + R * Math.sin(a), r: 16 + 7 * Math.sqrt(p.cores) });
  });
  const defs = el("defs", {}, svg);
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" }, defs);
  el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#5fb3f9" }, marker);
  const now = s.at;
  const edges = new Map();
  for (const c of s.calls) {
    if (now - c.at > EDGE_WINDOW_MS) continue;
    const e = edges.get(c.peer) || { count: 0, errors: 0, newest: 0 };
    e.count++;
    if (c.outcome !== "ok" || (c.status || 0) >= 500) e.errors++;
    e.newest = Math.max(e.newest, c.at);
    edges.set(c.peer, e);
  }
  const from = pos.get(s.self);
  const edgeLayer = el("g", {}, svg);
  for (const [peer, e] of edges) {
    const to = pos.get(peer);
    if (!from || !to) continue;
    const fade = 1 - Math.min(1, (now - e.newest) / EDGE_WINDOW_MS) * 0.75;
    const width = 1.5 + Math.log2(1 + e.count) * 1.5;
    const colour = e.errors > 0 ? "#f0616d" : "#5fb3f9";
    let g;
    if (peer === s.self) {
      g = el("circle", { cx: from.x, cy: from.y, r: from.r + 7, fill: "none", class: "edge", "stroke-width": width, stroke: colour, opacity: fade, "stroke-dasharray": "4 3" }, edgeLayer);
    } else {
      const dx = to.x - from.x, dy = to.y - from.y, d = Math.hypot(dx, dy) || 1;
      g = el("line", {
        x1: from.x + dx / d * from.r, y1: from.y + dy / d * from.r,
        x2: to.x - dx / d * (to.r + 4), y2: to.y - dy / d * (to.r + 4),
        class: "edge", "stroke-width": width, stroke: colour, opacity: fade, "marker-end": "url(#arrow)",
      }, edgeLayer);
    }
    g.setAttribute("data-to", peer);
    g.setAttribute("data-count", e.count);
    el("title", {}, g).textContent = e.count + " call(s) in the last 30 s ran on " + short(peer) + (e.errors ? " (" + e.errors + " failed)" : "");
  }
  for (const p of s.peers) {
    const q = pos.get(p.peerId);
    const g = el("g", { class: "node" + (p.self ? " self" : ""), "data-peer": p.peerId, transform: "translate(" + q.x + "," + q.y + ")" }, svg);
    el("circle", { class: "body", r: q.r, fill: loadColour(p.load, p.state) }, g);
    const used = p.poolTotalBytes > 0 ? 1 - p.poolFreeBytes / p.poolTotalBytes : 0;
    if (used > 0) {
      const a = 2 * Math.PI * Math.min(0.999, used), rr = q.r - 4;
      el("path", { d: "M 0 " + (-rr) + " A " + rr + " " + rr + " 0 " + (a > Math.PI ? 1 : 0) + " 1 " + (rr * Math.sin(a)) + " " + (-rr * Math.cos(a)), fill: "none", stroke: "rgba(255,255,255,.55)", "stroke-width": 2 }, g);
    }
    el("text", { "text-anchor": "middle", y: 4 }, g).textContent = short(p.peerId);
    el("text", { "text-anchor": "middle", y: q.r + 15, class: "muted" }, g).textContent =
      p.cores + " cores · " + p.inflight + " running" + (p.queued ? " · " + p.queued + " queued" : "") + (p.state !== "alive" ? " · " + p.state : "");
    el("title", {}, g).textContent = p.peerId + (p.self ? " (this peer)" : "") + "\nload " + p.load.toFixed(2) + ", loop delay " + p.loopDelayMs.toFixed(1) + " ms\npool " + mib(p.poolTotalBytes - p.poolFreeBytes) + " / " + mib(p.poolTotalBytes) + " MiB used\n" + p.http;
  }
}

function drawFunctions(s) {
  $("fn-count").textContent = s.functions.length;
  $("fns").innerHTML = s.functions.map((f) =>
    "<tr data-fn='" + esc(f.name) + "'><td>" + esc(f.name) + "</td><td><code>" + esc(f.version) + "</code></td>" +
    "<td class=num>" + f.calls + "</td><td class='num" + (f.errorRate > 0 ? " error" : "") + "'>" + (100 * f.errorRate).toFixed(1) + "%</td>" +
    "<td class=num>" + (f.calls ? ms(f.p50Ms) : "–") + "</td><td class=num>" + (f.calls ? ms(f.p99Ms) : "–") + "</td>" +
    "<td class=errs>" + (f.lastErrors.length ? f.lastErrors.slice(0, 3).map((e) => "<div title='" + esc(e.message) + "'><span class=error>" + esc(e.code) + "</span> <span class=muted>" + new Date(e.at).toLocaleTimeString() + " " + esc(e.requestId || "") + "</span></div>").join("") : "<span class=muted>none</span>") + "</td>" +
    "<td><button data-rollback='" + esc(f.name) + "'>roll back</button></td></tr>"
  ).join("") || "<tr><td colspan=8 class=muted>No functions deployed.</td></tr>";
  const sel = $("log-fn"), keep = sel.value;
  const names = s.functions.map((f) => f.name);
  if (sel.options.length - 1 !== names.length || names.some((n, i) => sel.options[i + 1].value !== n)) {
    sel.innerHTML = "<option value=''>choose a function…</option>" + names.map((n) => "<option>" + esc(n) + "</option>").join("");
    sel.value = names.includes(keep) ? keep : "";
  }
}

function drawPool(s) {
  $("pool").innerHTML = s.peers.map((p) => {
    const used = p.poolTotalBytes - p.poolFreeBytes;
    const pct = p.poolTotalBytes > 0 ? 100 * used / p.poolTotalBytes : 0;
    return "<tr><td><code>" + esc(short(p.peerId)) + "</code>" + (p.self ? " <span class=muted>(this)</span>" : "") + "</td>" +
      "<td class=num>" + mib(used) + "</td><td class=num>" + mib(p.poolFreeBytes) + "</td><td class=num>" + mib(p.poolTotalBytes) + "</td>" +
      "<td><div class=bar><span style='width:" + pct.toFixed(1) + "%'></span></div></td></tr>";
  }).join("");
}

function drawCalls(s) {
  const rows = s.calls.slice(-15).reverse();
  $("calls").innerHTML = rows.map((c) => {
    const bad = c.outcome !== "ok" || (c.status || 0) >= 500;
    return "<tr data-fn='" + esc(c.fn) + "' data-peer='" + esc(c.peer) + "'><td>" + new Date(c.at).toLocaleTimeString() + "</td><td>" + esc(c.fn) + "</td>" +
      "<td><code>" + esc(short(s.self)) + " → " + esc(short(c.peer)) + "</code></td><td class='" + (bad ? "error" : "ok") + "'>" + esc(c.outcome === "ok" ? String(c.status || "ok") : c.outcome) + "</td>" +
      "<td class=num>" + ms(c.ms) + "</td><td><code class=muted>" + esc(c.requestId || "") + "</code></td></tr>";
  }).join("") || "<tr><td colspan=6 class=muted>No calls yet.</td></tr>";
}

function render(s) {
  last = s;
  $("status").textContent = s.peers.length + " peer(s) in view · " + s.functions.length + " function(s) · updated " + new Date(s.at).toLocaleTimeString();
  $("status").className = "muted";
  drawGraph(s);
  drawFunctions(s);
  drawPool(s);
  drawCalls(s);
}

let events;
function connect() {
  events = new EventSource("/dashboard/events");
  events.addEventListener("state", (e) => render(JSON.parse(e.data)));
  events.onerror = async () => {
    $("status").textContent = "connection lost: retrying…";
    $("status").className = "error";
    const r = await fetch("/dashboard/state").catch(() => null);
    if (r && r.status === 401) location.href = "/signin";
  };
}

document.addEventListener("click", async (e) => {
  const name = e.target && e.target.getAttribute && e.target.getAttribute("data-rollback");
  if (!name) return;
  if (!confirm("Roll " + name + " back to its previous version?")) return;
  const r = await fetch("/dashboard/functions/" + encodeURIComponent(name) + "/rollback", { method: "POST", headers: { "x-virgo-dashboard": "1" } });
  const body = await r.json().catch(() => ({}));
  $("notice").textContent = r.ok ? name + " rolled back from " + body.from + " to " + body.version : "Rollback of " + name + " failed: " + ((body.error && body.error.message) || r.status);
  $("notice").className = r.ok ? "ok" : "error";
});

let logSource;
function logLine(l) {
  const div = document.createElement("div");
  div.className = l.level || "";
  div.textContent = (l.time || (l.t ? new Date(l.t).toISOString() : "")) + " " + short(l.peer || "") + " " + (l.level || "").padEnd(5) + " " + (l.requestId ? "[" + l.requestId + "] " : "") + (l.msg == null ? JSON.stringify(l) : l.msg);
  const box = $("logs"), atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
  box.appendChild(div);
  while (box.childNodes.length > 500) box.removeChild(box.firstChild);
  if (atEnd) box.scrollTop = box.scrollHeight;
}
function logLines(data) {
  const v = JSON.parse(data);
  for (const l of Array.isArray(v) ? v : Array.isArray(v.lines) ? v.lines : [v]) logLine(l);
}
$("log-fn").addEventListener("change", async () => {
  if (logSource) logSource.close();
  const fn = $("log-fn").value;
  $("logs").textContent = "";
  if (!fn) return;
  const url = "/dashboard/logs/" + encodeURIComponent(fn) + "?follow=1&since=15m";
  const probe = await fetch("/dashboard/logs/" + encodeURIComponent(fn) + "?since=15m");
  if (!probe.ok) {
    const body = await probe.json().catch(() => ({}));
    $("logs").textContent = probe.status === 404 && !(body.error && body.error.code === "FUNCTION_NOT_FOUND")
      ? "This peer has no log route (/v1/logs): logs are not available here."
      : "Logs unavailable: " + ((body.error && body.error.message) || probe.status);
    return;
  }
  await probe.body.cancel();
  logSource = new EventSource(url);
  logSource.onmessage = (e) => logLines(e.data);
  for (const ev of ["line", "lines", "log"]) logSource.addEventListener(ev, (e) => logLines(e.data));
});

connect();
`;

/**
 * The page for peer `peerId`; `signedIn` shows the sign-out button (a peer without a token has
 * no sessions).
 *
 * @example
 * ```ts
 * routes.get("/", (c) => c.html(dashboardPage(peerId, true)));
 * ```
 */
export function dashboardPage(peerId: string, signedIn: boolean): string {
  const id = escapeHtml(peerId);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Virgo · ${id.slice(-8)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body>
<header><h1>Virgo</h1><span>peer <code>${id}</code></span>
<span id="status" class="muted grow">connecting…</span><span id="notice"></span>
${
    signedIn
      ? `<form method="post" action="/signout"><button type="submit">Sign out</button></form>`
      : ""
  }
</header>
<main>
<section><h2>Mesh</h2>
<svg id="graph" viewBox="0 0 560 380" role="img" aria-label="peers of the mesh and the latest calls between them"></svg>
<p class="muted">Node size: cores. Colour: load (green idle, red busy; grey suspect or leaving). Ring: pool used. Arrows: calls this peer took in the last 30 s, to the peer that ran them (dashed ring: ran here).</p>
</section>
<section><h2>Latest calls</h2>
<table><thead><tr><th>time</th><th>function</th><th>took → ran</th><th>status</th><th class="num">ms</th><th>request</th></tr></thead>
<tbody id="calls"></tbody></table></section>
<section class="wide"><h2>Functions (<span id="fn-count">0</span>) · calls as this peer saw them</h2>
<table><thead><tr><th>name</th><th>version</th><th class="num">calls</th><th class="num">errors</th><th class="num">p50 ms</th><th class="num">p99 ms</th><th>last errors</th><th></th></tr></thead>
<tbody id="fns"></tbody></table></section>
<section><h2>Memory pool per peer (MiB)</h2>
<table><thead><tr><th>peer</th><th class="num">used</th><th class="num">free</th><th class="num">total</th><th></th></tr></thead>
<tbody id="pool"></tbody></table></section>
<section><h2>Logs</h2>
<p><select id="log-fn"><option value="">choose a function…</option></select></p>
<div id="logs" aria-live="polite"></div></section>
</main>
<script>${SCRIPT}</script>
</body></html>`;
}
