/**
 * CLI start-up time: `virgo --help` and `virgo kv get <key>` (against a stub peer in this
 * process, so only the CLI is timed), each run `--runs` times as a user runs them, next to a
 * bare `deno eval 0`. Target: both under 150 ms (issue 11).
 *
 *   deno run -A bench/cli_start.ts [--runs 30] [--bin <path to an installed virgo>]
 *
 * Without `--bin` it builds `dist/cli/` (bin/build.ts) and times the bundle (what an installed
 * `virgo` runs, as `bin/virgo` runs it) and the source (what a checkout's `npx virgo` runs).
 * @module
 */
import { parseArgs } from "node:util";

const ROOT = new URL("../", import.meta.url).pathname;
const DENO = Deno.execPath();
const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "30" }, bin: { type: "string" } },
});
const runs = Number(values.runs);

const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  (req) =>
    new URL(req.url).pathname.startsWith("/v1/kv/")
      ? new Response("value", { headers: { "x-virgo-version": "1" } })
      : new Response("{}", { status: 404 }),
);
const peer = `http://127.0.0.1:${server.addr.port}`;

const TIME = "/usr/bin/time";
const haveTime = await Deno.stat(TIME).then(() => true, () => false);
const cpuFile = await Deno.makeTempFile();
/** CPU milliseconds (user + system) of each run, when /usr/bin/time is there. */
const cpu = new Map<string, number[]>();

async function time(cmd: string, args: string[]): Promise<number[]> {
  const out: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const [c, a] = haveTime ? [TIME, ["-f", "%U %S", "-o", cpuFile, cmd, ...args]] : [cmd, args];
    const t = performance.now();
    const r = await new Deno.Command(c, { args: a, stdout: "null", stderr: "piped", cwd: "/" })
      .output();
    const ms = performance.now() - t;
    if (haveTime && i > 0) {
      const [u, s] = (await Deno.readTextFile(cpuFile)).trim().split(/\s+/).map(Number);
      cpus.push(((u ?? 0) + (s ?? 0)) * 1000);
    }
    if (!r.success) {
      throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
    }
    if (i > 0) out.push(ms); // the first run fills Deno's caches
  }
  cpu.set(`${cmd} ${args.join(" ")}`, cpus.sort((a, b) => a - b));
  return out.sort((a, b) => a - b);
}

const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

if (!values.bin) {
  const b = await new Deno.Command(DENO, { args: ["run", "-A", `${ROOT}bin/build.ts`] }).output();
  if (!b.success) throw new Error(new TextDecoder().decode(b.stderr));
}
const run = ["run", "-A", "--no-lock", "--config", `${ROOT}deno.json`];
const src = [...run, `${ROOT}runtime/cli/main.ts`];
// What an installed `virgo` runs (bin/virgo execs exactly this), or the installed one itself.
const [bin, pre] = values.bin ? [values.bin, []] : [DENO, [...run, `${ROOT}dist/cli/virgo.js`]];
const cases: Array<[string, string, string[]]> = [
  ["deno eval 0 (floor)", DENO, ["eval", "0"]],
  ["virgo --help (bundle)", bin, [...pre, "--help"]],
  ["virgo kv get (bundle)", bin, [...pre, "kv", "get", "k", "--peer", peer]],
];
if (!values.bin) {
  cases.push(
    ["virgo --help (source)", DENO, [...src, "--help"]],
    ["virgo kv get (source)", DENO, [...src, "kv", "get", "k", "--peer", peer]],
  );
}
console.log(`| command | wall p50 ms | wall p90 ms | CPU p50 ms | runs |\n|---|---|---|---|---|`);
for (const [name, cmd, args] of cases) {
  const xs = await time(cmd, args);
  const c = cpu.get(`${cmd} ${args.join(" ")}`) ?? [];
  const cp = c.length ? q(c, 0.5).toFixed(0) : "-";
  console.log(
    `| ${name} | ${q(xs, 0.5).toFixed(0)} | ${q(xs, 0.9).toFixed(0)} | ${cp} | ${runs} |`,
  );
}
await server.shutdown();
await Deno.remove(cpuFile);
