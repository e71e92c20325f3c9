import assert from "node:assert/strict";
import { DenoServeService } from "../../application/http.ts";
import { Application } from "../../application/service.ts";
import { Deferred } from "../../deferred/deferred.ts";
import { Clock } from "../../testing/clock.ts";
import { captureLogs } from "../../testing/logs.ts";
import {
  decode,
  encode,
  hasCommand,
  WatchedChild,
  within,
} from "../_helpers.ts";

const LIMIT = 20_000;

function urlOf(service: DenoServeService, path = "/"): string {
  const { host, port } = service.getHost() as { host: string; port: number };
  return `http://${host}:${port}${path}`;
}

/** Whether a TCP connection to `url`'s port is refused (bounded retries). */
async function refusedSoon(url: string): Promise<boolean> {
  const port = Number(new URL(url).port);
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionRefused) return true;
      // Accepted into the backlog as the listener closed: try again.
      if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

Deno.test("DenoServeService serves while its application runs and says where", async () => {
  const app = new Application("web");
  const web = new DenoServeService(
    (request) => new Response(`you asked for ${new URL(request.url).pathname}`),
    { port: 0, hostname: "127.0.0.1" },
  );
  web.setServiceParent(app);
  assert.throws(() => web.getHost(), /it is not listening/);
  app.startService();
  assert.equal(web.running, true);
  const port = web.getHost();
  assert.equal(port.type, "TCP");
  const listening = await web.whenListening();
  assert.deepEqual(listening.getHost(), port);
  const response = await within(
    LIMIT,
    "the response",
    fetch(urlOf(web, "/a/b")),
  );
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "you asked for /a/b");
  const url = urlOf(web);
  await app.stopService();
  assert.equal(web.running, false);
  assert.equal(web.server, undefined);
  assert.equal(await refusedSoon(url), true, "the port is closed after stop");
});

Deno.test("stopService closes the port at once but fires only after the in-flight request is answered", async () => {
  const entered = new Deferred<void>();
  const release = new Deferred<void>();
  const web = new DenoServeService(async () => {
    entered.callback();
    await release;
    return new Response("slow done");
  }, { port: 0, hostname: "127.0.0.1" });
  web.startService();
  const url = urlOf(web, "/slow");
  const pending = fetch(url);
  await within(LIMIT, "the request to reach the handler", entered);
  let stopped = false;
  const stop = web.stopService().addCallback(() => {
    stopped = true;
  });
  // Shutdown has begun: new connections are refused ...
  assert.equal(await refusedSoon(url), true);
  // ... while the request in flight holds the stop back.
  assert.equal(stopped, false);
  release.callback();
  const response = await within(LIMIT, "the slow response", pending);
  assert.equal(await response.text(), "slow done");
  await within(LIMIT, "the stop", stop);
  assert.equal(stopped, true);
  // Stopping again is harmless.
  await web.stopService();
});

Deno.test("a handler that throws gets a logged 500; a custom onError is used when given", async () => {
  using logs = captureLogs();
  const web = new DenoServeService(() => {
    throw new RangeError("no such page");
  }, { port: 0, hostname: "127.0.0.1" });
  web.startService();
  try {
    const response = await within(LIMIT, "the 500", fetch(urlOf(web)));
    assert.equal(response.status, 500);
    await response.body?.cancel();
    assert.match(
      logs.messages.join("\n"),
      /HTTP handler failed: RangeError: no such page/,
    );
  } finally {
    await web.stopService();
  }
  const custom = new DenoServeService(() => {
    throw new Error("x");
  }, {
    port: 0,
    hostname: "127.0.0.1",
    onError: () => new Response("sorry", { status: 503 }),
  });
  custom.startService();
  try {
    const response = await within(LIMIT, "the 503", fetch(urlOf(custom)));
    assert.equal(response.status, 503);
    assert.equal(await response.text(), "sorry");
  } finally {
    await custom.stopService();
  }
});

Deno.test("stopService gives up waiting after shutdownTimeout seconds and logs the requests cut short", async () => {
  using logs = captureLogs();
  const clock = new Clock();
  const entered = new Deferred<void>();
  const release = new Deferred<void>();
  const web = new DenoServeService(async () => {
    entered.callback();
    await release;
    return new Response("late");
  }, { port: 0, hostname: "127.0.0.1", shutdownTimeout: 5, clock });
  web.startService();
  const pending = fetch(urlOf(web));
  await within(LIMIT, "the request to reach the handler", entered);
  const server = web.server!;
  let stopped = false;
  web.stopService().addCallback(() => {
    stopped = true;
  });
  clock.advance(4.9);
  assert.equal(stopped, false);
  clock.advance(0.1);
  assert.equal(stopped, true);
  assert.match(
    logs.messages.join("\n"),
    /1 HTTP request\(s\) still running after 5 s/,
  );
  // Let the request end, so the server really closes before the test ends.
  release.callback();
  await (await within(LIMIT, "the late response", pending)).text();
  await within(
    LIMIT,
    "the server to close",
    server.finished,
  );
});

Deno.test("DenoServeService refuses a bad shutdownTimeout, and a bind error comes from the start", () => {
  assert.throws(
    () => new DenoServeService(() => new Response(), { shutdownTimeout: 0 }),
    /Cannot make DenoServeService with shutdownTimeout 0/,
  );
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const web = new DenoServeService(() => new Response(), {
      port: (taken.addr as Deno.NetAddr).port,
      hostname: "127.0.0.1",
    });
    assert.throws(() => web.startService(), Deno.errors.AddrInUse);
    assert.equal(web.running, false);
  } finally {
    taken.close();
  }
});

// ------------------------------------------------- under the runner

const ROOT = new URL("../../", import.meta.url).pathname;

/** The runner with examples/http_and_finger.ts, its stderr lines watched. */
class Runner extends WatchedChild {
  constructor(args: string[]) {
    super(Deno.execPath(), [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "application/twistd.ts",
      ...args,
    ], ROOT);
  }

  async finish(): Promise<Deno.CommandStatus> {
    try {
      return await within(LIMIT, "the runner to exit", this.child.status);
    } catch (error) {
      this.child.kill("SIGKILL");
      await this.child.status;
      throw error;
    } finally {
      await this.done;
    }
  }
}

Deno.test("examples/http_and_finger.ts serves HTTP and finger under the runner; SIGTERM lets a slow request finish, exit 0", async () => {
  const r = new Runner([
    "examples/http_and_finger.ts",
    "--http-port",
    "0",
    "--finger-port",
    "0",
  ]);
  let status: Deno.CommandStatus | undefined;
  try {
    const [, httpPort] = await r.waitFor(
      /http listening on 127\.0\.0\.1:(\d+)/,
      "HTTP to listen",
    );
    const [, fingerPort] = await r.waitFor(
      /finger listening on 127\.0\.0\.1:(\d+)/,
      "finger to listen",
    );
    await r.waitFor(/http-and-finger started/, "the application to start");
    const base = `http://127.0.0.1:${httpPort}`;
    if (hasCommand("curl")) {
      const out = await within(
        LIMIT,
        "curl",
        new Deno.Command("curl", {
          args: ["-sS", "--max-time", "10", `${base}/users/moshez`],
          env: { http_proxy: "", no_proxy: "" },
          stdout: "piped",
          stderr: "piped",
        }).output(),
      );
      assert.equal(out.code, 0, decode(out.stderr));
      assert.equal(decode(out.stdout), "Happy and well\n");
    } else {
      console.log("curl is not installed: using fetch for the first request");
      const response = await fetch(`${base}/users/moshez`);
      assert.equal(await response.text(), "Happy and well\n");
    }
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: Number(fingerPort),
    });
    try {
      await conn.write(encode("glyph\r\n"));
      const buf = new Uint8Array(256);
      let text = "";
      for (;;) {
        const n = await within(LIMIT, "the finger answer", conn.read(buf));
        if (n === null) break;
        text += decode(buf.subarray(0, n));
      }
      assert.equal(text, "Polishing the reactor\r\n");
    } finally {
      conn.close();
    }
    // A request that takes 2 s is in flight when SIGTERM arrives.
    const slow = fetch(`${base}/slow?seconds=2`);
    await r.waitFor(/Slow request started/, "the slow request to start");
    r.child.kill("SIGTERM");
    await r.waitFor(/Received SIGTERM/, "the runner to see SIGTERM");
    const response = await within(LIMIT, "the slow response", slow);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "slow done\n");
    status = await r.finish();
  } finally {
    if (status === undefined) {
      try {
        r.child.kill("SIGKILL");
      } catch { /* exited */ }
      await r.finish().catch(() => {});
    }
  }
  assert.equal(status.code, 0, r.lines.join("\n"));
  const log = r.lines.join("\n");
  const sigterm = log.indexOf("Received SIGTERM");
  assert.ok(sigterm > log.indexOf("Slow request started"));
  assert.match(log.slice(sigterm), /Stopped/);
});
