/** Samples event-loop delay: how late a timer fires compared with when it was due. */
export function createLoopMonitor(
  intervalMs = 500,
): { start(): void; stop(): void; delayMs(): number } {
  let delay = 0;
  let due = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    start() {
      if (timer !== undefined) return;
      due = performance.now() + intervalMs;
      timer = setInterval(() => {
        const now = performance.now();
        // An exponential moving average smooths one-off pauses.
        delay = delay * 0.7 + Math.max(0, now - due) * 0.3;
        due = now + intervalMs;
      }, intervalMs);
      Deno.unrefTimer(timer);
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    delayMs: () => Math.round(delay * 100) / 100,
  };
}
