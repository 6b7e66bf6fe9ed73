/**
 * `virgo dev` start-up: from the command's start to the first 200 response of the function
 * (a KV counter, so the pool is in the path), `--runs` times, as a user runs it from a folder
 * outside the checkout; and a reload: from a save to the first response of the new version.
 * Target (issue 11): as quick as `wrangler dev`, whose workerd alone answers ~1 s after start.
 *
 *   deno run -A bench/dev_start.ts [--runs 5]
 * @module
 */
import { parseArgs } from "node:util";
import { freePort } from "../test/_harness.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "5" } },
});
const runs = Number(values.runs);
const dir = await Deno.makeTempDir({ prefix: "virgo-devbench-" });
const entry = `${dir}/main.ts`;
const source = (v: string) =>
  `export default { async fetch(_r: Request, env: any) {
  const n = Number((await env.KV.get("n", "text")) ?? "0") + 1;
  await env.KV.set("n", String(n));
  return new Response("${v} " + n);
} };
`;

async function until(url: string, want: RegExp, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const res = await fetch(url);
      const text = await res.text();
      if (res.status === 200 && want.test(text)) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no ${want} from ${url}`);
}

const first: number[] = [];
const reload: number[] = [];
try {
  for (let i = 0; i < runs + 1; i++) {
    await Deno.writeTextFile(entry, source("v1"));
    const port = freePort(); // not a random one: something else may listen there
    const url = `http://127.0.0.1:${port}/fn/main`;
    const t = performance.now();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        `${ROOT}deno.json`,
        `${ROOT}runtime/cli/main.ts`,
        "dev",
        entry,
        "--port",
        String(port),
      ],
      cwd: dir,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await until(url, /^v1 1$/, AbortSignal.timeout(60_000));
      const ms = performance.now() - t;
      const s = performance.now();
      await Deno.writeTextFile(entry, source("v2"));
      await until(url, /^v2 /, AbortSignal.timeout(60_000));
      if (i > 0) {
        first.push(ms); // the first run fills Deno's caches
        reload.push(performance.now() - s);
      }
    } finally {
      child.kill("SIGTERM");
      await child.status;
    }
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

const q = (xs: number[], p: number) =>
  xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const fmt = (xs: number[]) =>
  `median ${q(xs, 0.5).toFixed(0)} ms, min ${q(xs, 0).toFixed(0)}, max ${q(xs, 1).toFixed(0)}`;
console.log(`virgo dev, start to first 200 (${runs} runs): ${fmt(first)}`);
console.log(`virgo dev, save to new version answering: ${fmt(reload)}`);
console.log(
  `load average: ${(await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ")}`,
);
