/**
 * Run a program and collect what it wrote, as Twisted's
 * `twisted.internet.utils`: {@linkcode getProcessOutput} (its stdout),
 * {@linkcode getProcessValue} (its exit code) and
 * {@linkcode getProcessOutputAndValue} (both outputs and the code), each a
 * Deferred; output on stderr fails `getProcessOutput` with
 * {@linkcode UnexpectedErrorOutput} unless `errortoo` is set.
 *
 * @module
 */

import { Deferred } from "../deferred/deferred.ts";
import type { Failure } from "../deferred/failure.ts";
import type {
  IProcessTransport,
  IReactorProcess,
  SpawnProcessOptions,
} from "./interfaces.ts";
import type { ProcessDone, ProcessTerminated } from "./process.ts";
import { getGlobalReactor } from "./global.ts";

/**
 * The output given to {@linkcode getProcessOutput} when the process wrote
 * to stderr and `errortoo` was not set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnexpectedErrorOutput } from "@twisted-deno/core/reactor";
 *
 * const e = new UnexpectedErrorOutput(new TextEncoder().encode("oops\n"), 1);
 * assert.equal(e.message, 'Process wrote to stderr: "oops\\n"');
 * ```
 */
export class UnexpectedErrorOutput extends Error {
  /** The error's name, for `Failure.check("UnexpectedErrorOutput")` and logs. */
  override readonly name = "UnexpectedErrorOutput";
  /**
   * Makes an UnexpectedErrorOutput.
   *
   * @param stderr Everything the process wrote to stderr.
   * @param exitCode Its exit code (null after a signal).
   */
  constructor(
    readonly stderr: Uint8Array,
    readonly exitCode: number | null,
    options?: ErrorOptions,
  ) {
    const text = new TextDecoder().decode(stderr.subarray(0, 200));
    super(`Process wrote to stderr: ${JSON.stringify(text)}`, options);
  }
}

/** Options of the `getProcess*` helpers. */
export interface GetProcessOptions extends SpawnProcessOptions {
  /** The reactor to spawn with (the global one by default). */
  reactor?: IReactorProcess;
}

/** Options of {@linkcode getProcessOutput}. */
export interface GetProcessOutputOptions extends GetProcessOptions {
  /** Collect stderr with stdout instead of failing on it. */
  errortoo?: boolean;
}

/** A protocol that collects output and settles a Deferred at the end. */
class Collector {
  out: Uint8Array[] = [];
  err: Uint8Array[] = [];
  transport?: IProcessTransport;
  /** Makes a Process. */
  constructor(
    readonly onEnd: (c: Collector, reason: Failure) => void,
    readonly errortoo = false,
  ) {}
  makeConnection(transport: IProcessTransport): void {
    this.transport = transport;
    transport.closeStdin();
  }
  childDataReceived(fd: number, data: Uint8Array): void {
    if (fd === 1 || this.errortoo) this.out.push(data);
    else this.err.push(data);
  }
  childConnectionLost(_fd: number): void {}
  processExited(_reason: Failure): void {}
  processEnded(reason: Failure): void {
    this.onEnd(this, reason);
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function spawnCollecting(
  executable: string,
  args: string[],
  options: GetProcessOutputOptions,
  onEnd: (c: Collector, reason: Failure) => void,
  d: { errback(reason: unknown): void },
): void {
  const reactor = options.reactor ?? getGlobalReactor();
  try {
    reactor.spawnProcess(
      new Collector(onEnd, options.errortoo ?? false),
      executable,
      [executable, ...args],
      { env: options.env, path: options.path },
    );
  } catch (error) {
    d.errback(error);
  }
}

/**
 * Runs `executable` with `args` (not including the program's name) and
 * fires with everything it wrote to stdout. Output on stderr fails the
 * Deferred with {@linkcode UnexpectedErrorOutput}, unless `errortoo`
 * mixes it in. The exit code is not checked (see
 * {@linkcode getProcessOutputAndValue}).
 *
 * @returns Fires with stdout's bytes once the process has ended.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getProcessOutput } from "@twisted-deno/core/reactor";
 *
 * const out = await getProcessOutput("sh", ["-c", "echo hello"]);
 * assert.equal(new TextDecoder().decode(out), "hello\n");
 * ```
 */
export function getProcessOutput(
  executable: string,
  args: string[] = [],
  options: GetProcessOutputOptions = {},
): Deferred<Uint8Array> {
  const d = new Deferred<Uint8Array>();
  spawnCollecting(executable, args, options, (c, reason) => {
    if (c.err.length > 0) {
      const code = (reason.value as ProcessTerminated).exitCode ?? null;
      d.errback(new UnexpectedErrorOutput(concat(c.err), code));
    } else {
      d.callback(c.out.length === 0 ? new Uint8Array(0) : concat(c.out));
    }
  }, d);
  return d;
}

/**
 * Runs `executable` with `args` (not including the program's name) and
 * fires with its exit code (null when a signal ended it). Output is
 * discarded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getProcessValue } from "@twisted-deno/core/reactor";
 *
 * assert.equal(await getProcessValue("sh", ["-c", "exit 3"]), 3);
 * ```
 */
export function getProcessValue(
  executable: string,
  args: string[] = [],
  options: GetProcessOptions = {},
): Deferred<number | null> {
  const d = new Deferred<number | null>();
  spawnCollecting(executable, args, options, (_c, reason) => {
    d.callback((reason.value as ProcessDone | ProcessTerminated).exitCode);
  }, d);
  return d;
}

/**
 * Runs `executable` with `args` (not including the program's name) and
 * fires with `[stdout, stderr, exitCode]`. When a signal ends the process
 * it fails with {@linkcode ProcessTerminated}, whose `stdout` and `stderr`
 * hold the output so far.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getProcessOutputAndValue } from "@twisted-deno/core/reactor";
 *
 * const [out, err, code] = await getProcessOutputAndValue("sh", [
 *   "-c",
 *   "echo out; echo err >&2; exit 2",
 * ]);
 * assert.equal(new TextDecoder().decode(out), "out\n");
 * assert.equal(new TextDecoder().decode(err), "err\n");
 * assert.equal(code, 2);
 * ```
 */
export function getProcessOutputAndValue(
  executable: string,
  args: string[] = [],
  options: GetProcessOptions = {},
): Deferred<[stdout: Uint8Array, stderr: Uint8Array, exitCode: number]> {
  const d = new Deferred<[Uint8Array, Uint8Array, number]>();
  spawnCollecting(executable, args, options, (c, reason) => {
    const out = c.out.length === 0 ? new Uint8Array(0) : concat(c.out);
    const err = c.err.length === 0 ? new Uint8Array(0) : concat(c.err);
    const value = reason.value as ProcessDone | ProcessTerminated;
    if (value.exitCode === null) {
      const terminated = value as ProcessTerminated;
      terminated.stdout = out;
      terminated.stderr = err;
      d.errback(terminated);
    } else {
      d.callback([out, err, value.exitCode]);
    }
  }, d);
  return d;
}
