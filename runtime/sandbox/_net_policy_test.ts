import assert from "node:assert/strict";
import { addressKind, opens, parseIPv6 } from "./_net_policy.ts";
import { allowList, childArgs, denyList, profileKey } from "./_flags.ts";
import { NET_DENY } from "./constants.ts";

Deno.test("parseIPv6 reads every spelling and refuses what is not one", () => {
  assert.equal(parseIPv6("::"), 0n);
  assert.equal(parseIPv6("[::1]"), 1n);
  assert.equal(parseIPv6("fe80::1%eth0"), 0xfe80n << 112n | 1n);
  assert.equal(parseIPv6("[::ffff:10.0.0.1]"), 0xffff_0a00_0001n);
  assert.equal(parseIPv6("::FFFF:a00:1"), 0xffff_0a00_0001n);
  assert.equal(parseIPv6("1:2:3:4:5:6:7:8"), 0x0001_0002_0003_0004_0005_0006_0007_0008n);
  assert.equal(parseIPv6("1:2:3:4:5:6:7::"), 0x0001_0002_0003_0004_0005_0006_0007_0000n);
  for (
    const bad of ["", "1.2.3.4", "example.com", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", ":::"]
  ) {
    assert.equal(parseIPv6(bad), undefined, bad);
  }
  assert.equal(parseIPv6("1:2:3:4:5:6:7"), undefined);
  assert.equal(parseIPv6("::ffff:300.0.0.1"), undefined);
});

Deno.test("addressKind puts every range of the policy in its group", () => {
  const cases: Record<string, string | undefined> = {
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "0.0.0.0": "loopback",
    "[::]": "loopback",
    "[::1]": "loopback",
    "[::ffff:127.0.0.1]": "loopback",
    "10.0.0.1": "private",
    "172.16.0.1": "private",
    "172.31.255.255": "private",
    "192.168.1.1": "private",
    "100.64.0.1": "private",
    "100.127.255.255": "private",
    "[fc00::1]": "private",
    "[fd00::1]": "private",
    "[fec0::1]": "private",
    "[::ffff:10.0.0.1]": "private",
    "[64:ff9b::c0a8:101]": "private",
    "[64:ff9b:1::1]": "private",
    "169.254.169.254": "always",
    "224.0.0.1": "always",
    "239.255.255.250": "always",
    "255.255.255.255": "always",
    "[fe80::1]": "always",
    "fe80::1%eth0": "always",
    "[ff02::1]": "always",
    "[fd00:ec2::254]": "always",
    "[fd20:ce::254]": "always",
    "[::10.0.0.1]": "always",
    "[::ffff:169.254.169.254]": "always",
    "93.184.216.34": "public",
    "172.32.0.1": "public",
    "100.128.0.1": "public",
    "[2606:2800:220:1:248:1893:25c8:1946]": "public",
    "[64:ff9b::5db8:d822]": "public",
    "example.com": undefined,
    "localhost": undefined,
    "127.1": undefined,
  };
  for (const [host, kind] of Object.entries(cases)) assert.equal(addressKind(host), kind, host);
});

Deno.test("opens: public always, loopback and private only when asked, always never", () => {
  const none = { loopback: false, private: false };
  const all = { loopback: true, private: true };
  assert.ok(opens(none, "public"));
  assert.ok(!opens(none, "loopback") && !opens(none, "private") && !opens(none, "always"));
  assert.ok(opens(all, "loopback") && opens(all, "private") && !opens(all, "always"));
  assert.ok(!opens({ loopback: false, private: true }, "loopback"));
});

Deno.test("childArgs: every profile denies its closed groups; IPv6 prefixes stay out of flags", () => {
  const sock = "/tmp/x/s";
  const flag = (args: string[], name: string) =>
    args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1).split(",");
  const base = childArgs({ memoryMb: 128 }, ["1.2.3.4:8080"], "file:///c.ts", sock);
  assert.deepEqual(base.slice(-3), ["file:///c.ts", sock, '{"loopback":false,"private":false}']);
  assert.ok(base.includes("--allow-net") && base.includes("--no-npm"));
  const deny = flag(base, "--deny-net")!;
  for (const e of ["127.0.0.0/8", "0.0.0.0/8", "[::1]", "[::]", "10.0.0.0/8", "172.16.0.0/12"]) {
    assert.ok(deny.includes(e), e);
  }
  for (const e of ["192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "224.0.0.0/4"]) {
    assert.ok(deny.includes(e), e);
  }
  assert.ok(deny.includes("240.0.0.0/4") && deny.includes("[fd00:ec2::254]"));
  assert.ok(deny.includes("1.2.3.4:8080"), "the peer's own ports");
  assert.ok(!deny.includes("localhost"), "names are checked by their resolved address");
  assert.ok(deny.every((e) => !(e.includes(":") && e.includes("/"))), "no IPv6 prefix");

  const priv = denyList({ memoryMb: 128, allowPrivate: true }, ["1.2.3.4:8080"]);
  assert.ok(!priv.includes("10.0.0.0/8") && priv.includes("127.0.0.0/8"));
  assert.ok(priv.includes("169.254.0.0/16") && priv.includes("[fd00:ec2::254]"));
  assert.ok(priv.includes("1.2.3.4:8080"));

  const lo = denyList({ memoryMb: 128, allowLoopback: true }, ["1.2.3.4:8080"]);
  assert.ok(!lo.includes("127.0.0.0/8") && !lo.includes("1.2.3.4:8080"));
  assert.ok(lo.includes("10.0.0.0/8") && lo.includes("169.254.0.0/16"));

  const everything = denyList({ memoryMb: 128, allowLoopback: true, allowPrivate: true }, []);
  const always = NET_DENY.always.filter((e) => !(e.includes(":") && e.includes("/")));
  assert.deepEqual(everything, always);

  const narrow = childArgs({ memoryMb: 64, allowNet: ["example.com"] }, [], "file:///c.ts", sock);
  assert.deepEqual(flag(narrow, "--allow-net"), ["example.com", `unix:${sock}`]);
  assert.ok(flag(narrow, "--deny-net")!.includes("10.0.0.0/8"), "allowNet narrows, never opens");
  const none = childArgs({ memoryMb: 64, allowNet: [] }, [], "file:///c.ts", sock);
  assert.deepEqual(flag(none, "--allow-net"), [`unix:${sock}`]);
  assert.ok(flag(none, "--deny-net")!.includes("169.254.0.0/16"));
});

Deno.test("allowList drops addresses in closed ranges, keeps names and open ranges", () => {
  const allowNet = [
    "example.com",
    "example.com:443",
    "93.184.216.34:80",
    "10.0.0.5",
    "10.0.0.0/8",
    "192.168.1.1:8080",
    "127.0.0.1:80",
    "[fd00::5]:443",
    "[::1]",
    "169.254.169.254",
    "[fd00:ec2::254]",
  ];
  const pub = ["example.com", "example.com:443", "93.184.216.34:80"];
  assert.deepEqual(allowList({ memoryMb: 128, allowNet }), pub);
  assert.deepEqual(allowList({ memoryMb: 128, allowNet, allowPrivate: true }), [
    ...pub,
    "10.0.0.5",
    "10.0.0.0/8",
    "192.168.1.1:8080",
    "[fd00::5]:443",
  ]);
  assert.deepEqual(allowList({ memoryMb: 128, allowNet, allowLoopback: true }), [
    ...pub,
    "127.0.0.1:80",
    "[::1]",
  ]);
  assert.equal(allowList({ memoryMb: 128 }), undefined);
});

Deno.test("profileKey tells allowPrivate apart, so spares match only the default", () => {
  const k = profileKey({ memoryMb: 128 });
  assert.equal(profileKey({ memoryMb: 128, allowPrivate: false }), k);
  assert.notEqual(profileKey({ memoryMb: 128, allowPrivate: true }), k);
  assert.notEqual(profileKey({ memoryMb: 128, allowLoopback: true }), k);
  assert.notEqual(
    profileKey({ memoryMb: 128, allowPrivate: true }),
    profileKey({ memoryMb: 128, allowLoopback: true }),
  );
});

Deno.test("Deno accepts every flag entry childArgs makes", async () => {
  const args = childArgs({ memoryMb: 64 }, ["127.0.0.1:1"], "data:,", "/nonexistent/s");
  // Replace the program by one that only exits: a bad --deny-net entry fails before it runs.
  const i = args.indexOf("data:,");
  const run = args.slice(0, i);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...run, "data:application/javascript,Deno.exit(7)"],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 7, new TextDecoder().decode(out.stderr));
});

Deno.test("installNetPolicy refuses IPv6 literals the flags let through, and answers queries", async () => {
  // Loopback open in the flags but closed by the policy: only the wrappers stand in the way, so
  // IPv4-mapped loopback reaching the server would mean a wrapper missed. Nothing leaves loopback.
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("secret"),
  );
  const port = server.addr.port;
  const v6 = `[::ffff:127.0.0.1]`;
  const dir = await Deno.makeTempDir({ prefix: "virgo-np-" });
  const script = `${dir}/probe.ts`;
  await Deno.writeTextFile(
    script,
    `import { installNetPolicy } from ${
      JSON.stringify(new URL("./_net_policy.ts", import.meta.url).href)
    };
installNetPolicy({ loopback: false, private: false });
const out: Record<string, string> = {};
const tryIt = async (k: string, f: () => unknown) => {
  try { const r = await f(); out[k] = "REACHED " + ((r as Response)?.status ?? ""); }
  catch (e) { out[k] = (e as Error).name + ": " + (e as Error).message; }
};
await tryIt("plain", () => fetch("http://127.0.0.1:${port}/"));
await tryIt("fetch", () => fetch("http://${v6}:${port}/"));
await tryIt("request", () => fetch(new Request("http://${v6}:${port}/")));
await tryIt("url", () => fetch(new URL("http://${v6}:${port}/")));
await tryIt("connect", () => Deno.connect({ hostname: "::ffff:127.0.0.1", port: ${port} }));
await tryIt("connectTls", () => Deno.connectTls({ hostname: "${v6}", port: ${port} }));
await tryIt("ws", () => new WebSocket("ws://${v6}:${port}/"));
await tryIt("es", () => new EventSource("http://${v6}:${port}/"));
// The guards are made on first use: their getter hands out the guarded class, never the original.
const WsFromGetter = Object.getOwnPropertyDescriptor(globalThis, "WebSocket")!.get!() as typeof WebSocket;
await tryIt("wsGetter", () => new WsFromGetter("ws://${v6}:${port}/"));
await tryIt("proxy", () => Deno.createHttpClient({ proxy: { url: "http://${v6}:${port}" } }));
await tryIt("listen", () => Deno.listen({ port: 0 }));
await tryIt("worker", () => new Worker("data:application/javascript,", { type: "module" }));
for (const host of ["${v6}", "[::1]:${port}", "localhost", "a.localhost:1", "127.0.0.1", "[fd00::1]", "[2606:4700::1111]"]) {
  const p = Deno.permissions;
  const states = [
    (await p.query({ name: "net", host })).state,
    p.querySync({ name: "net", host }).state,
    (await p.request({ name: "net", host })).state,
    p.requestSync({ name: "net", host }).state,
  ];
  out["ask " + host] = [...new Set(states)].join("/");
}
console.log(JSON.stringify(out));
`,
  );
  try {
    const deny = denyList({ memoryMb: 128, allowLoopback: true }, []);
    const res = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--no-config",
        "--allow-net",
        `--deny-net=${deny.join(",")}`,
        script,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(res.success, new TextDecoder().decode(res.stderr));
    const out = JSON.parse(new TextDecoder().decode(res.stdout));
    assert.equal(out.plain, "REACHED 200", "IPv4 is the flags' business");
    for (
      const k of [
        "fetch",
        "request",
        "url",
        "connect",
        "connectTls",
        "ws",
        "es",
        "wsGetter",
        "proxy",
      ]
    ) {
      assert.match(
        out[k],
        /^NotCapable: Requires net access to "\[::ffff:(7f00:1|127\.0\.0\.1)\]:\d+", a loopback/,
        k,
      );
    }
    assert.match(out.listen, /^NotCapable: /);
    assert.match(out.worker, /^NotCapable: /);
    for (const h of [v6, `[::1]:${port}`, "localhost", "a.localhost:1", "[fd00::1]"]) {
      assert.equal(out[`ask ${h}`], "denied", h);
    }
    assert.equal(out["ask 127.0.0.1"], "granted");
    assert.equal(out["ask [2606:4700::1111]"], "granted");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
