import assert from "node:assert/strict";
import { parseDotenv } from "./dotenv.ts";

Deno.test("parseDotenv: quotes, escapes, export, comments", () => {
  assert.deepEqual(
    parseDotenv(
      `# a comment\nA=plain value # note\nexport B="two\\nlines \\"q\\""\nC='as # is'\n\nD=\nE = spaced\n`,
    ),
    { A: "plain value", B: 'two\nlines "q"', C: "as # is", D: "", E: "spaced" },
  );
});

Deno.test("parseDotenv: a line that is no KEY=value is named with its line", () => {
  assert.throws(
    () => parseDotenv("A=1\nnot a pair\n", ".dev.vars"),
    /\.dev\.vars:2: expected KEY=value/,
  );
});
