/**
 * Runs another team's micro-benchmark (`bench/<folder>/*.ts`, which prints
 * JSON) as a tracked subprocess with a time limit, and returns its JSON.
 * @module
 */
import { spawn } from "../test/_harness.ts";
import { ROOT } from "./_util.ts";

/** Runs `deno run -A <script> ...args` and parses the JSON it prints last. */
export async function runJsonScript(script: string, args: string[] = [], timeoutMs = 120_000): Promise<unknown> {
  try {
    await Deno.stat(`${ROOT}${script}`);
  } catch {
    throw new Error(`${script} is not there (yet)`);
  }
  const { child, tracked } = spawn(
    Deno.execPath(),
    ["run", "-A", "--config", `${ROOT}deno.json`, `${ROOT}${script}`, ...args],
    { label: script, stdout: "piped", stderr: "piped" },
  );
  const timer = setTimeout(() => tracked.stop(1_000), timeoutMs);
  const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  const st = await tracked.exited;
  clearTimeout(timer);
  if (st.signal) throw new Error(`${script} stopped after ${timeoutMs} ms (${st.signal}): ${err.slice(-400)}`);
  try {
    return JSON.parse(out);
  } catch { /* several values, or text around them */ }
  const lines = out.split("\n");
  // One JSON value per line (e.g. one per size): return them all.
  const single = lines.filter((l) => /^[[{]/.test(l)).map((l) => {
    try {
      return JSON.parse(l) as unknown;
    } catch {
      return undefined;
    }
  });
  if (single.length > 1 && single.every((v) => v !== undefined)) return single;
  // Else the last top-level value printed: from the last line that starts with { or [.
  for (let i = lines.length - 1; i >= 0; i--) {
    if (/^[[{]/.test(lines[i]!)) {
      try {
        return JSON.parse(lines.slice(i).join("\n"));
      } catch { /* keep looking upwards */ }
    }
  }
  throw new Error(`${script} exited ${st.code} without JSON: ${(err || out).slice(-600)}`);
}
