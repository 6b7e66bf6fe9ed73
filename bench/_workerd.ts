/**
 * Cloudflare's `workerd` (the open-source Workers runtime) as a baseline: installed on demand
 * from its npm package into `bench/.cache/` (never a dependency of Virgo), and run with a small
 * capnp config that serves one ES module on 127.0.0.1 — the same function Virgo runs.
 *
 * Run alone: deno run -A bench/_workerd.ts (installs, serves hello, prints `Ready at <url>`,
 * stops on Ctrl-C).
 * @module
 */
import { freePort, installSignalHandlers, spawn } from "../test/_harness.ts";
import { ROOT } from "./_util.ts";

/** The workerd release the bench measures (npm `workerd`), pinned so runs compare. */
export const WORKERD_VERSION = "1.20261117.1";

/** Where the package is installed: gitignored, reused by later runs. */
export const WORKERD_CACHE = `${ROOT}bench/.cache/workerd-${WORKERD_VERSION}`;

/** A compatibility date the pinned release supports (it refuses dates after its own). */
const COMPATIBILITY_DATE = "2025-09-01";

/** The platform package that holds the binary, as npm `workerd` names them. */
function platformPackage(): string | undefined {
  const os = Deno.build.os === "linux" ? "linux" : Deno.build.os === "darwin" ? "darwin" : "";
  const arch = Deno.build.arch === "x86_64" ? "64" : Deno.build.arch === "aarch64" ? "arm64" : "";
  return os && arch ? `@cloudflare/workerd-${os}-${arch}` : undefined;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * The path of the workerd binary, installing the pinned package first if it is not cached.
 * Resolves `{ skipped }` with the reason when it cannot be had (no npm, no network, no build for
 * this platform): the bench records that as skipped, not failed.
 */
export async function installWorkerd(): Promise<{ bin: string } | { skipped: string }> {
  const pkg = platformPackage();
  if (!pkg) return { skipped: `no workerd build for ${Deno.build.os}/${Deno.build.arch}` };
  const bin = `${WORKERD_CACHE}/node_modules/${pkg}/bin/workerd`;
  if (await isFile(bin)) return { bin };
  await Deno.mkdir(WORKERD_CACHE, { recursive: true });
  let out: Deno.CommandOutput;
  try {
    // The platform package carries the binary; workerd's postinstall script is not needed.
    out = await new Deno.Command("npm", {
      args: [
        "install",
        "--prefix",
        WORKERD_CACHE,
        "--no-save",
        "--no-package-lock",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        `workerd@${WORKERD_VERSION}`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(180_000),
    }).output();
  } catch (err) {
    return { skipped: `npm install workerd@${WORKERD_VERSION} failed: ${(err as Error).message}` };
  }
  if (!out.success || !await isFile(bin)) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" ");
    return {
      skipped: `npm install workerd@${WORKERD_VERSION} failed (code ${out.code}): ${
        err.slice(0, 300)
      }`,
    };
  }
  return { bin };
}

/** A running workerd. */
export interface Workerd {
  readonly url: string;
  readonly pid: number;
  readonly version: string;
  stop(): Promise<number>;
}

/** A capnp string literal. */
const capnpString = (s: string) => JSON.stringify(s);

/**
 * Starts `bin` serving the ES module `code` (a default export with `fetch`) on a free loopback
 * port, and waits until it answers (about a second after start: it compiles the module first).
 */
export async function startWorkerd(bin: string, code: string): Promise<Workerd> {
  const dir = await Deno.makeTempDir({ prefix: "virgo-bench-workerd-" });
  const port = freePort();
  await Deno.writeTextFile(`${dir}/worker.js`, code);
  await Deno.writeTextFile(
    `${dir}/config.capnp`,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = ${
      capnpString(`127.0.0.1:${port}`)
    }, http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = ${capnpString(COMPATIBILITY_DATE)},
);
`,
  );
  const { child, tracked } = spawn(bin, ["serve", `${dir}/config.capnp`], {
    label: "workerd",
    stdout: "piped",
    stderr: "piped",
  });
  const errText = new Response(child.stderr).text();
  child.stdout.cancel().catch(() => {});
  const url = `http://127.0.0.1:${port}`;
  const cleanup = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  const deadline = performance.now() + 30_000;
  let exited = false;
  tracked.exited.then(() => exited = true);
  try {
    // Wait for the port, then for a 200: the socket may open before the worker is ready.
    for (;;) {
      if (exited) {
        throw new Error(
          `workerd exited (${(await tracked.exited).code}): ${(await errText).slice(-1500)}`,
        );
      }
      if (performance.now() > deadline) throw new Error("workerd not answering in 30 s");
      try {
        const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(2_000) });
        await res.body?.cancel();
        if (res.ok) break;
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 25));
    }
  } catch (err) {
    await tracked.kill();
    throw err;
  } finally {
    await cleanup(); // read at start: a running workerd needs neither file
  }
  return { url, pid: tracked.pid, version: WORKERD_VERSION, stop: () => tracked.stop() };
}

if (import.meta.main) {
  installSignalHandlers();
  const got = await installWorkerd();
  if ("skipped" in got) {
    console.error(`workerd skipped: ${got.skipped}`);
    Deno.exit(0);
  }
  const { bundle } = await import("../runtime/catalog/mod.ts");
  const { code } = await bundle(`${ROOT}functions/hello.ts`);
  const w = await startWorkerd(got.bin, code);
  console.log(`Ready at ${w.url}`);
}
