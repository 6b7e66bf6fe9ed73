/**
 * The real clock as a {@link Scheduler}: `Date.now` and `setTimeout`, with timers unref'd so a
 * SWIM instance never keeps a process alive. The simulation hands in virtual time instead.
 *
 * @module
 */
import type { Scheduler } from "./types.ts";

const unref = (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno?.unrefTimer;

/**
 * Wall-clock time and real timers.
 *
 * @example
 * ```ts
 * const h = realScheduler.setTimeout(() => console.log("tick"), 1000);
 * realScheduler.clearTimeout(h);
 * ```
 */
export const realScheduler: Scheduler = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const id = setTimeout(fn, ms);
    unref?.(id as unknown as number);
    return id;
  },
  clearTimeout(h) {
    clearTimeout(h as number);
  },
};
