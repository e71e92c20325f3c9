// examples/amp_calculator.ts, run as the README says, as a child process.
import assert from "node:assert/strict";
import { within } from "../_helpers.ts";

Deno.test("examples/amp_calculator.ts serves, calls, prints the answers and exits", async () => {
  const example =
    new URL("../../examples/amp_calculator.ts", import.meta.url).pathname;
  const out = await within(
    60_000,
    "the example to exit",
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net=127.0.0.1", example],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output(),
  );
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.deepEqual(new TextDecoder().decode(out.stdout).trim().split("\n"), [
    "13 + 81 = 94",
    "1 / 8 = 0.125",
    "1 / 0 failed: ZeroDivisionError: division by zero",
    "100 pipelined sums: 5050",
  ]);
});
