// The fault suite's harness: a server in a child Deno process (its RSS read
// from /proc/PID/status, its stderr log collected), python3 clients for
// what Deno cannot do, and small loopback client helpers. Every wait is
// bounded; every child is killed by its PID in the test's `finally`.

import {
  decode,
  encode,
  hasCommand,
  readExactly,
  within,
} from "../_helpers.ts";

export { decode, encode, readExactly, within };

/** How long a step of a fault case may take before the case fails. */
export const WAIT = 10_000;

const SERVER = new URL("./_server.ts", import.meta.url).pathname;
const CLIENTS = new URL("./_clients.py", import.meta.url).pathname;
const PYTHON = "/usr/bin/python3";

/** Why the python3 clients cannot run, or null when they can. */
export const pythonMissing: string | null = (() => {
  try {
    Deno.statSync(PYTHON);
    return null;
  } catch {
    return hasCommand("python3") ? null : "python3 is not installed";
  }
})();

function python(): string {
  try {
    Deno.statSync(PYTHON);
    return PYTHON;
  } catch {
    return "python3";
  }
}

/** Lines of a child's stream, as they come. */
class Lines {
  text = "";
  #done: Promise<void>;
  #wake: (() => void) | undefined;
  ended = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#done = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        this.text += decoder.decode(chunk, { stream: true });
        this.#wake?.();
      }
      this.ended = true;
      this.#wake?.();
    })();
  }

  /** Waits (bounded) until the text so far matches `pattern`. */
  async match(
    pattern: RegExp,
    what: string,
    ms = WAIT,
  ): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = pattern.exec(this.text);
      if (m) return m;
      if (this.ended) {
        throw new Error(
          `Ended before ${what}; output: ${this.text.slice(-2000)}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `Timed out waiting for ${what}; output: ${this.text.slice(-2000)}`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, Math.min(left, 250));
      });
      clearTimeout(timer);
      this.#wake = undefined;
    }
  }

  /** Waits (bounded) until `pattern` (global) occurs `n` times. */
  async matchCount(
    pattern: RegExp,
    n: number,
    what: string,
    ms = WAIT,
  ): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.count(pattern) >= n) return;
      if (this.ended || Date.now() >= deadline) {
        throw new Error(
          `${this.ended ? "Ended" : "Timed out"} waiting for ${what} (${
            this.count(pattern)
          } so far); output: ${this.text.slice(-2000)}`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, 250);
      });
      clearTimeout(timer);
      this.#wake = undefined;
    }
  }

  /** How many times `pattern` (global) occurs so far. */
  count(pattern: RegExp): number {
    return [...this.text.matchAll(pattern)].length;
  }

  closed(): Promise<void> {
    return this.#done;
  }
}

/** A server child process. */
export class ServerChild {
  readonly process: Deno.ChildProcess;
  readonly stdout: Lines;
  readonly stderr: Lines;
  ports: Record<string, number> = {};

  constructor(process: Deno.ChildProcess) {
    this.process = process;
    this.stdout = new Lines(process.stdout);
    this.stderr = new Lines(process.stderr);
  }

  get pid(): number {
    return this.process.pid;
  }

  /** The child's resident memory (VmRSS, KiB) from /proc/PID/status. */
  rssKiB(): number {
    // Deno asks for --allow-all to read /proc/PID itself: cat reads it.
    const out = new Deno.Command("cat", {
      args: [`/proc/${this.pid}/status`],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    const status = decode(out.stdout);
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    if (!m) throw new Error(`No VmRSS for ${this.pid}: ${status}`);
    return Number(m[1]);
  }

  /** Sends SIGTERM (by PID) and waits for the exit status. */
  async stop(): Promise<Deno.CommandStatus> {
    try {
      this.process.kill("SIGTERM");
    } catch {
      // already exited
    }
    let status: Deno.CommandStatus;
    try {
      status = await within(WAIT, "the server to exit", this.process.status);
    } catch (e) {
      this.process.kill("SIGKILL");
      status = await this.process.status;
      await Promise.all([this.stdout.closed(), this.stderr.closed()]);
      throw e;
    }
    await Promise.all([this.stdout.closed(), this.stderr.closed()]);
    return status;
  }
}

/**
 * Starts `_server.ts MODE ARGS` in a child Deno (under `ulimit -n` when
 * asked) and waits for its READY line.
 */
export async function startServer(
  mode: string,
  args: string[] = [],
  options: { ulimit?: number } = {},
): Promise<ServerChild> {
  const unix = mode === "unix" ? [`--allow-net=127.0.0.1,unix:${args[0]}`] : [
    "--allow-net=127.0.0.1",
  ];
  const deno = [
    Deno.execPath(),
    "run",
    "--quiet",
    ...unix,
    "--allow-read",
    "--allow-write",
    SERVER,
    mode,
    ...args,
  ];
  const command = options.ulimit === undefined
    ? new Deno.Command(deno[0], {
      args: deno.slice(1),
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      env: { NO_COLOR: "1" },
    })
    : new Deno.Command("sh", {
      args: ["-c", `ulimit -n ${options.ulimit} && exec "$@"`, "sh", ...deno],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      env: { NO_COLOR: "1" },
    });
  const child = new ServerChild(command.spawn());
  try {
    const m = await child.stdout.match(
      /READY (\{.*\})\n/,
      "the server to listen",
    );
    child.ports = JSON.parse(m[1]);
  } catch (e) {
    await child.stop().catch(() => {});
    throw new Error(`${(e as Error).message}; stderr: ${child.stderr.text}`);
  }
  return child;
}

/** A python3 client child (`_clients.py MODE COUNT HOST PORT`). */
export class ClientsChild {
  readonly process: Deno.ChildProcess;
  readonly stdout: Lines;
  readonly stderr: Lines;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;

  constructor(mode: string, count: number, port: number, host = "127.0.0.1") {
    this.process = new Deno.Command(python(), {
      args: [CLIENTS, mode, String(count), host, String(port)],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.stdout = new Lines(this.process.stdout);
    this.stderr = new Lines(this.process.stderr);
    this.#stdin = this.process.stdin.getWriter();
  }

  /** Closes its stdin (idle mode: the clients close) and waits for exit. */
  async finish(): Promise<Deno.CommandStatus> {
    await this.#stdin.close().catch(() => {});
    let status: Deno.CommandStatus;
    try {
      status = await within(WAIT, "the clients to exit", this.process.status);
    } catch (e) {
      this.process.kill("SIGKILL");
      await this.process.status;
      await Promise.all([this.stdout.closed(), this.stderr.closed()]);
      throw e;
    }
    await Promise.all([this.stdout.closed(), this.stderr.closed()]);
    return status;
  }
}

/** Connects to 127.0.0.1:`port`. */
export function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/** Sends `text`, expects it echoed whole within `ms`. */
export async function echoes(
  port: number,
  text: string,
  ms = WAIT,
): Promise<void> {
  const conn = await within(ms, "connecting", connect(port));
  try {
    await conn.write(encode(text));
    const got = decode(
      await within(
        ms,
        `the echo of ${JSON.stringify(text)}`,
        readExactly(conn, text.length),
      ),
    );
    if (got !== text) {
      throw new Error(
        `Echoed ${JSON.stringify(got)}, not ${JSON.stringify(text)}`,
      );
    }
  } finally {
    conn.close();
  }
}

/** Reads until EOF (bounded), returning what came; throws on a reset. */
export async function readToEOF(
  conn: Deno.Conn,
  ms = WAIT,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  await within(
    ms,
    "EOF",
    (async () => {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) return;
        chunks.push(buf.slice(0, n));
      }
    })(),
  );
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
