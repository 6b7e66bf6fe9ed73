/**
 * The hard memory cap. `--max-old-space-size` bounds the V8 heap but not ArrayBuffers (measured: 1 GB
 * of them passed a 64 MB heap cap), so the host samples each child's resident set
 * from /proc and SIGKILLs a child above its limit. (This machine's cgroup v2 hierarchy has no
 * memory controller, and the v1 hierarchy belongs to whoever runs the peer, so /proc it is.)
 *
 * @module
 */
import { RSS_SAMPLE_MS } from "./constants.ts";

/** What the watchdog watches. */
export interface Watched {
  readonly pid: number;
  readonly rssLimit: number;
  rss: number;
  readonly alive: boolean;
  kill(code: "FUNCTION_MEMORY_LIMIT", message: string): void;
}

const PAGE = 4096;

/** Starts sampling `list()` every RSS_SAMPLE_MS; returns a stop function. */
export function startWatchdog(
  list: () => Iterable<Watched>,
  limitMb: (w: Watched) => number,
): () => void {
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      await Promise.all([...list()].map(async (w) => {
        if (!w.alive) return;
        try {
          const statm = await Deno.readTextFile(`/proc/${w.pid}/statm`);
          w.rss = Number(statm.split(" ")[1]) * PAGE;
        } catch {
          return; // exited between listing and reading
        }
        if (w.rss > w.rssLimit) {
          w.kill("FUNCTION_MEMORY_LIMIT", `Function exceeded its memory limit of ${limitMb(w)} MB`);
        }
      }));
    } finally {
      busy = false;
    }
  };
  const id = setInterval(tick, RSS_SAMPLE_MS);
  Deno.unrefTimer(id);
  return () => clearInterval(id);
}
