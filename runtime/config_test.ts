import assert from "node:assert/strict";
import {
  checkExposure,
  clientPeer,
  ConfigSchema,
  isLoopbackHost,
  readConfigFile,
  resolveConfig,
} from "./config.ts";

Deno.test("config: defaults, precedence and validation", () => {
  const d = resolveConfig();
  assert.equal(d.http, "127.0.0.1:8787");
  assert.equal(d.routing, "p2c");
  assert.equal(d.replicas, 3);
  // Later sources win: virgo.json < environment < flags.
  const c = resolveConfig({ routing: "random", replicas: 2 }, { routing: "local" }, {
    replicas: "5",
  });
  assert.equal(c.routing, "local");
  assert.equal(c.replicas, 5);
  assert.deepEqual(resolveConfig({ join: "/ip4/1.2.3.4/tcp/1/p2p/x, /ip4/1.2.3.5/tcp/2" }).join, [
    "/ip4/1.2.3.4/tcp/1/p2p/x",
    "/ip4/1.2.3.5/tcp/2",
  ]);
  assert.throws(() => resolveConfig({ routing: "fastest" }), /Invalid option routing/);
  assert.throws(() => resolveConfig({ http: "nope" }), /Invalid option http/);
  assert.throws(() => resolveConfig({ p2p: "/udp/1" }), /Invalid option p2p/);
  assert.throws(() => resolveConfig({ replicas: 0 }), /Invalid option replicas/);
  assert.throws(() => resolveConfig({ token: "short" }), /8 characters/);
  assert.throws(() => resolveConfig({ colour: "blue" }), /Invalid option/);
  assert.equal(resolveConfig({ mdns: "false" }).mdns, false);
  assert.equal(resolveConfig({ mdns: "1" }).mdns, true);
  assert.equal(resolveConfig({ mdns: true }).mdns, true);
  assert.throws(() => resolveConfig({ mdns: "maybe" }), /Invalid option mdns/);
  assert.equal(d.keepVersions, 10);
  assert.equal(resolveConfig({ keepVersions: "3" }).keepVersions, 3);
  assert.throws(() => resolveConfig({ keepVersions: 0 }), /Invalid option keepVersions/);
  assert.throws(() => resolveConfig({ keepVersions: 101 }), /Invalid option keepVersions/);
  assert.equal(d.maxWarm, undefined, "by default the sandbox derives it from the machine");
  assert.equal(resolveConfig({ maxWarm: "200" }).maxWarm, 200);
  assert.throws(() => resolveConfig({ maxWarm: 0 }), /Invalid option maxWarm/);
});

Deno.test("config: loopback hosts", () => {
  for (const h of ["127.0.0.1", "127.3.2.1", "localhost", "::1", "[::1]"]) {
    assert.ok(isLoopbackHost(h), h);
  }
  for (const h of ["0.0.0.0", "10.0.0.1", "example.com", "::"]) assert.ok(!isLoopbackHost(h), h);
});

Deno.test("config: listening off loopback needs a token (HTTP), a swarm key and an operator (p2p)", () => {
  const exposed = (over: Record<string, unknown>) => () => checkExposure(resolveConfig(over));
  assert.equal(resolveConfig().p2p, "/ip4/127.0.0.1/tcp/7878");
  checkExposure(resolveConfig());
  assert.throws(exposed({ http: "0.0.0.0:8787" }), /give --token/);
  checkExposure(resolveConfig({ http: "0.0.0.0:8787", token: "long-enough" }));
  assert.throws(exposed({ p2p: "/ip4/0.0.0.0/tcp/7878" }), /give --swarm-key/);
  assert.throws(exposed({ p2p: "/ip4/10.0.0.1/tcp/7878", swarmKey: "k" }), /give --operator/);
  checkExposure(resolveConfig({ p2p: "/ip4/10.0.0.1/tcp/7878", swarmKey: "k", operator: "x" }));
  checkExposure(resolveConfig({ p2p: "/ip6/::1/tcp/7878" }));
});

Deno.test("config: one file for client and peer keys", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/virgo.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({ peer: "http://127.0.0.1:9999", token: "long-enough", poolMb: 64 }),
    );
    const file = await readConfigFile(path);
    assert.equal(file.path, path);
    // `virgo start` takes the server keys and the token, and ignores the client's `peer`.
    const cfg = resolveConfig(file.values);
    assert.equal(cfg.poolMb, 64);
    assert.equal(cfg.token, "long-enough");
    assert.equal(clientPeer(file.values), "http://127.0.0.1:9999");
    // Without `peer`, clients go to the peer the same file configures.
    assert.equal(clientPeer({ http: "0.0.0.0:9000" }), "http://127.0.0.1:9000");
    assert.equal(clientPeer({ http: "[::]:9000" }), "http://[::1]:9000");
    assert.equal(clientPeer({}), undefined);
    // Errors name the file and the key.
    await Deno.writeTextFile(path, JSON.stringify({ peer: "http://x:1", colour: 1 }));
    await assert.rejects(readConfigFile(path), new RegExp(`${path}: unknown key colour`));
    await Deno.writeTextFile(path, JSON.stringify({ peer: "ftp://x" }));
    await assert.rejects(readConfigFile(path), /virgo.json: peer: Expected a peer's base URL/);
    await Deno.writeTextFile(path, "{");
    await assert.rejects(readConfigFile(path), /Invalid config file .*virgo.json/);
    // A file named explicitly must exist.
    await assert.rejects(readConfigFile(`${dir}/none.json`), /Cannot read config file/);
    assert.ok(ConfigSchema.safeParse({ peer: "https://virgo.example:8787" }).success);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
