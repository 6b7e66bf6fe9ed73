/**
 * Counter: a hit counter in the cluster's key-value pool that stays right
 * under concurrent calls, because every increment is a compare-and-set on the
 * version it read and retries when another call won.
 * `GET /fn/counter?key=home` → `{ "key": "home", "count": 7 }`.
 * @module
 */
interface KV {
  getWithVersion(key: string): Promise<{ value: Uint8Array; version: string } | null>;
  set(key: string, value: string, opts?: { ifMatch?: string }): Promise<{ version: string }>;
}

export default {
  async fetch(request: Request, env: { KV: KV }): Promise<Response> {
    const key = `hits/${new URL(request.url).searchParams.get("key") ?? "default"}`;
    for (let attempt = 0; attempt < 100; attempt++) {
      const current = await env.KV.getWithVersion(key);
      const count = (current ? Number(new TextDecoder().decode(current.value)) : 0) + 1;
      try {
        // "0" means "only if the key does not exist yet".
        await env.KV.set(key, String(count), { ifMatch: current?.version ?? "0" });
        return Response.json({ key: key.slice(5), count });
      } catch (err) {
        if ((err as { code?: string }).code !== "PRECONDITION_FAILED") throw err;
      }
    }
    return Response.json({ error: "too much contention, try again" }, { status: 503 });
  },
};
