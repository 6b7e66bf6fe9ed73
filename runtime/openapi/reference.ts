/**
 * The API reference as one HTML page rendered on the peer from the OpenAPI
 * document: no script, no external stylesheet or font, nothing fetched when
 * it is viewed — so it works offline and under the strictest CSP.
 * @module
 */
import type { Json } from "./document.ts";

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** `text` safe inside HTML text and attribute values. */
function esc(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

/** Inline `code` spans of a description (backticks), the rest escaped. */
function prose(text: unknown): string {
  return esc(text ?? "").replace(/`([^`]+)`/g, "<code>$1</code>");
}

/** A schema shown as indented JSON. */
function schemaBlock(schema: unknown): string {
  return `<pre>${esc(JSON.stringify(schema, null, 2))}</pre>`;
}

const METHODS = ["get", "put", "post", "patch", "delete", "options"] as const;

interface Operation {
  method: string;
  path: string;
  op: Json;
}

function anchor(method: string, path: string): string {
  return `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, "-");
}

function parameters(op: Json): string {
  const params = (op.parameters ?? []) as Json[];
  if (params.length === 0) return "";
  const rows = params.map((p) =>
    `<tr><td><code>${esc(p.name)}</code>${p.required ? "" : " <i>optional</i>"}</td><td>${
      esc(p.in)
    }</td><td><code>${esc(JSON.stringify(p.schema))}</code></td><td>${
      prose(p.description)
    }</td></tr>`
  ).join("");
  return `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>schema</th><th></th></tr>${rows}</table>`;
}

function content(c: unknown): string {
  if (!c) return "";
  return Object.entries(c as Record<string, Json>).map(([media, m]) =>
    `<div class="media">${esc(media)}</div>${schemaBlock(m.schema)}`
  ).join("");
}

function operation({ method, path, op }: Operation): string {
  const body = op.requestBody as Json | undefined;
  const responses = Object.entries((op.responses ?? {}) as Record<string, Json>).map((
    [status, r],
  ) =>
    `<details${status.startsWith("2") ? " open" : ""}><summary><b>${esc(status)}</b> ${
      prose(r.description)
    }</summary>${content(r.content)}${
      r.headers
        ? `<p>Headers: ${
          Object.keys(r.headers as Json).map((h) => `<code>${esc(h)}</code>`).join(", ")
        }</p>`
        : ""
    }</details>`
  ).join("");
  const open = Array.isArray(op.security) && op.security.length === 0;
  return `<section id="${
    anchor(method, path)
  }"><h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${esc(path)}</code>${
    open ? ' <span class="pub">public</span>' : ""
  }</h3>
<p>${prose(op.summary)}</p>${op.description ? `<p>${prose(op.description)}</p>` : ""}
${parameters(op)}${
    body
      ? `<h4>Request body${body.required ? "" : " <i>optional</i>"}</h4>${content(body.content)}`
      : ""
  }<h4>Responses</h4>${responses}</section>`;
}

/**
 * The reference page of an OpenAPI document: operations grouped by tag, each
 * with its parameters, body and responses, the schemas as JSON.
 *
 * @example
 * ```ts
 * c.html(referencePage(openapiDocument(app, { version: "0.1.0" })));
 * ```
 */
export function referencePage(doc: Json): string {
  const info = (doc.info ?? {}) as Json;
  const paths = (doc.paths ?? {}) as Record<string, Json>;
  const byTag = new Map<string, Operation[]>();
  for (const t of (doc.tags ?? []) as Json[]) byTag.set(String(t.name), []);
  for (const [path, item] of Object.entries(paths)) {
    // An operation of any method (a function call) is shown once.
    const any = METHODS.every((m) => item[m]);
    for (const method of any ? ["get"] : METHODS.filter((m) => item[m])) {
      const op = item[method] as Json;
      const tag = String((op.tags as string[] | undefined)?.[0] ?? "other");
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push({ method: any ? "any" : method, path, op });
    }
  }
  const tagText = new Map(
    ((doc.tags ?? []) as Json[]).map((t) => [String(t.name), t.description]),
  );
  const nav = [...byTag].map(([tag, ops]) =>
    `<h2>${esc(tag)}</h2>${
      ops.map((o) =>
        `<a href="#${
          anchor(o.method, o.path)
        }"><span class="m ${o.method}">${o.method.toUpperCase()}</span> ${esc(o.path)}</a>`
      ).join("")
    }`
  ).join("");
  const main = [...byTag].map(([tag, ops]) =>
    `<h2 id="tag-${esc(tag)}">${esc(tag)}</h2>${
      tagText.get(tag) ? `<p>${prose(tagText.get(tag))}</p>` : ""
    }${ops.map(operation).join("")}`
  ).join("");
  const security = (doc.components as Json | undefined)?.securitySchemes as
    | Record<string, Json>
    | undefined;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>${esc(info.title)} ${esc(info.version)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa;display:flex}
nav{width:20rem;flex:none;height:100vh;overflow:auto;position:sticky;top:0;padding:1rem;box-sizing:border-box;background:#f0f0f3;border-right:1px solid #ddd}
nav h2{font-size:.8rem;text-transform:uppercase;color:#666;margin:1rem 0 .3rem}
nav a{display:block;color:inherit;text-decoration:none;padding:.15rem 0;font-size:12px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
main{padding:1.5rem 2rem;max-width:60rem;min-width:0}
h1{font-size:1.4rem;margin-top:0}h2{border-bottom:1px solid #ddd;padding-bottom:.3rem;margin-top:2.5rem}
h3{font-size:1rem;margin:0 0 .3rem}h4{margin:.8rem 0 .3rem;font-size:.85rem;color:#444}
section{background:#fff;border:1px solid #e3e3e6;border-radius:6px;padding:1rem;margin:1rem 0}
.m{display:inline-block;min-width:3.6em;text-align:center;border-radius:3px;color:#fff;font:600 11px/1.7 ui-monospace,monospace;padding:0 .3em}
.get{background:#2f7d32}.put{background:#a86a00}.post{background:#1565c0}.delete{background:#b3261e}.patch{background:#6a1b9a}.options{background:#555}.any{background:#37474f}
.pub{font-size:11px;color:#2f7d32;border:1px solid #2f7d32;border-radius:3px;padding:0 .3em;vertical-align:middle}
table{border-collapse:collapse;width:100%;font-size:12px}td,th{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
pre{background:#f6f6f8;padding:.6rem;border-radius:4px;overflow:auto;font-size:12px;margin:.2rem 0 .6rem}
.media{font:12px ui-monospace,monospace;color:#666}details{margin:.2rem 0}summary{cursor:pointer}
</style></head><body>
<nav><b>${esc(info.title)}</b> <span>${esc(info.version)}</span>
<p><a href="openapi.json">openapi.json</a></p>${nav}</nav>
<main><h1>${esc(info.title)} <small>${esc(info.version)}</small></h1>
${info.description ? `<p>${prose(info.description)}</p>` : ""}
${
    security
      ? Object.entries(security).map(([name, s]) =>
        `<p><b>Security (${esc(name)}):</b> ${esc(s.type)} ${esc(s.scheme ?? "")} — ${
          prose(s.description)
        }</p>`
      ).join("")
      : ""
  }
${main}</main></body></html>`;
}
