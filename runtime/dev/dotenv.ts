/**
 * Reads the secrets file of `virgo dev`, as wrangler does: `.dev.vars` beside
 * the entry, else `.env`, in dotenv syntax.
 * @module
 */
import { VirgoError } from "../errors.ts";

/**
 * Parses dotenv text: `KEY=value` lines, an optional `export ` before the key, `#` comments,
 * values in double quotes (with `\n`, `\t`, `\"` and `\\` escapes, and spanning lines), in
 * single quotes (taken as written), or bare (trimmed, cut at ` #`).
 *
 * @example
 * ```ts
 * parseDotenv('API_KEY="a b"\n# note\nexport MODE=dev # inline');
 * // { API_KEY: "a b", MODE: "dev" }
 * ```
 */
export function parseDotenv(text: string, source = ".env"): Record<string, string> {
  const out: Record<string, string> = {};
  const re =
    /^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=[ \t]*("(?:\\.|[^"\\])*"|'[^']*'|[^\n]*)[ \t]*(?:#[^\n]*)?$/gm;
  const lines = text.replace(/\r\n?/g, "\n");
  let lastEnd = 0;
  for (const m of lines.matchAll(re)) {
    checkGap(lines.slice(lastEnd, m.index), source, lines.slice(0, m.index));
    lastEnd = m.index + m[0].length;
    const raw = m[2]!;
    let value: string;
    if (raw.startsWith('"')) {
      value = raw.slice(1, -1).replace(
        /\\(.)/g,
        (_, c: string) => c === "n" ? "\n" : c === "t" ? "\t" : c === "r" ? "\r" : c,
      );
    } else if (raw.startsWith("'")) value = raw.slice(1, -1);
    else value = raw.replace(/[ \t]+#.*$/, "").trim();
    out[m[1]!] = value;
  }
  checkGap(lines.slice(lastEnd), source, lines.slice(0, lastEnd));
  return out;
}

/** Only blank lines and comments may lie between entries; anything else is named with its line. */
function checkGap(gap: string, source: string, before: string): void {
  const lines = gap.split("\n");
  const bad = lines.findIndex((l) => l.trim() !== "" && !l.trim().startsWith("#"));
  if (bad < 0) return;
  const line = before.split("\n").length + bad;
  throw new VirgoError(
    "BAD_REQUEST",
    `${source}:${line}: expected KEY=value: ${lines[bad]!.trim().slice(0, 80)}`,
  );
}

/**
 * The secrets file beside `entry`: `.dev.vars`, else `.env`; both absent is none.
 *
 * @example
 * ```ts
 * const found = await readSecretsFile("/home/me/fn/main.ts");
 * found?.path; // "/home/me/fn/.dev.vars"
 * ```
 */
export async function readSecretsFile(
  entry: string,
): Promise<{ path: string; values: Record<string, string> } | undefined> {
  const dir = entry.slice(0, entry.lastIndexOf("/")) || ".";
  for (const name of [".dev.vars", ".env"]) {
    const path = `${dir}/${name}`;
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue;
      throw new VirgoError("BAD_REQUEST", `Cannot read ${path}: ${(err as Error).message}`);
    }
    return { path, values: parseDotenv(text, path) };
  }
  return undefined;
}
