/**
 * The program a child process runs. The npm package ships `_child.js`, bundled by
 * `bin/build.ts`. From source, `_child.ts` and the modules it imports are bundled into one file
 * by esbuild the first time a host needs it, and kept in Deno's cache folder under a name made
 * from the hashes of those inputs: measured, a fresh child reaches its first line ~1.4 ms sooner
 * from one `.js` file (2.0 vs 3.4 ms after Deno's start) than from eight `.ts` modules, each
 * looked up in Deno's transpile cache. A manifest beside it lists the inputs and their hashes,
 * so an edited input is seen at the next start (a host re-hashes them, ~1 ms) and bundled again.
 *
 * @module
 */

import { sha256Hex } from "../../core/mod.ts";

const SOURCE = new URL("./_child.ts", import.meta.url);

/** What a bundle was made from: each input's path and sha256. */
interface Manifest {
  deno: string;
  inputs: Record<string, string>;
}

/**
 * The URL of the child program: the bundled `_child.js` beside this module when it runs from
 * the npm package; from source, a cached bundle of `_child.ts` (made now if the cache has no
 * current one); `_child.ts` itself if bundling is not possible here (no esbuild, no writable
 * cache folder).
 *
 * @example
 * ```ts
 * const url = await childProgram(denoDir); // "file:///root/.cache/deno/virgo/child-…js"
 * ```
 */
export async function childProgram(cacheRoot: string | undefined): Promise<string> {
  if (!import.meta.url.endsWith(".ts")) return new URL("./_child.js", import.meta.url).href;
  if (!cacheRoot || SOURCE.protocol !== "file:") return SOURCE.href;
  try {
    return await cachedBundle(`${cacheRoot}/virgo`);
  } catch {
    return SOURCE.href;
  }
}

/** Hex sha256 of a file's bytes or of a string's UTF-8. */
function sha256(data: Uint8Array | string): Promise<string> {
  return sha256Hex(typeof data === "string" ? new TextEncoder().encode(data) : data);
}

/** The bundle's file for these inputs: named by their hashes, so a manifest never names a stale one. */
async function bundleFile(dir: string, m: Manifest): Promise<string> {
  return `${dir}/child-${(await sha256(JSON.stringify(m))).slice(0, 24)}.js`;
}

async function current(m: Manifest): Promise<boolean> {
  if (m.deno !== Deno.version.deno) return false;
  for (const [path, hash] of Object.entries(m.inputs)) {
    if (await sha256(await Deno.readFile(path)) !== hash) return false;
  }
  return true;
}

/** Writes `data` to `path` whole or not at all: hosts starting at once may bundle at once. */
async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, data);
  await Deno.rename(tmp, path);
}

async function cachedBundle(dir: string): Promise<string> {
  const src = SOURCE.pathname;
  // One manifest per source tree (worktrees and installs side by side keep their own).
  const manifestPath = `${dir}/child-${(await sha256(src)).slice(0, 16)}.json`;
  try {
    const m = JSON.parse(await Deno.readTextFile(manifestPath)) as Manifest;
    const file = await bundleFile(dir, m);
    if (await current(m)) {
      await Deno.stat(file);
      return new URL(file, "file:///").href;
    }
  } catch { /* none yet, or unreadable: bundle it */ }
  const esbuild = await import("esbuild");
  try {
    const root = src.slice(0, src.lastIndexOf("/runtime/sandbox/"));
    const result = await esbuild.build({
      absWorkingDir: root,
      entryPoints: [src],
      bundle: true,
      write: false,
      metafile: true,
      format: "esm",
      platform: "neutral",
      target: "esnext",
      external: ["node:*"],
      legalComments: "none",
      logLevel: "silent",
    });
    const inputs: Record<string, string> = {};
    for (const input of Object.keys(result.metafile.inputs)) {
      const path = `${root}/${input}`;
      inputs[path] = await sha256(await Deno.readFile(path));
    }
    const m: Manifest = { deno: Deno.version.deno, inputs };
    const file = await bundleFile(dir, m);
    await Deno.mkdir(dir, { recursive: true });
    await writeAtomic(file, result.outputFiles[0]!.text);
    await writeAtomic(manifestPath, JSON.stringify(m));
    return new URL(file, "file:///").href;
  } finally {
    await esbuild.stop();
  }
}
