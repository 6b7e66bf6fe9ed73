/** Samples event-loop delay: how late a timer fires compared with when it was due. */
export function startLoopMonitor(intervalMs = 500): { delayMs(): number; stop(): void } {
  let delay = 0;
  let due = performance.now() + intervalMs;
  const timer = setInterval(() => {
    const now = performance.now();
    // An exponential moving average smooths one-off pauses.
    delay = delay * 0.7 + Math.max(0, now - due) * 0.3;
    due = now + intervalMs;
  }, intervalMs);
  Deno.unrefTimer(timer);
  return { delayMs: () => Math.round(delay * 100) / 100, stop: () => clearInterval(timer) };
}
