import { ok as assert } from "node:assert/strict";
import { redialDelay } from "./dialer.ts";
import { REDIAL_JITTER, REDIAL_MAX_MS, REDIAL_MIN_MS } from "./constants.ts";

Deno.test("redial delay doubles from 250 ms to a 10 s cap, within ±20 % jitter", () => {
  for (const r of [0, 0.5, 0.999]) {
    let prevBase = 0;
    for (let attempt = 0; attempt < 40; attempt++) {
      const base = Math.min(REDIAL_MAX_MS, REDIAL_MIN_MS * 2 ** attempt);
      const d = redialDelay(attempt, () => r);
      assert(
        d >= base * (1 - REDIAL_JITTER) - 1 && d <= base * (1 + REDIAL_JITTER) + 1,
        `attempt ${attempt}: ${d}`,
      );
      assert(base >= prevBase);
      prevBase = base;
    }
  }
  assert(redialDelay(0, () => 0.5) === REDIAL_MIN_MS);
  assert(redialDelay(100, () => 0.5) === REDIAL_MAX_MS);
});
