// UNIX-domain sockets: the cases are in _unix_cases.ts, run here in a child
// `deno test` whose --allow-net grants exactly their socket paths (Deno
// grants `unix:<path>` per path; the project's test flags allow only
// loopback TCP).

import assert from "node:assert/strict";

/** The socket paths _unix_cases.ts uses, under its TD_UNIX_DIR. */
const SOCKETS = [
  "echo/echo.sock",
  "taken/taken",
  "missing/none",
  "missing/dead.sock",
  "missing/live.sock",
  "half/half.sock",
  "endpoint/e:sock",
];

Deno.test("UNIX stream sockets pass their cases in a child with per-path permissions", async () => {
  const root = Deno.makeTempDirSync({ prefix: "twisted-deno-unix-" });
  try {
    const cases = new URL("./_unix_cases.ts", import.meta.url).pathname;
    const net = SOCKETS.map((p) => `unix:${root}/${p}`).join(",");
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "test",
        "--sanitize-ops",
        "--sanitize-resources",
        `--allow-net=${net}`,
        `--allow-read=${root}`,
        `--allow-write=${root}`,
        "--allow-env=TD_UNIX_DIR",
        cases,
      ],
      env: { TD_UNIX_DIR: root, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout);
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 0, `the UNIX cases failed:\n${out}\n${err}`);
    assert.match(out, /ok \| 5 passed \| 0 failed/, out);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
