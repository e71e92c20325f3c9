import assert from "node:assert/strict";
import "../../reactor/reactor.ts"; // installs the global reactor the defaults use
import { ProcessTerminated } from "../../reactor/process.ts";
import {
  getProcessOutput,
  getProcessOutputAndValue,
  getProcessValue,
  UnexpectedErrorOutput,
} from "../../reactor/process_utils.ts";
import { decode, within } from "../_helpers.ts";

const LIMIT = 10_000;

Deno.test("getProcessOutput fires with stdout, or fails on stderr unless errortoo", async () => {
  const out = await within(
    LIMIT,
    "echo",
    getProcessOutput("sh", ["-c", "echo hi"]),
  );
  assert.equal(decode(out), "hi\n");
  const empty = await within(LIMIT, "true", getProcessOutput("true"));
  assert.equal(empty.length, 0);
  try {
    await within(
      LIMIT,
      "sh",
      getProcessOutput("sh", ["-c", "echo bad >&2; exit 4"]),
    );
    assert.fail("expected UnexpectedErrorOutput");
  } catch (error) {
    assert.ok(error instanceof UnexpectedErrorOutput);
    assert.equal(decode(error.stderr), "bad\n");
    assert.equal(error.exitCode, 4);
  }
  const both = await within(
    LIMIT,
    "sh",
    getProcessOutput("sh", ["-c", "echo a; echo b >&2"], { errortoo: true }),
  );
  assert.deepEqual(decode(both).split("\n").sort(), ["", "a", "b"]);
  await assert.rejects(
    getProcessOutput("no-such-program-xyz").asPromise(),
    Deno.errors.NotFound,
  );
});

Deno.test("getProcessValue fires with the exit code, or null after a signal", async () => {
  assert.equal(await within(LIMIT, "true", getProcessValue("true")), 0);
  assert.equal(
    await within(LIMIT, "exit 7", getProcessValue("sh", ["-c", "exit 7"])),
    7,
  );
  assert.equal(
    await within(LIMIT, "kill", getProcessValue("sh", ["-c", "kill -TERM $$"])),
    null,
  );
});

Deno.test("getProcessOutputAndValue fires with both outputs and the code, and fails on a signal", async () => {
  const [out, err, code] = await within(
    LIMIT,
    "sh",
    getProcessOutputAndValue("sh", ["-c", "echo o; echo e >&2; exit 2"], {
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    }),
  );
  assert.deepEqual([decode(out), decode(err), code], ["o\n", "e\n", 2]);
  try {
    await within(
      LIMIT,
      "sh",
      getProcessOutputAndValue("sh", ["-c", "echo partial; kill -KILL $$"]),
    );
    assert.fail("expected ProcessTerminated");
  } catch (error) {
    assert.ok(error instanceof ProcessTerminated);
    assert.equal(error.signal, "SIGKILL");
    assert.equal(decode(error.stdout!), "partial\n");
  }
});
