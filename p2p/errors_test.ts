import assert from "node:assert/strict";
import { codeFromWire, errorToWire, MeshError } from "./errors.ts";

Deno.test("errors: a handler's error crosses the wire with its code, if it is one of ours", () => {
  const cases: Array<[unknown, string]> = [
    [new MeshError("SHUTTING_DOWN", "Leaving"), "SHUTTING_DOWN"],
    [
      Object.assign(new Error("Version mismatch"), { code: "PRECONDITION_FAILED" }),
      "PRECONDITION_FAILED",
    ],
    [
      Object.assign(new Error("Database is not open"), { code: "LEVEL_DATABASE_NOT_OPEN" }),
      "INTERNAL",
    ],
    [new Error("plain failure"), "PEER_FAILED"],
    ["a string", "PEER_FAILED"],
  ];
  for (const [err, code] of cases) assert.equal(errorToWire(err).code, code);
  assert.equal(codeFromWire("QUORUM_FAILED"), "QUORUM_FAILED");
  assert.equal(codeFromWire("E_FROM_A_NEWER_PEER"), "INTERNAL");
});
