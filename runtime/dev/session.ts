/**
 * `virgo dev`: one function on one local peer — the real peer assembly
 * (`../peer.ts`) on loopback, joining no mesh, with no token (loopback only)
 * and a throwaway data folder unless `persist` names one — so `env.KV`,
 * `env` vars and secrets work as they do deployed. The entry and its local
 * imports are watched; a save rebundles and redeploys, keeping the pool. A
 * build error names the file and line and leaves the last good version
 * serving; stack frames in the function's output point at its own files.
 * @module
 */
import { type Bundle, bundle, BundleError } from "../catalog/mod.ts";
import { resolveConfig } from "../config.ts";
import { VirgoError } from "../errors.ts";
import { type Peer, startPeer } from "../peer.ts";
import { readSecretsFile } from "./dotenv.ts";
import { devLogger, followFunctionLog } from "./logger.ts";
import { mapFrames, type PositionMapper, sourceMapper } from "./sourcemap.ts";
import { watchFiles } from "./watch.ts";

/** Options of {@linkcode startDev}. */
export interface DevInit {
  /** The function's entry module. */
  entry: string;
  /** Function name. @default {the file name, lower case, without extension} */
  name?: string | undefined;
  /** HTTP port on 127.0.0.1 (0 picks a free one). @default {8787} */
  port?: number | undefined;
  /** Keep the pool in this data folder; by default a temp folder removed on stop. */
  persist?: string | undefined;
  /** `env` vars (`--var K=V`). */
  vars?: Record<string, string> | undefined;
  /** Secrets (`--secret K=V`), over those of `.dev.vars` / `.env` beside the entry. */
  secrets?: Record<string, string> | undefined;
  /** Also the peer's own info lines. @default {false} */
  verbose?: boolean | undefined;
  /** Status lines (ready, reloaded). @default {console.log} */
  print?: ((line: string) => void) | undefined;
  /** Function output, build errors and the peer's warnings. @default {stderr} */
  log?: ((line: string) => void) | undefined;
  /**
   * The first bundle (with its source map), when the caller started it early — e.g. while the
   * peer's modules still load. @default {bundled here}
   */
  firstBundle?: Promise<Bundle> | undefined;
}

/** A running dev session. */
export interface DevSession {
  /** The peer's base URL (its API under `/v1`). */
  readonly url: string;
  /** Where the function answers: `<url>/fn/<name>`. */
  readonly functionUrl: string;
  readonly name: string;
  /** The data folder of the pool. */
  readonly data: string;
  readonly peer: Peer;
  /** The files watched: the entry, its local imports, the secrets file. */
  watched(): string[];
  /** Stops watching and the peer; removes a throwaway data folder. */
  stop(): Promise<void>;
}

/** Default port, as `wrangler dev` and `virgo start`. */
export const DEV_PORT = 8787;

/** Where the bundle says its frames are (its `//# sourceURL=`), short enough to survive any log. */
const bundleUrl = (name: string) => `virgo-dev:/${name}.js`;

function fileName(entry: string): string {
  return entry.split("/").pop()!.replace(/\.(m?[jt]sx?)$/, "").toLowerCase();
}

/** A path as a person at this working folder would type it. */
function shown(path: string): string {
  const cwd = Deno.cwd();
  return path.startsWith(cwd + "/") ? path.slice(cwd.length + 1) : path;
}

/**
 * Starts a dev session and deploys the function once; resolves when it answers (or when the
 * first build failed, which is shown and waits for a save).
 *
 * @example
 * ```ts
 * const dev = await startDev({ entry: "functions/counter.ts", port: 0 });
 * await fetch(dev.functionUrl);
 * await dev.stop();
 * ```
 */
export async function startDev(init: DevInit): Promise<DevSession> {
  const entry = init.entry.startsWith("/") ? init.entry : `${Deno.cwd()}/${init.entry}`;
  const name = init.name ?? fileName(entry);
  const print = init.print ?? ((line: string) => console.log(line));
  const out = init.log ??
    ((line: string) => Deno.stderr.writeSync(new TextEncoder().encode(line + "\n")));
  const url = bundleUrl(name);
  let mapper: PositionMapper | undefined;
  const mapText = (text: string) => mapper ? mapFrames(text, url, mapper, shown) : text;
  const logger = devLogger({ write: out, verbose: init.verbose ?? false, mapText });

  const startedAt = new Date();
  const secretsFile = await readSecretsFile(entry);
  const data = init.persist ?? await Deno.makeTempDir({ prefix: "virgo-dev-" });
  const cfg = resolveConfig({
    http: `127.0.0.1:${init.port ?? DEV_PORT}`,
    p2p: "/ip4/127.0.0.1/tcp/0",
    data,
  });

  let early = init.firstBundle;
  const build = async () => {
    const b = await (early ?? bundle(entry, { sourcemap: true }));
    early = undefined;
    const files = (b.map?.sources ?? []).filter((s) =>
      s.startsWith("/") && !s.includes("/node_modules/") && !s.includes("/registry.npmjs.org/")
    );
    return { code: `${b.code}//# sourceURL=${url}\n`, map: b.map, files };
  };
  const first = build().then(
    (b) => ({ ok: true as const, b }),
    (err) => ({ ok: false as const, err }),
  );
  let peer: Peer;
  try {
    peer = await startPeer(cfg, logger);
  } catch (err) {
    if (!init.persist) await Deno.remove(data, { recursive: true }).catch(() => {});
    throw err;
  }

  const api = async (path: string, method: string, body?: string, type = "application/json") => {
    const res = await peer.app.request(`/v1/functions/${encodeURIComponent(name)}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": type },
      ...(body === undefined ? {} : { body }),
    });
    const json = await res.json().catch(() => ({})) as Record<string, unknown>;
    if (!res.ok) {
      const e = json.error as { code?: string; message?: string } | undefined;
      throw new VirgoError("BAD_REQUEST", `${method} ${path || "/"}: ${e?.message ?? res.status}`);
    }
    return json;
  };

  let deployed = false;
  const following = new AbortController();
  let followed: Promise<void> | undefined;
  let secretsSet = false;
  const syncSecrets = async () => {
    const wanted: Record<string, string> = {
      ...(await readSecretsFile(entry))?.values,
      ...init.secrets,
    };
    const have = (await api("/secrets", "GET")).secrets as string[];
    for (const key of have) if (!(key in wanted)) await api(`/secrets/${key}`, "DELETE");
    for (const [key, value] of Object.entries(wanted)) {
      await api(`/secrets/${encodeURIComponent(key)}`, "PUT", value, "text/plain");
    }
    secretsSet = true;
  };

  const showBuildError = (err: unknown) => {
    if (err instanceof BundleError) {
      out(`✗ build failed: ${err.message.replace(/^Cannot bundle [^:]+: /, "")}`);
      if (err.snippet) out(err.snippet);
    } else out(`✗ ${(err as Error).message}`);
  };

  const deploy = async (b: Awaited<ReturnType<typeof build>>) => {
    const meta = await api("", "PUT", JSON.stringify({ code: b.code, vars: init.vars ?? {} }));
    mapper = b.map ? sourceMapper(b.map) : undefined;
    deployed = true;
    // The log can be followed once the function exists.
    followed ??= followFunctionLog(
      (req) => peer.app.fetch(req),
      name,
      startedAt,
      { write: out, verbose: init.verbose ?? false, mapText },
      following.signal,
    );
    if (!secretsSet) await syncSecrets();
    return meta.version as string;
  };

  const watchSet = (
    files: string[],
  ) => [entry, ...files, ...(secretsFile ? [secretsFile.path] : [])];
  let files: string[] = [];
  const result = await first;
  if (result.ok) {
    files = result.b.files;
    await deploy(result.b).catch(async (err) => {
      await peer.stop();
      if (!init.persist) await Deno.remove(data, { recursive: true }).catch(() => {});
      throw err;
    });
  } else showBuildError(result.err);

  // One reload at a time; saves during a reload make one more.
  let running: Promise<void> | undefined;
  let again = false;
  const reload = (changed: string[]) => {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        const t0 = performance.now();
        try {
          if (secretsFile && changed.every((f) => f === secretsFile.path) && deployed) {
            await syncSecrets();
            print(`↻ secrets reloaded from ${shown(secretsFile.path)}`);
            continue;
          }
          const b = await build();
          watch.set(watchSet(b.files));
          const version = await deploy(b);
          print(
            `↻ reloaded ${name} in ${Math.round(performance.now() - t0)} ms (version ${version})`,
          );
        } catch (err) {
          if (err instanceof BundleError && err.location) {
            // A new file that fails is watched too, so fixing it reloads.
            const f = err.location.file.startsWith("/")
              ? err.location.file
              : `${Deno.cwd()}/${err.location.file}`;
            watch.set([...watch.files(), f]);
          }
          showBuildError(err);
        }
      } while (again);
      running = undefined;
    })();
  };
  const watch = watchFiles(watchSet(files), reload);

  let stopped: Promise<void> | undefined;
  return {
    url: peer.url,
    functionUrl: `${peer.url}/fn/${encodeURIComponent(name)}`,
    name,
    data,
    peer,
    watched: () => watch.files(),
    stop: () =>
      stopped ??= (async () => {
        watch.close();
        following.abort();
        await followed;
        await running;
        await peer.stop();
        if (!init.persist) await Deno.remove(data, { recursive: true }).catch(() => {});
      })(),
  };
}
