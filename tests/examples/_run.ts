// Helpers for the example tests: run an example (or any command) as a
// child process, bounded in time, and read what it prints.

import { readAll, within } from "../_helpers.ts";

/** The checkout's root folder (with a trailing slash). */
export const ROOT: string = new URL("../../", import.meta.url).pathname;

/** What a finished child printed, and how it ended. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `deno ARGS...` (or `cmd ARGS...`) in the checkout to completion; a
 * child still running after `ms` is killed and the test fails.
 */
export async function run(
  args: string[],
  options: { ms?: number; cmd?: string; cwd?: string; stdin?: string } = {},
): Promise<Ran> {
  const child = new Deno.Command(options.cmd ?? Deno.execPath(), {
    args,
    cwd: options.cwd ?? ROOT,
    env: { NO_COLOR: "1" },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const ms = options.ms ?? 30_000;
  const all = Promise.all([
    child.status,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  try {
    const [status, stdout, stderr] = await within(
      ms,
      `${args.join(" ")} to exit`,
      all,
    );
    return { code: status.code, stdout, stderr };
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await all.catch(() => {});
    throw error;
  }
}

/**
 * A long-running child (a server) whose output the test waits for: its
 * stdout, or its stderr with `watch: "stderr"` (the runner logs there).
 */
export class Server {
  readonly child: Deno.ChildProcess;
  #out = "";
  #err: Promise<string>;
  #reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(
    args: string[],
    options: { cmd?: string; watch?: "stdout" | "stderr" } = {},
  ) {
    const cmd = options.cmd;
    this.child = new Deno.Command(cmd ?? Deno.execPath(), {
      args,
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const [watched, other] = options.watch === "stderr"
      ? [this.child.stderr, this.child.stdout]
      : [this.child.stdout, this.child.stderr];
    this.#reader = watched.getReader();
    this.#err = new Response(other).text();
  }

  /** Waits (at most `ms`) until stdout matches `pattern`. */
  waitFor(pattern: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
    const decoder = new TextDecoder();
    const read = async () => {
      for (;;) {
        const m = this.#out.match(pattern);
        if (m) return m;
        const { done, value } = await this.#reader.read();
        if (done) {
          throw new Error(
            `Output ended without ${pattern}: ${this.#out}${await this.#err}`,
          );
        }
        this.#out += decoder.decode(value, { stream: true });
      }
    };
    return within(ms, `output matching ${pattern}`, read());
  }

  /**
   * Sends SIGTERM and waits (at most 10 s) for the exit; returns the
   * status, all of the watched stream and all of the other.
   */
  async stop(): Promise<{ code: number; watched: string; other: string }> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // already gone
    }
    const status = await within(
      10_000,
      "the server to exit",
      this.child.status,
    );
    const decoder = new TextDecoder();
    let rest = "";
    for (;;) {
      const { done, value } = await within(
        10_000,
        "the server's output to end",
        this.#reader.read(),
      );
      if (done) break;
      rest += decoder.decode(value, { stream: true });
    }
    this.#reader.releaseLock();
    return {
      code: status.code,
      watched: this.#out + rest,
      other: await this.#err,
    };
  }
}

/**
 * Sends `text` to 127.0.0.1:`port` and reads until the server closes;
 * with `closeWrite`, half-closes after sending (an echo server then
 * finishes and closes too).
 */
export async function ask(
  port: number,
  text: string,
  options: { closeWrite?: boolean } = {},
): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(text));
    if (options.closeWrite) await conn.closeWrite();
    return new TextDecoder().decode(
      await within(10_000, "the reply", readAll(conn)),
    );
  } finally {
    conn.close();
  }
}
