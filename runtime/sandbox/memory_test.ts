import assert from "node:assert/strict";
import { parseSmapsRollup, processMemory } from "./memory.ts";
import { HELLO, spec, startPool } from "./_testing.ts";

Deno.test("parseSmapsRollup reads RSS, PSS and USS (private clean + dirty) in bytes", () => {
  const text = `55e17d26e000-7ffcd4627000 ---p 00000000 00:00 0                          [rollup]
Rss:                4232 kB
Pss:                 923 kB
Pss_Dirty:           728 kB
Shared_Clean:       3104 kB
Shared_Dirty:        728 kB
Private_Clean:        10 kB
Private_Dirty:       400 kB
`;
  assert.deepEqual(parseSmapsRollup(text), {
    rssBytes: 4232 * 1024,
    pssBytes: 923 * 1024,
    ussBytes: 410 * 1024,
  });
});

Deno.test("processMemory: USS ≤ PSS ≤ RSS for this process; undefined for one that is gone", async () => {
  const m = await processMemory("self");
  if (!m) return; // no smaps_rollup here (not Linux): nothing to check
  assert.ok(
    m.ussBytes > 0 && m.ussBytes <= m.pssBytes && m.pssBytes <= m.rssBytes,
    JSON.stringify(m),
  );
  assert.equal(await processMemory(2 ** 22 + 1), undefined); // above Linux's pid_max
});

Deno.test("memoryStats adds each process's RSS, PSS and USS, and sums them", async () => {
  const pool = await startPool({ spares: 0 });
  try {
    const s = spec("hello", HELLO);
    await pool.load(s);
    const st = await pool.memoryStats();
    if (!await processMemory("self")) return;
    const detail = st.detail!;
    assert.equal(detail.length, 1);
    assert.equal(detail[0]!.fn, `hello@${s.version}`);
    for (const d of detail) {
      assert.ok(d.ussBytes! > 0 && d.ussBytes! <= d.pssBytes! && d.pssBytes! <= d.rssBytes);
    }
    const sum = (k: "rssBytes" | "pssBytes" | "ussBytes") =>
      detail.reduce((a, d) => a + (d[k] ?? 0), 0);
    assert.deepEqual(st.memory, {
      rssBytes: sum("rssBytes"),
      pssBytes: sum("pssBytes"),
      ussBytes: sum("ussBytes"),
    });
    // The plain stats stay cheap: no /proc read beyond the watchdog's RSS sample.
    assert.equal(pool.stats().detail![0]!.pssBytes, undefined);
  } finally {
    await pool.stop();
  }
});
