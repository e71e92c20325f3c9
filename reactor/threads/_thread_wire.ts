// Private: the messages between the thread pool (main thread) and its
// workers, and how errors cross between them. Workers share no objects with
// the main thread: everything here is structured-cloned.

/** An error (or other thrown value) as it travels between threads. */
export type WireError =
  | {
    kind: "error";
    name: string;
    message: string;
    stack?: string;
    cause?: WireError;
  }
  | { kind: "value"; value: unknown };

/** One job, as sent to a worker. */
export interface JobMessage {
  id: number;
  /**
   * The job's cell in the worker's state ring: the worker marks it
   * {@linkcode JOB_STARTED} before calling the export, and skips the job if
   * the pool marked it {@linkcode JOB_CANCELLED} first.
   */
  r: number;
  url: string;
  name: string;
  args: unknown[];
}

/**
 * Main thread to worker, first message: the state ring, one Int32 cell per
 * job the worker may hold (its pipeline window).
 */
export interface InitMessage {
  t: "init";
  ring: SharedArrayBuffer;
}

/** Main thread to worker: jobs to run, in order, one at a time. */
export interface RunMessage {
  t: "run";
  jobs: JobMessage[];
}

/** A ring cell: the job is waiting in the worker. */
export const JOB_PENDING = 0;
/** A ring cell: the worker has called (or is calling) the job. */
export const JOB_STARTED = 1;
/** A ring cell: the pool took the job back before it started. */
export const JOB_CANCELLED = 2;

/** A job's outcome; `skip` acknowledges a job taken back before it ran. */
export type Outcome =
  | { t: "done"; id: number; ok: true; value: unknown }
  | { t: "done"; id: number; ok: false; error: WireError }
  | { t: "skip"; id: number };

/** Worker to main thread: outcomes, in the order the jobs were sent. */
export interface DoneMessage {
  t: "dones";
  list: Outcome[];
}

/** Worker to main thread: `callFromThread` (no answer expected). */
export interface CallMessage {
  t: "call";
  url: string;
  name: string;
  args: unknown[];
}

/**
 * Worker to main thread: `blockingCallFromThread`. The main thread posts the
 * outcome on `port`, then sets `flag[0]` to 1 and notifies; the worker is
 * blocked in `Atomics.wait` on it meanwhile.
 */
export interface BlockMessage {
  t: "block";
  url: string;
  name: string;
  args: unknown[];
  flag: SharedArrayBuffer;
  port: { postMessage(message: unknown): void; close(): void };
}

/** Main thread to worker, on a `BlockMessage`'s port. */
export type ReplyMessage =
  | { ok: true; value: unknown }
  | { ok: false; error: WireError };

/** Worker to main thread: an uncaught error; the worker exits next. */
export interface CrashMessage {
  t: "crash";
  error: WireError;
}

/** Anything a worker posts. */
export type FromWorker =
  | DoneMessage
  | CallMessage
  | BlockMessage
  | CrashMessage;

/** The global slot where a pool worker publishes its worker-side API. */
export const WORKER_API = Symbol.for("@twisted-deno/core/thread-worker");

/** What a pool worker publishes under {@linkcode WORKER_API}. */
export interface WorkerApi {
  callFromThread(url: string, name: string, args: unknown[]): void;
  blockingCallFromThread(url: string, name: string, args: unknown[]): unknown;
}

/** Describes a thrown value so it survives structured cloning. */
export function describeError(error: unknown, depth = 0): WireError {
  if (error instanceof Error) {
    const wire: WireError = {
      kind: "error",
      name: error.name,
      message: error.message,
      stack: error.stack,
    };
    if (error.cause !== undefined && depth < 8) {
      wire.cause = describeError(error.cause, depth + 1);
    }
    return wire;
  }
  try {
    structuredClone(error);
    return { kind: "value", value: error };
  } catch {
    return { kind: "value", value: String(error) };
  }
}

const builtins: Record<string, ErrorConstructor> = {
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
};

/**
 * Rebuilds a thrown value on this side. A built-in error class comes back
 * as itself; another class as an `Error` carrying the remote `name` (so
 * `failure.check("MyError")` still matches by name). The remote message
 * and stack are kept as they were.
 */
export function reviveError(wire: WireError): unknown {
  if (wire.kind === "value") return wire.value;
  const Ctor = builtins[wire.name] ?? Error;
  const error = wire.cause === undefined
    ? new Ctor(wire.message)
    : new Ctor(wire.message, { cause: reviveError(wire.cause) });
  if (error.name !== wire.name) {
    Object.defineProperty(error, "name", {
      value: wire.name,
      configurable: true,
      writable: true,
    });
  }
  if (wire.stack !== undefined) {
    Object.defineProperty(error, "stack", {
      value: wire.stack,
      configurable: true,
      writable: true,
    });
  }
  return error;
}

/**
 * Checks a module URL given to the pool: workers cannot resolve a path
 * relative to the caller, so it must be absolute (a `URL`, `file:`,
 * `https:`, `data:` ...) or a bare specifier from the import map.
 */
export function moduleHref(moduleUrl: string | URL, what: string): string {
  if (moduleUrl instanceof URL) return moduleUrl.href;
  if (typeof moduleUrl !== "string" || moduleUrl === "") {
    throw new TypeError(
      `Cannot ${what}: the module URL must be a URL or a non-empty string, got ${
        String(moduleUrl)
      }`,
    );
  }
  if (/^\.{0,2}\//.test(moduleUrl)) {
    throw new TypeError(
      `Cannot ${what}: ${
        JSON.stringify(moduleUrl)
      } is a path, and a worker cannot tell what it is relative to; pass new URL(${
        JSON.stringify(moduleUrl)
      }, import.meta.url)`,
    );
  }
  return moduleUrl;
}

/** Imports `url` and returns its export `name`, checked to be a function. */
export async function loadExport(
  url: string,
  name: string,
  cache?: Map<string, Record<string, unknown>>,
): Promise<(...args: unknown[]) => unknown> {
  let mod = cache?.get(url);
  if (mod === undefined) {
    mod = await import(url) as Record<string, unknown>;
    cache?.set(url, mod);
  }
  return exportOf(mod, url, name);
}

/** The export `name` of `mod`, checked to be a function. */
export function exportOf(
  mod: Record<string, unknown>,
  url: string,
  name: string,
): (...args: unknown[]) => unknown {
  const fn = mod[name];
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot call ${name} of ${url}: ${
        name in mod ? `it is a ${typeof fn}, not a function` : "no such export"
      }`,
    );
  }
  return fn as (...args: unknown[]) => unknown;
}

/** Whether every argument is a primitive, so cloning it changes nothing. */
export function allPrimitive(args: unknown[]): boolean {
  for (const arg of args) {
    if (
      arg !== null && (typeof arg === "object" || typeof arg === "function")
    ) {
      return false;
    }
  }
  return true;
}

/** The failure of a job whose arguments cannot be structured-cloned. */
export function cannotPass(exportName: string, error: unknown): TypeError {
  return new TypeError(
    `Cannot pass the arguments of ${exportName} to a thread: ${
      error instanceof Error ? error.message : String(error)
    }`,
    { cause: error },
  );
}
