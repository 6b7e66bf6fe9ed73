/**
 * The dashboard in a real browser: a three-peer mesh with a token, Debian's Chromium driven
 * headless by playwright-core. The browser is sent to sign in, signs in once with the token,
 * and the page (live over SSE) shows the three peers as nodes of the graph; a call made to the
 * peer appears among its latest calls and as an edge to the peer that ran it. The page is saved
 * as docs/dashboard.png, which the README shows (under CI or with VIRGO_UPDATE_SCREENSHOT=1).
 *
 * Skipped, saying so, where /usr/bin/chromium is not installed (`.ci/run` installs it).
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { type PeerProcess, startPeer, stopAll, waitFor, waitForFunction } from "./_harness.ts";

const CHROMIUM = "/usr/bin/chromium";
const T = "browser-test-token";
const auth = { authorization: `Bearer ${T}` };
/**
 * Where the picture goes: docs/dashboard.png under CI (a fresh clone) or with
 * VIRGO_UPDATE_SCREENSHOT=1; elsewhere a temp file, so a test run leaves the work tree clean.
 */
const SCREENSHOT = Deno.env.get("CI") || Deno.env.get("VIRGO_UPDATE_SCREENSHOT")
  ? new URL("../docs/dashboard.png", import.meta.url).pathname
  : `${Deno.makeTempDirSync({ prefix: "virgo-shot-" })}/dashboard.png`;

const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
if (!hasChromium) {
  console.warn(
    `browser_test: ${CHROMIUM} is not installed, so the dashboard's browser test is skipped ` +
      "(apt-get install chromium, as .ci/run does, to run it)",
  );
}

Deno.test({
  name: "dashboard in Chromium: sign in, three peers drawn, a call appears",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const peers: PeerProcess[] = [];
    const profile = await Deno.makeTempDir({ prefix: "virgo-chromium-" });
    let browser: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
    try {
      // startMesh's view check sends no token: the mesh is started and checked here.
      const first = await startPeer({ args: ["--token", T] });
      peers.push(first);
      for (let i = 0; i < 2; i++) {
        peers.push(await startPeer({ args: ["--token", T], join: [first.p2p] }));
      }
      for (const p of peers) {
        await waitFor(`${p.peerId} to see 3 peers`, async () => {
          const res = await fetch(`${p.url}/v1/peers`, { headers: auth });
          return res.ok && (await res.json()).count === 3;
        }, 30_000);
      }
      const deploy = async (name: string, code: string) => {
        const put = await fetch(`${first.url}/v1/functions/${name}`, {
          method: "PUT",
          headers: { "content-type": "application/json", ...auth },
          body: JSON.stringify({ code }),
        });
        assert.equal(put.status, 201, await put.text());
      };
      await deploy("hello", `export default { fetch: () => new Response("hello") }`);
      await deploy(
        "flaky",
        `export default { fetch: (r) => new URL(r.url).pathname === "/fail"
          ? new Response("no", { status: 500 }) : new Response("ok") }`,
      );
      await waitForFunction(peers, "hello", auth);
      await waitForFunction(peers, "flaky", auth);

      browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1360, height: 1000 },
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      });
      const page = browser.pages()[0] ?? await browser.newPage();

      // Sent to sign in; a wrong token is refused; the right one opens the dashboard.
      await page.goto(`${first.url}/`);
      assert.equal(new URL(page.url()).pathname, "/signin");
      await page.fill("#token", "not-the-token");
      await page.click("button[type=submit]");
      await page.waitForSelector("[role=alert]");
      await page.fill("#token", T);
      await page.click("button[type=submit]");
      await page.waitForURL(`${first.url}/`);
      const cookies = await browser.cookies(first.url);
      assert.equal(cookies.length, 1);
      assert.equal(cookies[0]!.httpOnly, true);
      assert.equal(cookies[0]!.sameSite, "Strict");
      assert.ok(!cookies[0]!.value.includes(T), "the token is not in the cookie");

      // Three peers, three nodes, this one marked.
      // (Locators, not waitForFunction: the page's CSP forbids the eval a string predicate needs.)
      await waitFor("three nodes", async () => (await page.locator("#graph g.node").count()) === 3);
      const drawn = await page.$$eval(
        "#graph g.node",
        (gs) => gs.map((g) => g.getAttribute("data-peer")),
      );
      assert.deepEqual(drawn.sort(), peers.map((p) => p.peerId).sort());
      assert.equal(await page.getAttribute("#graph g.node.self", "data-peer"), first.peerId);

      // A call taken by the first peer appears; calls pinned to the others are drawn as edges.
      const call = await fetch(`${first.url}/fn/hello`, { headers: { "x-virgo-route": "local" } });
      assert.equal(await call.text(), "hello");
      const requestId = call.headers.get("x-virgo-request-id")!;
      await page.waitForSelector(`#calls tr[data-fn="hello"]`);
      assert.ok((await page.textContent("#calls"))!.includes(requestId), "its request id shows");
      for (const p of peers.slice(1)) {
        for (const path of ["", "/fail"]) {
          const res = await fetch(`${first.url}/fn/flaky${path}`, {
            headers: { "x-virgo-route": p.peerId },
          });
          await res.body?.cancel();
        }
      }
      await waitFor(
        "edges to both other peers",
        async () =>
          (await page.$$eval("#graph .edge", (es) => es.map((e) => e.getAttribute("data-to"))))
            .filter((to) => to !== first.peerId).length === 2,
      );
      // The function rows carry the calls as this peer saw them.
      await waitFor(
        "four calls of flaky counted",
        async () =>
          (await (await page.$(`#fns tr[data-fn="flaky"] td:nth-child(3)`))?.textContent()) === "4",
      );
      const row = await page.textContent(`#fns tr[data-fn="flaky"]`);
      assert.match(row!, /50\.0%/, "two answers of 500 in four calls");

      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      const png = await Deno.readFile(SCREENSHOT);
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
    } finally {
      await browser?.close().catch(() => {});
      await stopAll(peers);
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});
