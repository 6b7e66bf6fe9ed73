/**
 * What a process really costs in memory. RSS counts every page a process maps, shared ones too:
 * every Deno process maps the same ~95 MB binary, so N function processes do not cost N × RSS.
 * PSS (proportional set size) charges each shared page to its sharers in equal parts, so the
 * PSS of a group of processes adds up to what they hold together; USS (unique set size: private
 * clean + private dirty pages) is what ending one process would free. Read from Linux's
 * `/proc/<pid>/smaps_rollup` (kernel 4.14+; ~0.1 ms a read, so on demand, never per call).
 *
 * @module
 */

/** Memory of one process, in bytes. */
export interface ProcessMemory {
  /** Resident set size: every resident page it maps, shared ones counted whole. */
  rssBytes: number;
  /** Proportional set size: shared pages divided among the processes that map them. */
  pssBytes: number;
  /** Unique set size: pages no other process maps (what ending it frees). */
  ussBytes: number;
}

const field = (text: string, name: string): number => {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) * 1024 : 0;
};

/** Parses the text of `/proc/<pid>/smaps_rollup`. */
export function parseSmapsRollup(text: string): ProcessMemory {
  return {
    rssBytes: field(text, "Rss"),
    pssBytes: field(text, "Pss"),
    ussBytes: field(text, "Private_Clean") + field(text, "Private_Dirty"),
  };
}

/**
 * RSS, PSS and USS of process `pid` (`"self"` for this one), or undefined when it has exited or
 * the system has no `smaps_rollup` (not Linux, or no read permission on /proc).
 *
 * @example
 * ```ts
 * const m = await processMemory("self");
 * if (m) console.log(`${(m.pssBytes / 1048576).toFixed(1)} MB PSS`);
 * ```
 */
export async function processMemory(pid: number | "self"): Promise<ProcessMemory | undefined> {
  try {
    return parseSmapsRollup(await Deno.readTextFile(`/proc/${pid}/smaps_rollup`));
  } catch {
    return undefined;
  }
}
