import assert from "node:assert/strict";
import { tcpAddress } from "./addr.ts";

Deno.test("addr: TCP multiaddrs parsed by the multiaddr library", () => {
  assert.deepEqual(tcpAddress("/ip4/127.0.0.1/tcp/7878"), { host: "127.0.0.1", port: 7878 });
  assert.deepEqual(tcpAddress("/ip6/::1/tcp/1"), { host: "::1", port: 1 });
  assert.deepEqual(
    tcpAddress(
      "/dns4/example.org/tcp/7878/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA",
    ),
    {
      host: "example.org",
      port: 7878,
    },
  );
  for (
    const bad of [
      "",
      "nope",
      "/ip4/1.2.3.4/udp/1",
      "/ip4/999.1.1.1/tcp/1",
      "/tcp/1",
      "/ip4/1.2.3.4",
    ]
  ) {
    assert.equal(tcpAddress(bad), undefined, bad);
  }
});
