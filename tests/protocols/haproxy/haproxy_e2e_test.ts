// End to end: Debian's HAProxy, with a generated configuration on free
// loopback ports, in front of the twistd runner with --workers 2 serving
// an HAProxyWrappingFactory; one frontend sends PROXY v1, the other v2.
import assert from "node:assert/strict";
import { decode, hasCommand, WatchedChild, within } from "../../_helpers.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const HAPROXY = "/usr/sbin/haproxy";
const LIMIT = 20_000;
const REQUESTS = 10_000;
const CONCURRENCY = 50;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A child whose stderr lines can be waited for. */
class Child extends WatchedChild {
  constructor(command: string, args: string[]) {
    super(command, args, ROOT);
  }

  async stop(): Promise<Deno.CommandStatus> {
    try {
      this.child.kill("SIGTERM");
    } catch { /* exited already */ }
    const status = await within(LIMIT, "a child to exit", this.child.status);
    await this.done;
    return status;
  }
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`Nothing listens on 127.0.0.1:${port} after 10 s`);
}

interface Outcome {
  index: number;
  startedAt: number;
  error?: string;
  pid?: string;
}

/** One request: connect, read the reply to EOF, check it names this client. */
async function request(index: number, frontend: number): Promise<Outcome> {
  const startedAt = performance.now();
  let conn: Deno.TcpConn | undefined;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port: frontend });
    const me = conn.localAddr as Deno.NetAddr;
    let text = "";
    const buf = new Uint8Array(128);
    for (;;) {
      const n = await within(LIMIT, `reply ${index}`, conn.read(buf));
      if (n === null) break;
      text += decode(buf.subarray(0, n));
    }
    const m = /^(\S+) (\d+) (\d+) (\d+)\n$/.exec(text);
    if (m === null) {
      return { index, startedAt, error: `bad reply ${JSON.stringify(text)}` };
    }
    // A wrong address is a test failure, never a tolerated error.
    assert.equal(m[1], me.hostname, `request ${index}: peer host`);
    assert.equal(Number(m[2]), me.port, `request ${index}: peer port`);
    assert.equal(
      Number(m[3]),
      frontend,
      `request ${index}: proxied destination port`,
    );
    return { index, startedAt, pid: m[4] };
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    return { index, startedAt, error: String(error) };
  } finally {
    conn?.close();
  }
}

Deno.test({
  name:
    "HAProxy (send-proxy and send-proxy-v2) in front of twistd --workers 2: 10 000 requests see their client addresses, and a killed worker costs only its own connections",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    if (!hasCommand(HAPROXY)) {
      console.log(
        `skipped: ${HAPROXY} is not installed (Debian package haproxy)`,
      );
      return;
    }
    const backend = freePort();
    const v1 = freePort();
    const v2 = freePort();
    const dir = await Deno.makeTempDir({ prefix: "haproxy-e2e-" });
    const config = `${dir}/haproxy.cfg`;
    await Deno.writeTextFile(
      config,
      `global
  maxconn 2000
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  retries 3
frontend v1
  bind 127.0.0.1:${v1}
  default_backend workers_v1
frontend v2
  bind 127.0.0.1:${v2}
  default_backend workers_v2
backend workers_v1
  server local 127.0.0.1:${backend} send-proxy
backend workers_v2
  server local 127.0.0.1:${backend} send-proxy-v2
`,
    );
    const runner = new Child(Deno.execPath(), [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-env",
      "--allow-run",
      "application/twistd.ts",
      "--workers",
      "2",
      "tests/protocols/haproxy/_peer_app.ts",
      "--port",
      String(backend),
    ]);
    let haproxy: Child | undefined;
    try {
      const [, first] = await runner.waitFor(
        /Worker 0 started, pid (\d+)/,
        "worker 0",
      );
      await runner.waitFor(
        /\[worker 0 pid \d+\] .*listening on/,
        "worker 0 to listen",
      );
      await runner.waitFor(
        /\[worker 1 pid \d+\] .*listening on/,
        "worker 1 to listen",
      );
      haproxy = new Child(HAPROXY, ["-db", "-f", config]);
      await waitForPort(v1);
      await waitForPort(v2);

      // 50 clients take request numbers in turn; the kill comes once a
      // third of the requests are done.
      let next = 0;
      let completed = 0;
      let killedAt = Infinity;
      let diedAt = Infinity;
      let replacedAt = Infinity;
      let replacement: Promise<unknown> | undefined;
      let replacementPid = "";
      const outcomes: Outcome[] = [];
      const client = async () => {
        while (next < REQUESTS) {
          const index = next++;
          const outcome = await request(index, index % 2 === 0 ? v1 : v2);
          outcomes.push(outcome);
          if (++completed === Math.floor(REQUESTS / 3)) {
            killedAt = performance.now();
            Deno.kill(Number(first), "SIGKILL");
            replacement = Promise.all([
              runner.waitFor(
                new RegExp(
                  `Worker 0 \\(pid ${first}\\) died \\(signal SIGKILL\\); restarting it`,
                ),
                "the supervisor to see the death",
              ).then(() => void (diedAt = performance.now())),
              runner.waitFor(
                new RegExp(
                  `\\[worker 0 pid (?!${first}\\b)(\\d+)\\] .*listening on`,
                ),
                "the replacement worker to listen",
              ).then((m) => {
                replacedAt = performance.now();
                replacementPid = m[1];
              }),
            ]);
          }
        }
      };
      await within(
        300_000,
        `${REQUESTS} requests`,
        Promise.all(Array.from({ length: CONCURRENCY }, client)),
      );
      await replacement;
      // On a busy machine the replacement may come up after the last
      // request: a few more (bounded), until it has served, all of which
      // must succeed.
      for (let extra = 0; extra < 1000; extra++) {
        if (outcomes.some((o) => o.pid === replacementPid)) break;
        const outcome = await request(
          REQUESTS + extra,
          extra % 2 === 0 ? v1 : v2,
        );
        assert.equal(
          outcome.error,
          undefined,
          "a request after the replacement was up",
        );
        outcomes.push(outcome);
      }

      const failed = outcomes.filter((o) => o.error !== undefined);
      const pids = new Set(
        outcomes.map((o) => o.pid).filter((p) => p !== undefined),
      );
      const late = failed.filter((f) => f.startedAt > killedAt).length;
      console.log(
        `${outcomes.length} requests, ${failed.length} failed (${late} of them started between the kill and the supervisor seeing the death), ${pids.size} serving pids, replacement up ${
          (replacedAt - killedAt).toFixed(0)
        } ms after the kill`,
      );
      assert.ok(outcomes.length >= REQUESTS);
      // Only connections the killed worker held may fail: those it was
      // serving or had in its accept queue. The kernel goes on queueing
      // new connections to a SIGKILLed process's socket until the process
      // is gone, so requests started just after the kill may fail too;
      // none started after the supervisor saw the death may.
      assert.ok(
        failed.length <= REQUESTS / 50,
        `${failed.length} failures: ${failed.slice(0, 3).map((f) => f.error)}`,
      );
      for (const f of failed) {
        assert.ok(
          f.startedAt < diedAt,
          `request ${f.index} started after the worker's death was seen and failed: ${f.error}`,
        );
      }
      assert.ok(pids.has(first), "the first worker 0 served before the kill");
      assert.ok(pids.has(replacementPid), "the replacement served");
      assert.equal(
        pids.size,
        3,
        "worker 0, worker 1 and the replacement all served",
      );
      const afterReplacement = outcomes.filter((o) => o.startedAt > replacedAt);
      assert.ok(
        afterReplacement.length > 0,
        "requests ran after the replacement was up",
      );
    } finally {
      if (haproxy !== undefined) await haproxy.stop();
      const status = await runner.stop();
      assert.equal(status.code, 0, runner.lines.join("\n"));
      await Deno.remove(dir, { recursive: true });
    }
  },
});
