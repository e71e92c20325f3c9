import assert from "node:assert/strict";
import {
  EXIT_CANNOT_START,
  EXIT_USAGE,
  parseTwistdArgs,
  TWISTD_HELP,
  TwistdUsageError,
} from "../../application/twistd.ts";
import { decode, encode, readExactly, within } from "../_helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TWISTD = "application/twistd.ts";
const ECHO_APP = "tests/application/_echo_app.ts";
const LIMIT = 20_000;
const PERMISSIONS = [
  "--allow-net=127.0.0.1",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
];

/** A runner child process whose stderr lines the test can wait for. */
class Runner {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  #waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  #reading: Promise<void>;
  #stdout: Promise<string>;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...PERMISSIONS, TWISTD, ...args],
      cwd: ROOT,
      env: { NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#reading = this.#read();
    this.#stdout = new Response(this.child.stdout).text();
  }

  async #read(): Promise<void> {
    let rest = "";
    const decoder = new TextDecoder();
    for await (const chunk of this.child.stderr) {
      rest += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = rest.indexOf("\n")) !== -1) {
        this.#line(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
      }
    }
    if (rest !== "") this.#line(rest);
  }

  #line(line: string): void {
    this.lines.push(line);
    this.#waiters = this.#waiters.filter((w) => {
      const m = line.match(w.re);
      if (m === null) return true;
      w.resolve(m);
      return false;
    });
  }

  /** Waits for a stderr line matching `re` (already seen or to come). */
  waitFor(re: RegExp, what: string): Promise<RegExpMatchArray> {
    for (const line of this.lines) {
      const m = line.match(re);
      if (m !== null) return Promise.resolve(m);
    }
    return within(
      LIMIT,
      what,
      new Promise((resolve) => this.#waiters.push({ re, resolve })),
    );
  }

  /** Waits for the exit; returns the status, stdout and stderr lines. */
  async finish(
    what = "the runner to exit",
  ): Promise<{ status: Deno.CommandStatus; stdout: string; stderr: string[] }> {
    try {
      const status = await within(LIMIT, what, this.child.status);
      await this.#reading;
      return { status, stdout: await this.#stdout, stderr: this.lines };
    } catch (error) {
      this.kill("SIGKILL");
      await this.child.status;
      await this.#reading;
      await this.#stdout;
      throw error;
    }
  }

  kill(signal: Deno.Signal): void {
    try {
      this.child.kill(signal);
    } catch { /* exited already */ }
  }
}

/** Connects, sends, reads the echo back, closes. */
async function echo(port: number, text: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encode(text));
    return decode(
      await within(LIMIT, "the echo", readExactly(conn, text.length)),
    );
  } finally {
    conn.close();
  }
}

async function readAllText(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(256);
  let text = "";
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) return text;
    text += decode(buf.subarray(0, n));
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const LISTENING = /listening on 127\.0\.0\.1:(\d+)/;

// ------------------------------------------------------------ arguments

Deno.test("parseTwistdArgs reads options, then the module, then its arguments", () => {
  const o = parseTwistdArgs([
    "--log-format=json",
    "--logfile",
    "/tmp/x.log",
    "--log-level",
    "debug",
    "--shutdown-timeout",
    "2.5",
    "--max-restarts=3",
    "app.ts",
    "--log-level",
    "ignored-by-us",
  ]);
  assert.equal(o.logFormat, "json");
  assert.equal(o.logfile, "/tmp/x.log");
  assert.equal(o.logLevel, "debug");
  assert.equal(o.shutdownTimeout, 2.5);
  assert.equal(o.maxRestarts, 3);
  assert.equal(o.workers, 1);
  assert.equal(o.module, "app.ts");
  assert.deepEqual(o.args, ["--log-level", "ignored-by-us"]);
});

Deno.test("parseTwistdArgs refuses bad values and unknown flags", () => {
  for (
    const argv of [
      ["--workers", "0", "app.ts"],
      ["--workers", "1.5", "app.ts"],
      ["--log-format", "xml", "app.ts"],
      ["--log-level", "loud", "app.ts"],
      ["--shutdown-timeout", "-1", "app.ts"],
      ["--nope", "app.ts"],
      ["--logfile"],
      [],
    ]
  ) {
    assert.throws(
      () => parseTwistdArgs(argv),
      TwistdUsageError,
      argv.join(" "),
    );
  }
});

Deno.test("--help lists every flag and exits 0", async () => {
  const r = new Runner(["--help"]);
  const { status, stdout } = await r.finish();
  assert.equal(status.code, 0);
  assert.equal(stdout, TWISTD_HELP);
  for (
    const flag of [
      "--help",
      "--log-format",
      "--logfile",
      "--log-level",
      "--shutdown-timeout",
      "--workers",
      "--max-restarts",
    ]
  ) {
    assert.ok(stdout.includes(flag), flag);
  }
});

Deno.test("a bad command line exits 64 with the reason", async () => {
  const r = new Runner(["--workers", "none", ECHO_APP]);
  const { status, stderr } = await r.finish();
  assert.equal(status.code, EXIT_USAGE);
  assert.match(stderr[0], /^twistd: --workers needs a number/);
});

// ----------------------------------------------------- start and stop

Deno.test("the runner starts a makeService app, serves, and stops cleanly on SIGTERM", async () => {
  const r = new Runner([ECHO_APP, "--port", "0"]);
  const [, port] = await r.waitFor(LISTENING, "the app to listen");
  assert.equal(await echo(Number(port), "hello runner"), "hello runner");
  await r.waitFor(/echo started \(pid \d+\)/, "the started line");
  r.kill("SIGTERM");
  const { status, stderr } = await r.finish("the runner to stop on SIGTERM");
  assert.equal(status.code, 0, stderr.join("\n"));
  const log = stderr.join("\n");
  assert.match(log, /Received SIGTERM, shutting down/);
  assert.match(log, /\[twistd#info\] Stopped/);
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: Number(port) }),
    Deno.errors.ConnectionRefused,
    "the port is closed",
  );
});

Deno.test("the runner runs a module's ready-made application and stops on SIGINT", async () => {
  const port = freePort();
  const r = new Runner(["tests/application/_static_app.ts"], {
    TWISTD_TEST_PORT: String(port),
  });
  await r.waitFor(LISTENING, "the app to listen");
  assert.equal(await echo(port, "static"), "static");
  r.kill("SIGINT");
  const { status } = await r.finish("the runner to stop on SIGINT");
  assert.equal(status.code, 0);
});

Deno.test("at shutdown the port closes at once and a live connection gets its grace period", async () => {
  const r = new Runner(["--shutdown-timeout", "30", ECHO_APP, "--port", "0"]);
  const port = Number((await r.waitFor(LISTENING, "the app to listen"))[1]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encode("before"));
    assert.equal(decode(await readExactly(conn, 6)), "before");
    r.kill("SIGTERM");
    await r.waitFor(
      /Waiting up to 30 s for 1 live connection/,
      "the grace period",
    );
    await assert.rejects(
      Deno.connect({ hostname: "127.0.0.1", port }),
      Deno.errors.ConnectionRefused,
      "no new connections during the grace period",
    );
    await conn.write(encode("during"));
    assert.equal(
      decode(
        await within(
          LIMIT,
          "an echo in the grace period",
          readExactly(conn, 6),
        ),
      ),
      "during",
    );
  } finally {
    conn.close();
  }
  await r.waitFor(/All connections closed/, "the runner to see the close");
  const { status } = await r.finish();
  assert.equal(status.code, 0);
});

Deno.test("a connection still open when the grace period ends is closed, and the runner exits 0", async () => {
  const r = new Runner(["--shutdown-timeout", "0.2", ECHO_APP, "--port", "0"]);
  const port = Number((await r.waitFor(LISTENING, "the app to listen"))[1]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encode("x"));
    await readExactly(conn, 1);
    r.kill("SIGTERM");
    const { status, stderr } = await r.finish();
    assert.equal(status.code, 0);
    assert.match(
      stderr.join("\n"),
      /Closing 1 connection\(s\) still open after 0\.2 s/,
    );
    assert.equal(
      await within(LIMIT, "EOF", readAllText(conn)),
      "",
      "closed by the server",
    );
  } finally {
    conn.close();
  }
});

Deno.test("--log-format json writes one JSON object per line", async () => {
  const r = new Runner(["--log-format", "json", ECHO_APP]);
  await r.waitFor(
    /"text":"TCPServer listening on 127\.0\.0\.1:\d+"/,
    "the app to listen",
  );
  r.kill("SIGTERM");
  const { status, stderr } = await r.finish();
  assert.equal(status.code, 0);
  const events = stderr.filter((l) => l !== "").map((l) => JSON.parse(l));
  assert.ok(events.length >= 3);
  for (const e of events) {
    assert.equal(typeof e.text, "string");
    assert.equal(typeof e.log_level, "string");
  }
  assert.ok(
    events.some((e) => e.log_namespace === "twistd" && e.text === "Stopped"),
  );
});

Deno.test("--logfile appends the log to a file instead of stderr", async () => {
  const dir = await Deno.makeTempDir();
  const logfile = `${dir}/twistd.log`;
  try {
    // Nothing on stderr to wait for: watch the file until it says it listens.
    const watcher = Deno.watchFs(dir);
    const r = new Runner(["--logfile", logfile, ECHO_APP]);
    let port = 0;
    try {
      await within(
        LIMIT,
        "the log file to say it listens",
        (async () => {
          const seen = async () => {
            const m = (await Deno.readTextFile(logfile).catch(() => "")).match(
              LISTENING,
            );
            if (m) port = Number(m[1]);
            return port > 0;
          };
          if (await seen()) return;
          for await (const _event of watcher) if (await seen()) return;
        })(),
      );
    } finally {
      watcher.close();
    }
    assert.ok(port > 0, "the log file says where it listens");
    r.kill("SIGTERM");
    const { status, stderr } = await r.finish();
    assert.equal(status.code, 0);
    assert.deepEqual(stderr, [], "nothing on stderr");
    assert.match(await Deno.readTextFile(logfile), /\[twistd#info\] Stopped/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ------------------------------------------------------------ failures

async function failsWithOneLine(
  args: string[],
  pattern: RegExp,
): Promise<void> {
  const r = new Runner(args);
  const { status, stderr } = await r.finish();
  assert.equal(status.code, EXIT_CANNOT_START, stderr.join("\n"));
  const shown = stderr.filter((l) => !/\[\w+#info\]/.test(l) && l !== "");
  assert.equal(
    shown.length,
    1,
    `exactly one line besides the info log:\n${stderr.join("\n")}`,
  );
  assert.match(shown[0], pattern);
  assert.doesNotMatch(stderr.join("\n"), /^\s+at /m, "no stack trace");
}

Deno.test("a module that throws while loading: exit 78 with one line, no stack", async () => {
  await failsWithOneLine(
    ["tests/application/_broken_app.ts"],
    /^twistd: cannot load tests\/application\/_broken_app\.ts: .*this module is broken on purpose$/,
  );
});

Deno.test("a module that does not exist: exit 78 with one line", async () => {
  await failsWithOneLine(
    ["tests/application/_no_such_app.ts"],
    /^twistd: cannot load tests\/application\/_no_such_app\.ts: /,
  );
});

Deno.test("a module that exports no service: exit 78 with one line", async () => {
  await failsWithOneLine(
    ["tests/application/_no_service_app.ts"],
    /^twistd: cannot run .*: it exports neither "application" nor "makeService\(options\)"$/,
  );
});

Deno.test("a service that cannot listen: exit 78 with one line", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    await failsWithOneLine(
      [ECHO_APP, "--port", String(port)],
      new RegExp(
        `^twistd: cannot start ${ECHO_APP.replaceAll(".", "\\.")}: .*${port}`,
      ),
    );
  } finally {
    taken.close();
  }
});

Deno.test("the stack of a load failure is in the log at debug level", async () => {
  const r = new Runner([
    "--log-level",
    "debug",
    "tests/application/_broken_app.ts",
  ]);
  const { status, stderr } = await r.finish();
  assert.equal(status.code, EXIT_CANNOT_START);
  assert.match(stderr.join("\n"), /\[twistd#debug\] cannot load/);
  assert.match(stderr.join("\n"), /_broken_app\.ts:\d+/);
});

// ------------------------------------------------------------- workers

async function pidsServing(port: number, want: number): Promise<Set<string>> {
  const pids = new Set<string>();
  for (let i = 0; i < 400 && pids.size < want; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      pids.add((await within(LIMIT, "a pid", readAllText(conn))).trim());
    } finally {
      conn.close();
    }
  }
  return pids;
}

Deno.test({
  name:
    "--workers 2 serves one port from two processes and stops them all on SIGTERM",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const port = freePort();
    const r = new Runner([
      "--workers",
      "2",
      ECHO_APP,
      "--port",
      String(port),
      "--pid",
    ]);
    const started = await Promise.all([
      r.waitFor(/Worker 0 started, pid (\d+)/, "worker 0"),
      r.waitFor(/Worker 1 started, pid (\d+)/, "worker 1"),
    ]);
    await r.waitFor(
      /\[worker 0 pid \d+\] .*listening on/,
      "worker 0 to listen",
    );
    await r.waitFor(
      /\[worker 1 pid \d+\] .*listening on/,
      "worker 1 to listen",
    );
    const pids = await pidsServing(port, 2);
    assert.deepEqual(
      [...pids].sort(),
      started.map((m) => m[1]).sort(),
      "both workers answered",
    );
    r.kill("SIGTERM");
    const { status, stderr } = await r.finish();
    assert.equal(status.code, 0, stderr.join("\n"));
    const log = stderr.join("\n");
    assert.match(log, /Worker 0 \(pid \d+\) stopped: exit code 0/);
    assert.match(log, /Worker 1 \(pid \d+\) stopped: exit code 0/);
    assert.match(log, /All workers stopped/);
  },
});

Deno.test({
  name: "--workers restarts a worker that dies, and logs it",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const port = freePort();
    const r = new Runner([
      "--workers",
      "2",
      ECHO_APP,
      "--port",
      String(port),
      "--pid",
    ]);
    const [, first] = await r.waitFor(
      /Worker 0 started, pid (\d+)/,
      "worker 0",
    );
    await r.waitFor(
      /\[worker 0 pid \d+\] .*listening on/,
      "worker 0 to listen",
    );
    Deno.kill(Number(first), "SIGKILL");
    await r.waitFor(
      new RegExp(
        `Worker 0 \\(pid ${first}\\) died \\(signal SIGKILL\\); restarting it`,
      ),
      "the supervisor to notice",
    );
    const later = r.lines.length;
    const [, second] = await r.waitFor(
      new RegExp(`Worker 0 started, pid (?!${first}\\b)(\\d+)`),
      "the replacement",
    );
    assert.ok(r.lines.length >= later);
    await r.waitFor(
      new RegExp(`\\[worker 0 pid ${second}\\] .*listening on`),
      "it to listen",
    );
    const pids = await pidsServing(port, 2);
    assert.ok(pids.has(second), "the replacement serves");
    assert.ok(!pids.has(first));
    r.kill("SIGTERM");
    const { status } = await r.finish();
    assert.equal(status.code, 0);
  },
});

Deno.test({
  name: "--workers with a broken module stops and exits 78 without restarting",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const r = new Runner([
      "--workers",
      "2",
      "tests/application/_broken_app.ts",
    ]);
    const { status, stderr } = await r.finish();
    assert.equal(status.code, EXIT_CANNOT_START);
    assert.doesNotMatch(stderr.join("\n"), /restarting/);
    assert.match(stderr.join("\n"), /twistd: cannot load/);
  },
});

// ------------------------------------------------------------- example

Deno.test("examples/finger_service.ts runs under the runner and answers finger queries", async () => {
  const r = new Runner(["examples/finger_service.ts", "--port", "0"]);
  const [, port] = await r.waitFor(LISTENING, "the finger service to listen");
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: Number(port),
  });
  try {
    await conn.write(encode("moshez\r\n"));
    assert.equal(
      await within(LIMIT, "the answer", readAllText(conn)),
      "Happy and well\r\n",
    );
  } finally {
    conn.close();
  }
  r.kill("SIGTERM");
  const { status } = await r.finish();
  assert.equal(status.code, 0);
});

Deno.test("examples/finger_service.ts with a bad argument: exit 78 with one line", async () => {
  await failsWithOneLine(
    ["examples/finger_service.ts", "--port", "http"],
    /^twistd: makeService of examples\/finger_service\.ts failed: --port must be a number/,
  );
});
