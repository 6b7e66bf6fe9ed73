/**
 * Test helpers (for p2p/ tests, and test/ files that start an in-process mesh): temp data dirs,
 * quiet logger, polling.
 *
 * @module
 */
import { createMesh, type MeshInternals } from "./mesh.ts";
import type { LocalLoad, Logger, MeshInit } from "./types.ts";

/** A logger that drops everything unless VIRGO_TEST_LOG=1. */
export const testLogger: Logger = Deno.env.get("VIRGO_TEST_LOG") === "1"
  ? {
    debug: (o, m) => console.debug(m, o),
    info: (o, m) => console.info(m, o),
    warn: (o, m) => console.warn(m, o),
    error: (o, m) => console.error(m, o),
  }
  : { debug() {}, info() {}, warn() {}, error() {} };

/** A fixed local load (an empty catalogue unless given). */
export function fakeLoad(over: Partial<LocalLoad> = {}): LocalLoad {
  return {
    inflight: 0,
    queued: 0,
    cores: 2,
    loopDelayMs: 0,
    poolTotalBytes: 1 << 20,
    poolFreeBytes: 1 << 20,
    catalog: { digest: "", count: 0 },
    ...over,
  };
}

/**
 * Start a mesh on 127.0.0.1 with a fresh temp data dir, removed by its `stop()` (or in the given
 * one, left to its owner).
 */
export async function startNode(over: Partial<MeshInit> = {}): Promise<MeshInternals> {
  const temp = over.dataDir === undefined
    ? await Deno.makeTempDir({ prefix: "virgo-p2p-" })
    : undefined;
  const removeTemp = () =>
    temp === undefined ? Promise.resolve() : Deno.remove(temp, { recursive: true }).catch(() => {});
  let mesh: MeshInternals;
  try {
    mesh = await createMesh({
      dataDir: temp ?? over.dataDir!,
      listen: ["/ip4/127.0.0.1/tcp/0"],
      join: [],
      mdns: false,
      localLoad: () => fakeLoad(),
      logger: testLogger,
      ...over,
    });
  } catch (err) {
    await removeTemp();
    throw err;
  }
  if (temp === undefined) return mesh;
  const stop = mesh.stop.bind(mesh);
  return Object.assign(mesh, {
    async stop() {
      await stop();
      await removeTemp();
    },
  });
}

/**
 * Start two meshes, `b` joined to `a`, and wait until each sees the other; both are stopped
 * if they never do.
 */
export async function startPair(
  overA: Partial<MeshInit> = {},
  overB: Partial<MeshInit> = {},
): Promise<[MeshInternals, MeshInternals]> {
  const a = await startNode(overA);
  const b = await startNode({ join: a.addrs(), ...overB }).catch(async (err) => {
    await a.stop();
    throw err;
  });
  try {
    await waitFor(() => a.peers().length === 2 && b.peers().length === 2, 5_000, "join");
  } catch (err) {
    await b.stop();
    await a.stop();
    throw err;
  }
  return [a, b];
}

/** Poll `cond` every 20 ms until true; throw after `timeoutMs`. */
export async function waitFor(
  cond: () => boolean,
  timeoutMs = 5_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Test options for tests that start libp2p (it leaves a handle open after stop). */
export const libp2pTest = { sanitizeOps: false, sanitizeResources: false } as const;

/**
 * Awaits `p` (an event), failing after `timeoutMs`: a bound generous enough for a loaded
 * machine, so a test waits on what happens rather than sleeping for a guess.
 */
export async function within<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
