import assert from "node:assert/strict";
import { errorCode, internalErrorResponse, toErrorBody, VirgoError } from "./errors.ts";
import { KvError } from "../kv/mod.ts";
import { MeshError } from "../p2p/mod.ts";
import { SandboxError } from "./sandbox/mod.ts";

Deno.test("errors: each part's error class is the one VirgoError and maps through one table", () => {
  const cases = [
    [new KvError("PRECONDITION_FAILED", "Version mismatch"), "KvError", 412],
    [new MeshError("PEER_FAILED", "Stream reset", { remote: true }), "MeshError", 502],
    [new SandboxError("OVERLOADED", "Too many calls", { refused: true }), "SandboxError", 503],
    [new VirgoError("FUNCTION_NOT_FOUND", "No function named: x"), "VirgoError", 404],
  ] as const;
  for (const [err, name, status] of cases) {
    assert.ok(err instanceof VirgoError);
    assert.equal(err.name, name);
    assert.deepEqual(toErrorBody(err), {
      status,
      body: { error: { code: err.code, message: err.message } },
    });
  }
});

Deno.test("errors: INTERNAL, a code that is none of ours, or none at all answer 500 with no detail", async () => {
  const internal = new MeshError("INTERNAL", "at /home/peer/secret.ts:1", { remote: true });
  const foreign = Object.assign(new Error("ENOENT: /etc/secret"), { code: "ENOENT" });
  for (const err of [internal, foreign, new Error("boom"), "thrown string"]) {
    assert.equal(errorCode(err), undefined);
    assert.deepEqual(toErrorBody(err), {
      status: 500,
      body: { error: { code: "INTERNAL", message: "Internal error" } },
    });
  }
  const res = internalErrorResponse();
  assert.equal(res.status, 500);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.deepEqual(await res.json(), { error: { code: "INTERNAL", message: "Internal error" } });
});
