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
