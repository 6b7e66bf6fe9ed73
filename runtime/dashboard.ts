/**
 * `GET /`: a one-page dashboard that shows the mesh as this peer sees it,
 * the functions it knows and its own status, refreshed every second from the
 * JSON API. No build step and no dependencies.
 *
 * A peer with a token guards this page and the API it reads alike; a browser
 * gets through with the header added by a proxy or an extension, and the page
 * says so when the API answers 401 instead of showing stale numbers.
 * @module
 */

/**
 * The dashboard page for peer `peerId`.
 *
 * @example
 * ```ts
 * app.get("/", (c) => c.html(dashboard(peerId)));
 * ```
 */
export function dashboard(peerId: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Virgo · ${peerId.slice(-8)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#222;background:#fafafa}
h1{font-size:1.3rem}h2{font-size:1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #eee;font-variant-numeric:tabular-nums}
th{background:#f0f0f0}code{font-size:12px}.self{font-weight:600}.muted{color:#888}
</style></head><body>
<h1>Virgo peer <code>${peerId}</code></h1>
<p class="muted" id="status">loading…</p>
<h2>Mesh</h2>
<table><thead><tr><th>peer</th><th>in flight</th><th>queued</th><th>cores</th><th>loop delay ms</th>
<th>pool free / total MiB</th><th>catalogue</th><th>age ms</th><th>http</th></tr></thead><tbody id="peers"></tbody></table>
<h2>Functions</h2>
<table><thead><tr><th>name</th><th>version</th><th>size</th><th>timeout ms</th><th>memory MiB</th><th>deployed</th></tr></thead>
<tbody id="fns"></tbody></table>
<script>
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
const mib = (b) => (b / 1048576).toFixed(0);
async function get(u) {
  const r = await fetch(u);
  if (r.status === 401) throw new Error("this peer needs Authorization: Bearer <token> on every request");
  if (!r.ok) throw new Error(u + " answered " + r.status);
  return r.json();
}
async function refresh() {
  try {
    const [peers, fns, status] = await Promise.all(["/v1/peers", "/v1/functions", "/v1/status"].map(get));
    document.getElementById("status").textContent = "routing " + status.routing + " · " + status.inflight + " calls in flight · up " + Math.round(status.uptimeSeconds) + " s";
    document.getElementById("peers").innerHTML = peers.peers.map((p) => "<tr class='" + (p.self ? "self" : "") + "'><td><code>" + esc(p.peerId.slice(-12)) + "</code></td><td>" + p.inflight + "</td><td>" + p.queued + "</td><td>" + p.cores + "</td><td>" + Number(p.loopDelayMs).toFixed(1) + "</td><td>" + mib(p.poolFreeBytes) + " / " + mib(p.poolTotalBytes) + "</td><td>" + p.catalog.count + " <code>" + esc(p.catalog.digest.slice(0, 8)) + "</code></td><td>" + Math.round(p.ageMs) + "</td><td>" + esc(p.http) + "</td></tr>").join("");
    document.getElementById("fns").innerHTML = fns.functions.map((f) => "<tr><td>" + esc(f.name) + "</td><td><code>" + esc(f.version) + "</code></td><td>" + f.size + "</td><td>" + f.timeoutMs + "</td><td>" + f.memoryMb + "</td><td>" + esc(f.deployedAt) + "</td></tr>").join("");
  } catch (e) { document.getElementById("status").textContent = "peer unreachable: " + e.message; }
}
refresh(); setInterval(refresh, 1000);
</script></body></html>`;
}
