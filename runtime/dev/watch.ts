/**
 * Watches a set of files for `virgo dev` with `Deno.watchFs`: their folders
 * are watched (editors often save by writing a new file and renaming it over
 * the old, which a watch on the file itself would lose), events are filtered
 * to the files and coalesced, so one save is one reload.
 * @module
 */

/** A running watch. */
export interface FileWatch {
  /** Watches exactly these files from now on (the function's imports changed). */
  set(files: Iterable<string>): void;
  /** The files watched. */
  files(): string[];
  close(): void;
}

/**
 * Calls `onChange` once per burst of changes (events within `quietMs` of each other) to `files`.
 *
 * @example
 * ```ts
 * const watch = watchFiles(["/home/me/fn/main.ts"], () => rebuild());
 * watch.close();
 * ```
 */
export function watchFiles(
  files: Iterable<string>,
  onChange: (changed: string[]) => void,
  quietMs = 40,
): FileWatch {
  let watched = new Set<string>();
  let watcher: Deno.FsWatcher | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending = new Set<string>();
  let closed = false;

  const fire = () => {
    timer = undefined;
    const changed = [...pending];
    pending = new Set();
    if (!closed && changed.length > 0) onChange(changed);
  };

  const start = (next: Set<string>) => {
    watcher?.close();
    watched = next;
    const dirs = [...new Set([...next].map((f) => f.slice(0, f.lastIndexOf("/")) || "/"))];
    const w = Deno.watchFs(dirs, { recursive: false });
    watcher = w;
    (async () => {
      try {
        for await (const ev of w) {
          if (ev.kind === "access" || ev.kind === "other") continue;
          for (const p of ev.paths) if (watched.has(p)) pending.add(p);
          if (pending.size > 0) {
            clearTimeout(timer);
            timer = setTimeout(fire, quietMs);
          }
        }
      } catch { /* closed */ }
    })();
  };

  start(new Set(files));
  return {
    set(next) {
      const s = new Set(next);
      if (s.size === watched.size && [...s].every((f) => watched.has(f))) return;
      start(s);
    },
    files: () => [...watched].sort(),
    close() {
      closed = true;
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
