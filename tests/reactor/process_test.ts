import assert from "node:assert/strict";
import { Deferred } from "../../deferred/deferred.ts";
import type { Failure } from "../../deferred/failure.ts";
import { ProcessProtocol } from "../../protocols/protocol.ts";
import type { IPushProducer } from "../../reactor/interfaces.ts";
import {
  Process,
  ProcessDone,
  ProcessExitedAlready,
  ProcessTerminated,
} from "../../reactor/process.ts";
import { DenoReactor, reactor } from "../../reactor/reactor.ts";
import { captureLogs } from "../../testing/logs.ts";
import { decode, within } from "../_helpers.ts";

const LIMIT = 10_000;

/** Records every event, collects output, and fires `ended` at the end. */
class Recorder extends ProcessProtocol {
  events: string[] = [];
  out: Uint8Array[] = [];
  err: Uint8Array[] = [];
  outBytes = 0;
  exited?: Failure;
  /** Fires with the end reason's value (ProcessDone or ProcessTerminated). */
  ended = new Deferred<Error>();
  override connectionMade(): void {
    this.events.push("connectionMade");
  }
  override outReceived(data: Uint8Array): void {
    if (this.events.at(-1) !== "out") this.events.push("out");
    this.out.push(data);
    this.outBytes += data.length;
  }
  override errReceived(data: Uint8Array): void {
    if (this.events.at(-1) !== "err") this.events.push("err");
    this.err.push(data);
  }
  override inConnectionLost(): void {
    this.events.push("inConnectionLost");
  }
  override outConnectionLost(): void {
    this.events.push("outConnectionLost");
  }
  override errConnectionLost(): void {
    this.events.push("errConnectionLost");
  }
  override processExited(reason: Failure): void {
    this.events.push("processExited");
    this.exited = reason;
  }
  override processEnded(reason: Failure): void {
    this.events.push("processEnded");
    this.ended.callback(reason.value as Error);
  }
  get stdout(): string {
    return decode(concat(this.out));
  }
  get stderr(): string {
    return decode(concat(this.err));
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function spawn(
  proto: ProcessProtocol,
  executable: string,
  args: string[],
  options?: { env?: Record<string, string>; path?: string },
): Process {
  return reactor.spawnProcess(proto, executable, args, options);
}

Deno.test("cat echoes stdin to stdout and ends with ProcessDone, processEnded last", async () => {
  const p = new Recorder();
  const transport = spawn(p, "cat", ["cat"]);
  assert.equal(typeof transport.pid, "number");
  transport.write("hello ");
  transport.writeSequence(["wor", new TextEncoder().encode("ld")]);
  transport.closeStdin();
  const reason = await within(LIMIT, "cat to end", p.ended);
  assert.ok(reason instanceof ProcessDone);
  assert.equal((reason as ProcessDone).exitCode, 0);
  assert.equal(p.stdout, "hello world");
  assert.equal(p.events[0], "connectionMade");
  assert.equal(p.events.at(-1), "processEnded");
  for (
    const e of [
      "inConnectionLost",
      "outConnectionLost",
      "errConnectionLost",
      "processExited",
    ]
  ) {
    assert.ok(p.events.includes(e), `${e} in ${p.events.join(", ")}`);
  }
  assert.ok(
    p.events.indexOf("inConnectionLost") < p.events.indexOf("processExited"),
    "stdin closed before cat could exit",
  );
  assert.equal(transport.pid, undefined, "the pid is forgotten once reaped");
  assert.equal(transport.status?.code, 0);
});

Deno.test("sh -c: stderr goes to errReceived and a non-zero exit is ProcessTerminated", async () => {
  const p = new Recorder();
  spawn(p, "sh", ["sh", "-c", "echo out; echo oops >&2; exit 3"]);
  const reason = await within(LIMIT, "sh to end", p.ended);
  assert.ok(reason instanceof ProcessTerminated);
  assert.equal(reason.exitCode, 3);
  assert.equal(reason.signal, null);
  assert.equal(p.stdout, "out\n");
  assert.equal(p.stderr, "oops\n");
  assert.ok(p.exited?.value instanceof ProcessTerminated);
});

Deno.test("args[0] is the program's name; the rest are its arguments", async () => {
  const p = new Recorder();
  spawn(p, "sh", ["anything", "-c", 'printf "%s|" "$@"', "zero", "a b", "c"]);
  await within(LIMIT, "sh to end", p.ended);
  assert.equal(p.stdout, "a b|c|");
});

Deno.test("env replaces the environment and path sets the working directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = new Recorder();
    spawn(p, "sh", ["sh", "-c", 'echo "$FOO ${HOME-unset}"; pwd'], {
      env: { FOO: "bar" },
      path: dir,
    });
    await within(LIMIT, "sh to end", p.ended);
    assert.equal(p.stdout, `bar unset\n${await Deno.realPath(dir)}\n`);
  } finally {
    await Deno.remove(dir);
  }
});

Deno.test("signalProcess TERM, KILL and INT end sleep with that signal", async () => {
  for (
    const [sig, name] of [["TERM", "SIGTERM"], ["KILL", "SIGKILL"], [
      "INT",
      "SIGINT",
    ]] as const
  ) {
    const p = new Recorder();
    const transport = spawn(p, "sleep", ["sleep", "30"]);
    transport.signalProcess(sig);
    const reason = await within(LIMIT, `sleep to end on ${sig}`, p.ended);
    assert.ok(reason instanceof ProcessTerminated, sig);
    assert.equal(reason.signal, name);
    assert.equal(reason.exitCode, null);
    assert.match(reason.message, new RegExp(`by signal ${name}`));
    assert.throws(() => transport.signalProcess("TERM"), ProcessExitedAlready);
  }
});

Deno.test("an unknown signal name is a TypeError", async () => {
  const p = new Recorder();
  const transport = spawn(p, "sleep", ["sleep", "30"]);
  try {
    assert.throws(
      () => transport.signalProcess("BOGUS" as "TERM"),
      /Cannot send signal "BOGUS": use one of TERM, KILL/,
    );
  } finally {
    transport.signalProcess("KILL");
    await within(LIMIT, "sleep to end", p.ended);
  }
});

Deno.test("a missing executable fails at once with a clear NotFound error", () => {
  assert.throws(
    () => spawn(new Recorder(), "no-such-program-xyz", ["no-such-program-xyz"]),
    (e: unknown) =>
      e instanceof Deno.errors.NotFound &&
      e.message === 'Cannot spawn "no-such-program-xyz": not found on PATH',
  );
  assert.throws(
    () => spawn(new Recorder(), "/no/such/program", ["program"]),
    /Cannot spawn "\/no\/such\/program": no such file/,
  );
});

Deno.test("bad arguments are TypeErrors", () => {
  assert.throws(() => spawn(new Recorder(), "", []), TypeError);
  assert.throws(
    () => spawn(new Recorder(), "cat", "cat" as unknown as string[]),
    /args must be an array of strings/,
  );
});

Deno.test("processEnded comes only after all output, however large", async () => {
  const p = new Recorder();
  let bytesAtExit = -1;
  const original = p.processExited.bind(p);
  p.processExited = (reason) => {
    bytesAtExit = p.outBytes;
    original(reason);
  };
  spawn(p, "sh", ["sh", "-c", "head -c 3000000 /dev/zero"]);
  await within(LIMIT, "sh to end", p.ended);
  assert.equal(p.outBytes, 3_000_000);
  assert.ok(bytesAtExit >= 0 && bytesAtExit <= 3_000_000);
  assert.ok(
    p.events.indexOf("outConnectionLost") < p.events.indexOf("processEnded"),
  );
});

Deno.test("a streaming producer feeding cat 8 MiB is paused and resumed; every byte comes back", async () => {
  const total = 8 * 1024 * 1024;
  const chunk = new Uint8Array(16 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i % 251;
  let expectedSum = 0;
  class Feeder implements IPushProducer {
    sent = 0;
    pauses = 0;
    resumes = 0;
    paused = false;
    stopped = false;
    constructor(readonly transport: Process) {}
    produce(): void {
      while (!this.paused && this.sent < total) {
        this.sent += chunk.length;
        this.transport.write(chunk);
      }
      if (this.sent >= total && !this.paused) {
        this.transport.unregisterProducer();
        this.transport.closeStdin();
      }
    }
    pauseProducing(): void {
      this.pauses++;
      this.paused = true;
    }
    resumeProducing(): void {
      this.resumes++;
      this.paused = false;
      if (this.sent < total || !this.stopped) this.produce();
    }
    stopProducing(): void {
      this.stopped = true;
    }
  }
  for (let i = 0; i < chunk.length; i++) expectedSum += chunk[i];
  expectedSum *= total / chunk.length;
  let sum = 0;
  class Summer extends Recorder {
    override outReceived(data: Uint8Array): void {
      this.outBytes += data.length;
      for (let i = 0; i < data.length; i++) sum += data[i];
    }
  }
  const p = new Summer();
  const transport = spawn(p, "cat", ["cat"]);
  const feeder = new Feeder(transport);
  transport.registerProducer(feeder, true);
  feeder.produce();
  assert.ok(
    transport.bufferSize <= 64 * 1024 + chunk.length,
    "writes stopped near the high-water mark",
  );
  const reason = await within(LIMIT, "cat to end", p.ended);
  assert.ok(reason instanceof ProcessDone);
  assert.equal(p.outBytes, total);
  assert.equal(sum, expectedSum);
  assert.ok(feeder.pauses > 0, "the producer was paused");
  assert.equal(
    feeder.resumes,
    feeder.pauses,
    "every pause was paired with a resume",
  );
});

Deno.test("a pull producer is asked for more each time stdin drains", async () => {
  const p = new Recorder();
  const transport = spawn(p, "cat", ["cat"]);
  let asked = 0;
  transport.registerProducer({
    resumeProducing() {
      asked++;
      if (asked <= 3) transport.write(`part${asked} `);
      else {
        transport.unregisterProducer();
        transport.closeStdin();
      }
    },
    stopProducing() {},
  }, false);
  await within(LIMIT, "cat to end", p.ended);
  assert.equal(p.stdout, "part1 part2 part3 ");
  assert.equal(asked, 4);
  assert.throws(() => {
    transport.registerProducer(
      { resumeProducing() {}, stopProducing() {} },
      false,
    );
    transport.registerProducer(
      { resumeProducing() {}, stopProducing() {} },
      false,
    );
  }, /already has one/);
});

Deno.test("closeStdout stops reading: a writer like yes dies of SIGPIPE", async () => {
  const p = new Recorder();
  let transport: Process | undefined = undefined;
  p.outReceived = (data: Uint8Array) => {
    p.outBytes += data.length;
    transport!.closeStdout();
  };
  transport = spawn(p, "yes", ["yes"]);
  const reason = await within(LIMIT, "yes to end", p.ended);
  assert.ok(reason instanceof ProcessTerminated);
  assert.equal(reason.signal, "SIGPIPE");
  assert.ok(p.outBytes > 0);
  assert.ok(
    p.events.indexOf("outConnectionLost") < p.events.indexOf("processExited"),
  );
});

Deno.test("loseConnection closes all three pipes; stdin is flushed first", async () => {
  const p = new Recorder();
  const transport = spawn(p, "sh", ["sh", "-c", "wc -c > /dev/null"]);
  transport.write("last words");
  transport.loseConnection();
  transport.write("ignored after close");
  const reason = await within(LIMIT, "sh to end", p.ended);
  assert.ok(reason instanceof ProcessDone, "wc read to EOF and exited 0");
  for (
    const e of ["inConnectionLost", "outConnectionLost", "errConnectionLost"]
  ) {
    assert.ok(p.events.indexOf(e) < p.events.indexOf("processEnded"), e);
  }
});

Deno.test("closing stdout of cat makes it die of SIGPIPE when it answers", async () => {
  const p = new Recorder();
  const transport = spawn(p, "cat", ["cat"]);
  transport.closeStdout();
  transport.write("anyone there?");
  transport.closeStdin();
  const reason = await within(LIMIT, "cat to end", p.ended);
  assert.ok(reason instanceof ProcessTerminated);
  assert.equal(reason.signal, "SIGPIPE");
  assert.equal(p.stdout, "");
});

Deno.test("pauseProducing holds output back until resumeProducing", async () => {
  const p = new Recorder();
  const transport = spawn(p, "sh", ["sh", "-c", "read line; echo got $line"]);
  transport.pauseProducing();
  transport.write("x\n");
  // The child answers and exits while we are paused: processExited comes,
  // but no output and no processEnded until we read again.
  const exited = new Promise<void>((resolve) => {
    p.processExited = () => resolve();
  });
  await within(LIMIT, "sh to exit", exited);
  assert.equal(p.out.length, 0);
  assert.equal(p.ended.called, false);
  transport.resumeProducing();
  await within(LIMIT, "sh to end", p.ended);
  assert.equal(p.stdout, "got x\n");
});

Deno.test("a throwing protocol method is logged and the process carries on", async () => {
  using logs = captureLogs();
  const p = new Recorder();
  p.outReceived = () => {
    throw new Error("bad protocol");
  };
  spawn(p, "sh", ["sh", "-c", "echo one"]);
  const reason = await within(LIMIT, "sh to end", p.ended);
  assert.ok(reason instanceof ProcessDone);
  const [failure] = logs.flushLoggedErrors(Error);
  assert.equal(failure.getErrorMessage(), "bad protocol");
  assert.match(
    logs.messages.join("\n"),
    /Error in Recorder\.childDataReceived/,
  );
});

Deno.test("reactor shutdown terminates and reaps a running child", async () => {
  const r = new DenoReactor();
  const p = new Recorder();
  r.callWhenRunning(() => {
    r.spawnProcess(p, "sleep", ["sleep", "30"]);
    r.stop();
  });
  await within(LIMIT, "the reactor to stop", r.run());
  assert.equal(p.ended.called, true, "the child ended before run() resolved");
  const reason = await p.ended;
  assert.ok(reason instanceof ProcessTerminated);
  assert.equal(reason.signal, "SIGTERM");
});

Deno.test("reactor shutdown SIGKILLs a child that ignores SIGTERM", async () => {
  const r = new DenoReactor();
  const p = new Recorder();
  r.callWhenRunning(() => {
    // The shell ignores TERM; it tells us once the trap is set.
    r.spawnProcess(p, "sh", [
      "sh",
      "-c",
      "trap '' TERM; echo ready; while :; do sleep 1; done",
    ]);
  });
  p.outReceived = () => r.stop();
  const grace = Process.shutdownGrace;
  Process.shutdownGrace = 0.05;
  try {
    await within(LIMIT, "the reactor to stop", r.run());
  } finally {
    Process.shutdownGrace = grace;
  }
  const reason = await p.ended;
  assert.ok(reason instanceof ProcessTerminated);
  assert.equal(reason.signal, "SIGKILL");
});
