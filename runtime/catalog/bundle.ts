/**
 * Bundling for `virgo deploy`: `deno bundle` turns an entry module and
 * everything it imports into one self-contained ES module, which is what a
 * peer stores and a sandbox loads. Imports resolve exactly as `deno run`
 * would resolve them from the entry's folder, with Deno's own resolver and
 * cache: relative files, `npm:` and `jsr:` specifiers, the `deno.json`
 * ("imports", "importMap") or `package.json` found from that folder up, and
 * a `node_modules` where the project has one. Packages missing from the cache
 * are fetched from their registry at bundle time.
 * @module
 */
import { VirgoError } from "../errors.ts";

/** What {@linkcode bundle} produced. */
export interface Bundle {
  /** The single ES module. */
  code: string;
  /** Its size in bytes. */
  size: number;
  /**
   * With `{ sourcemap: true }`: the bundle's source map (version 3), its `sources` made absolute
   * file paths where they are files. Kept apart from `code`, which never carries it.
   */
  map?: SourceMapV3;
}

/** A version 3 source map, as `deno bundle` writes it. */
export interface SourceMapV3 {
  version: number;
  sources: string[];
  mappings: string;
  names?: string[];
}

/** Options of {@linkcode bundle}. */
export interface BundleOptions {
  /** Also return the source map (`virgo dev` maps stack frames with it). @default {false} */
  sourcemap?: boolean;
}

/** Where a bundling error points. */
export interface BundleLocation {
  /** The file, relative to the working folder when it lies inside it. */
  file: string;
  line: number;
  column: number;
}

/** A bundling failure: `INVALID_BUNDLE`, with the location of the fault when Deno names one. */
export class BundleError extends VirgoError {
  override name = "BundleError";
  /** Where the fault is, when known. */
  readonly location: BundleLocation | undefined;
  /** The source lines Deno showed around the fault (may be empty). */
  readonly snippet: string;
  constructor(message: string, location?: BundleLocation, snippet = "") {
    super("INVALID_BUNDLE", message);
    this.location = location;
    this.snippet = snippet;
  }
}

const SOURCE_MAP_LINE =
  /\n\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;

/**
 * Bundles `entry` into one ES module with `deno bundle` (the Deno running this program), from
 * the entry's own folder.
 *
 * Bundles say where each module came from (a comment above it, the keys of CommonJS wrappers),
 * relative to that folder: local files by their path from it, packages from Deno's cache as
 * `<npm>/registry.npmjs.org/<name>/<version>/…`, remote modules by URL. So the same source
 * bundles to the same bytes — the same version — wherever it lies, wherever it is deployed from
 * and wherever Deno's cache is.
 *
 * @example
 * ```ts
 * const { code } = await bundle("functions/hello.ts");
 * ```
 */
export async function bundle(entry: string, opts: BundleOptions = {}): Promise<Bundle> {
  const abs = entry.startsWith("/") ? entry : `${Deno.cwd()}/${entry}`;
  let dir: string;
  try {
    if (!(await Deno.stat(abs)).isFile) throw new Error("not a file");
    dir = await Deno.realPath(abs.slice(0, abs.lastIndexOf("/")) || "/");
  } catch (err) {
    throw new BundleError(`Cannot bundle ${entry}: ${(err as Error).message}`);
  }
  const args = ["bundle", "--quiet", "--platform", "deno", "--format", "esm"];
  if (opts.sourcemap) args.push("--sourcemap", "inline");
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(Deno.execPath(), {
      args: [...args, abs],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    throw new BundleError(`Cannot bundle ${entry}: cannot run deno: ${(err as Error).message}`);
  }
  if (!out.success) throw bundleFailure(entry, new TextDecoder().decode(out.stderr));
  let code = new TextDecoder().decode(out.stdout);
  if (code.trim() === "") {
    throw new BundleError(`Cannot bundle ${entry}: bundling produced no output`);
  }
  let map: SourceMapV3 | undefined;
  const inline = SOURCE_MAP_LINE.exec(code);
  if (inline) {
    code = code.slice(0, inline.index) + "\n";
    if (opts.sourcemap) map = absoluteSources(decodeMap(inline[1]!), dir);
  }
  code = await stableCachePaths(code, dir);
  const result: Bundle = { code, size: new TextEncoder().encode(code).byteLength };
  if (map) result.map = map;
  return result;
}

/** Turns `deno bundle`'s stderr into a {@linkcode BundleError} naming the file and line at fault. */
function bundleFailure(entry: string, stderr: string): BundleError {
  const lines = stderr.split("\n").filter((l) => !/^Stack backtrace:|^\s+\d+: /.test(l));
  const first = lines.find((l) => l.startsWith("error: ") && l !== "error: bundling failed");
  let text = first?.slice("error: ".length).trim() ?? (stderr.trim() || "deno bundle failed");
  const at = lines.map((l) => /^\s+at (file:\/\/\S+):(\d+):(\d+)\s*$/.exec(l)).find((m) => m);
  let location: BundleLocation | undefined;
  if (at) {
    location = {
      file: shownPath(decodeURIComponent(new URL(at[1]!).pathname)),
      line: Number(at[2]),
      column: Number(at[3]),
    };
  }
  const bare = /^Import "([^"]+)" not a dependency/.exec(text);
  if (bare) {
    text += ` (add it to "imports" in a deno.json beside the entry or to a package.json, ` +
      `or import it as npm:${bare[1]})`;
  }
  const constraint = /^Could not find constraint '([^']+)'/.exec(text);
  if (constraint) text = `npm package ${constraint[1]} not found in the registry (${text})`;
  const snippet = first
    ? lines.slice(lines.indexOf(first) + 1).filter((l) => /^\s*\d*\s*\|/.test(l)).join("\n")
    : "";
  const where = location ? `${location.file}:${location.line}:${location.column}: ` : "";
  return new BundleError(`Cannot bundle ${entry}: ${where}${text}`, location, snippet);
}

/** A path as a person at this working folder would type it. */
function shownPath(path: string): string {
  const cwd = Deno.cwd();
  return path.startsWith(cwd + "/") ? path.slice(cwd.length + 1) : path;
}

function decodeMap(base64: string): SourceMapV3 {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as SourceMapV3;
}

function absoluteSources(map: SourceMapV3, dir: string): SourceMapV3 {
  const base = new URL(`file://${dir}/`);
  const sources = map.sources.map((s) =>
    /^[a-z][a-z0-9+.-]*:/i.test(s) ? s : decodeURIComponent(new URL(s, base).pathname)
  );
  return { version: map.version, sources, mappings: map.mappings, names: map.names ?? [] };
}

let npmCache: Promise<string | undefined> | undefined;

/** Deno's npm cache folder, as `deno info --json` names it (asked once per process). */
function denoNpmCache(): Promise<string | undefined> {
  return npmCache ??= (async () => {
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["info", "--json"],
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).output();
      const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { npmCache?: unknown };
      return typeof info.npmCache === "string" ? await Deno.realPath(info.npmCache) : undefined;
    } catch {
      return undefined;
    }
  })();
}

/** Relative path from folder `from` to `to`, both absolute. */
function relativePath(from: string, to: string): string {
  const a = from.split("/").filter(Boolean);
  const b = to.split("/").filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("/");
}

/** Names packages from Deno's npm cache by where they lie in it, not by the way from `dir`. */
async function stableCachePaths(code: string, dir: string): Promise<string> {
  if (!code.includes("registry.npmjs.org/")) return code;
  const cache = await denoNpmCache();
  if (!cache) return code;
  const rel = relativePath(dir, cache);
  return code.replaceAll(`${rel}/`, "<npm>/");
}
