// Shared helpers for the project's own tests (not part of the package).

/**
 * Races `promise` against a timer that is always cleared, failing with
 * "Timed out after N ms waiting for WHAT".
 */
export async function within<T>(
  ms: number,
  what: string,
  promise: PromiseLike<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads exactly `n` bytes from `conn`, or throws on early EOF. */
export async function readExactly(
  conn: Deno.Conn,
  n: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const read = await conn.read(out.subarray(got));
    if (read === null) {
      throw new Error(`Connection closed after ${got} of ${n} bytes`);
    }
    got += read;
  }
  return out;
}

/** Reads until EOF. */
export async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Whether an external command exists on PATH. */
export function hasCommand(name: string): boolean {
  try {
    const r = new Deno.Command("sh", {
      args: ["-c", `command -v ${name}`],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return r.success;
  } catch {
    return false;
  }
}

export const encode = (s: string): Uint8Array => new TextEncoder().encode(s);
export const decode = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Debian's Python, which has Twisted: the interop tests' peer. */
export const PYTHON = "/usr/bin/python3";

/**
 * Why `PYTHON` cannot `import` the given Python modules here, or undefined
 * when it can: the interop tests print it and skip.
 */
export function pythonMissing(modules: string): string | undefined {
  try {
    const probe = new Deno.Command(PYTHON, {
      args: ["-c", `import ${modules}`],
      stdout: "null",
      stderr: "piped",
    }).outputSync();
    if (probe.success) return undefined;
    return `${PYTHON} cannot import ${modules}: ${
      decode(probe.stderr).trim().split("\n").at(-1)
    }`;
  } catch (error) {
    return `${PYTHON} cannot be run: ${(error as Error).message}`;
  }
}

/**
 * A child process whose stderr is read line by line as it comes, so a test
 * can wait for a line (`waitFor`) and read them all after (`lines`).
 */
export class WatchedChild {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  /** Settles once stderr has ended. */
  readonly done: Promise<void>;
  #waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  constructor(command: string, args: string[], cwd?: string) {
    this.child = new Deno.Command(command, {
      args,
      cwd,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.done = this.#read();
  }

  async #read(): Promise<void> {
    let rest = "";
    for await (
      const chunk of this.child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      rest += chunk;
      let nl: number;
      while ((nl = rest.indexOf("\n")) !== -1) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        this.lines.push(line);
        this.#waiters = this.#waiters.filter((w) => {
          const m = line.match(w.re);
          if (m !== null) w.resolve(m);
          return m === null;
        });
      }
    }
  }

  /** The first stderr line matching `re`, waiting up to `ms` for it. */
  waitFor(re: RegExp, what: string, ms = 20_000): Promise<RegExpMatchArray> {
    for (const line of this.lines) {
      const m = line.match(re);
      if (m !== null) return Promise.resolve(m);
    }
    return within(
      ms,
      what,
      new Promise((resolve) => this.#waiters.push({ re, resolve })),
    );
  }
}
