/**
 * The runner, in the spirit of Twisted's `twistd`: it loads a module that
 * exports an `application` (an {@linkcode IService}, usually an
 * `Application`) or a `makeService(options)` function, starts it on the
 * reactor, logs, and stops it gracefully on SIGINT or SIGTERM.
 *
 * ```sh
 * deno run --allow-net --allow-read application/twistd.ts [options] app.ts [app args...]
 * deno task twistd app.ts            # the same, with the task's permissions
 * ```
 *
 * - Logs go to stderr as text (or JSON lines with `--log-format json`, or to
 *   a file with `--logfile`), at `--log-level` and above (`info`).
 * - Shutdown: the services stop (listening ports close at once), then live
 *   connections get up to `--shutdown-timeout` seconds (10) to finish
 *   before they are closed; the process then exits 0.
 * - A module that fails to load, exports no service, or a service that
 *   fails to start (a port in use ...): one line on stderr, exit code 78
 *   (`EX_CONFIG`); the stack goes to the log at debug level. A usage error
 *   exits 64 (`EX_USAGE`).
 *
 * **Several processes, one host.** `--workers N` starts N child processes
 * running the same module, each listening on the same port with
 * `reusePort` (Linux `SO_REUSEPORT`: the kernel spreads connections over
 * them); `TCPServer`/`SSLServer` turn it on by themselves in a worker, and
 * `makeService` sees `options.reusePort`. The supervisor restarts a
 * worker that dies (at most `--max-restarts` times in all, logged), stops
 * them all on SIGINT/SIGTERM, and exits. A worker that cannot start (exit
 * 78) is not restarted: the supervisor stops and exits 78. This is where
 * it stops: one machine, processes that share nothing (no shared memory or
 * sessions; keep state in a database or another service). Beyond one
 * host, run this on several machines behind an ordinary TCP load balancer
 * (HAProxy, nginx `stream`, a cloud load balancer): nothing in the library
 * assumes a single process. Children get the supervisor's own Deno flags
 * and permissions (read from `/proc/self/cmdline` on Linux).
 *
 * @example Parse a runner command line
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTwistdArgs } from "@twisted-deno/core/twistd";
 *
 * const options = parseTwistdArgs(["--log-level", "debug", "app.ts", "--port", "0"]);
 * assert.equal(options.module, "app.ts");
 * assert.deepEqual(options.args, ["--port", "0"]);
 * ```
 *
 * @module
 */

import { maybeDeferred } from "../deferred/helpers.ts";
import { Deferred } from "../deferred/deferred.ts";
import { Failure } from "../deferred/failure.ts";
import {
  defaultLogObserver,
  globalLogPublisher,
  jsonFileLogObserver,
  LOG_LEVELS,
  type LogEvent,
  Logger,
  type LogLevel,
  type LogObserver,
  textFileLogObserver,
  writeStderr,
} from "../log/mod.ts";
import type { IListeningPort } from "../reactor/interfaces.ts";
import { reactor } from "../reactor/reactor.ts";
import type { IService, ServiceMakerOptions } from "./service.ts";
import type { PortService, RunnerOptions } from "./internet.ts";
import { supervise } from "./_supervisor.ts";

const log = new Logger("twistd");

/**
 * Exit status: the module or its service could not start (`EX_CONFIG`).
 * A `--workers` supervisor does not restart a worker that exits with it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EXIT_CANNOT_START, main } from "@twisted-deno/core/twistd";
 *
 * const missing = "data:text/javascript,export const nothing = 1;";
 * assert.equal(await main([missing]), EXIT_CANNOT_START);
 * ```
 */
export const EXIT_CANNOT_START = 78;
/**
 * Exit status: bad command-line arguments (`EX_USAGE`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EXIT_USAGE, main } from "@twisted-deno/core/twistd";
 *
 * assert.equal(await main(["--workers", "0", "app.ts"]), EXIT_USAGE);
 * ```
 */
export const EXIT_USAGE = 64;

/** The runner's settings, from its command line. */
export interface TwistdOptions {
  /** The application module (a path or a URL). */
  module: string;
  /** Arguments after the module, for `makeService`. */
  args: string[];
  /** `text` (default) or `json` lines. */
  logFormat: "text" | "json";
  /** A file to append the log to, instead of stderr. */
  logfile?: string;
  /** The least severe level logged (`info`). */
  logLevel: LogLevel;
  /** Processes to run (1: this one, no supervisor). */
  workers: number;
  /** Seconds live connections get at shutdown (10). */
  shutdownTimeout: number;
  /** Worker restarts allowed in all, under `--workers` (10). */
  maxRestarts: number;
  /** Set in a `--workers` child: its index (0-based). */
  workerIndex?: number;
  /** `--help` was asked for. */
  help: boolean;
}

/**
 * A bad command line; the runner prints the message and exits 64.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTwistdArgs, TwistdUsageError } from "@twisted-deno/core/twistd";
 *
 * assert.throws(() => parseTwistdArgs(["--workers", "zero", "app.ts"]), TwistdUsageError);
 * ```
 */
export class TwistdUsageError extends Error {
  /** The error's name, for `Failure.check("TwistdUsageError")` and logs. */
  override readonly name = "TwistdUsageError";
  /** Makes a TwistdUsageError. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * The `--help` text: every flag.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TWISTD_HELP } from "@twisted-deno/core/twistd";
 *
 * assert.match(TWISTD_HELP, /--workers N/);
 * ```
 */
export const TWISTD_HELP: string =
  `Usage: deno run <permissions> twistd.ts [options] <app module> [app args...]

Runs the service exported by <app module> (a path or URL): either
\`export const application\` (an IService, e.g. new Application("name")) or
\`export function makeService(options)\` returning one (or a Promise/Deferred
of one; options: { args, worker, workers, reusePort }). It starts when the
reactor runs and stops gracefully on SIGINT or SIGTERM.

Options:
  -h, --help                 Show this help and exit.
  --log-format text|json     Log as text lines (default) or JSON lines.
  --logfile PATH             Append the log to PATH instead of stderr ("-": stderr).
  --log-level LEVEL          Least severe level logged: debug, info (default),
                             warn, error, critical.
  --shutdown-timeout SECONDS Grace period for live connections at shutdown,
                             after the ports have closed (default 10).
  --workers N                Run N processes sharing the listening ports with
                             reusePort (Linux), restart any that dies, stop all
                             on SIGINT/SIGTERM (default 1: no supervisor).
  --max-restarts N           Under --workers, give up after N worker restarts
                             in all (default 10).

Exit status: 0 after a clean shutdown; 78 when the module cannot be loaded
or its service cannot start (one line on stderr; the stack is logged at
debug level); 64 for a bad command line; 1 when workers kept dying.
`;

const LEVELS = Object.keys(LOG_LEVELS) as LogLevel[];

function positiveNumber(flag: string, text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || text === "" || !Number.isFinite(n) || n < 0) {
    throw new TwistdUsageError(
      `${flag} needs a number >= 0, got ${JSON.stringify(text ?? "")}`,
    );
  }
  return n;
}

function wholeNumber(
  flag: string,
  text: string | undefined,
  min: number,
): number {
  const n = positiveNumber(flag, text);
  if (!Number.isInteger(n) || n < min) {
    throw new TwistdUsageError(
      `${flag} needs a whole number >= ${min}, got ${JSON.stringify(text)}`,
    );
  }
  return n;
}

/**
 * Parses the runner's command line: options, then the module, then the
 * module's own arguments.
 *
 * @throws {TwistdUsageError} On an unknown flag, a bad value or no module.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTwistdArgs } from "@twisted-deno/core/twistd";
 *
 * const o = parseTwistdArgs(["--workers=2", "--log-format", "json", "app.ts", "--port", "79"]);
 * assert.equal(o.workers, 2);
 * assert.equal(o.logFormat, "json");
 * assert.equal(o.module, "app.ts");
 * assert.deepEqual(o.args, ["--port", "79"]);
 * ```
 */
export function parseTwistdArgs(argv: string[]): TwistdOptions {
  const options: TwistdOptions = {
    module: "",
    args: [],
    logFormat: "text",
    logLevel: "info",
    workers: 1,
    shutdownTimeout: 10,
    maxRestarts: 10,
    help: false,
  };
  let i = 0;
  const value = (flag: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    const next = argv[++i];
    if (next === undefined) throw new TwistdUsageError(`${flag} needs a value`);
    return next;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    switch (flag) {
      case "-h":
      case "--help":
        options.help = true;
        break;
      case "--log-format": {
        const v = value(flag, inline);
        if (v !== "text" && v !== "json") {
          throw new TwistdUsageError(
            `--log-format must be text or json, got ${JSON.stringify(v)}`,
          );
        }
        options.logFormat = v;
        break;
      }
      case "--logfile": {
        const v = value(flag, inline);
        options.logfile = v === "-" ? undefined : v;
        break;
      }
      case "--log-level": {
        const v = value(flag, inline) as LogLevel;
        if (!LEVELS.includes(v)) {
          throw new TwistdUsageError(
            `--log-level must be one of ${LEVELS.join(", ")}, got ${
              JSON.stringify(v)
            }`,
          );
        }
        options.logLevel = v;
        break;
      }
      case "--workers":
        options.workers = wholeNumber(flag, value(flag, inline), 1);
        break;
      case "--max-restarts":
        options.maxRestarts = wholeNumber(flag, value(flag, inline), 0);
        break;
      case "--shutdown-timeout":
        options.shutdownTimeout = positiveNumber(flag, value(flag, inline));
        break;
      case "--worker-index": // internal: set by the supervisor
        options.workerIndex = wholeNumber(flag, value(flag, inline), 0);
        break;
      default:
        throw new TwistdUsageError(`unknown option ${flag}`);
    }
  }
  if (options.help) return options;
  const module = argv[i];
  if (module === undefined) {
    throw new TwistdUsageError("no application module given");
  }
  options.module = module;
  options.args = argv.slice(i + 1);
  return options;
}

// ------------------------------------------------------------- logging

function openLog(options: TwistdOptions): {
  write: (text: string) => void;
  close: () => void;
} {
  if (options.logfile === undefined) {
    return { write: writeStderr, close: () => {} };
  }
  const file = Deno.openSync(options.logfile, {
    append: true,
    create: true,
    write: true,
  });
  const encoder = new TextEncoder();
  return {
    write(text: string): void {
      const bytes = encoder.encode(text);
      let at = 0;
      while (at < bytes.length) at += file.writeSync(bytes.subarray(at));
    },
    close: () => file.close(),
  };
}

/** Installs the runner's log observer; returns its remover. */
function setUpLogging(options: TwistdOptions): () => void {
  const sink = openLog(options);
  const minLevel = options.logLevel;
  let observer: LogObserver;
  const worker = options.workerIndex;
  if (options.logFormat === "json") {
    const json = jsonFileLogObserver(sink.write, { minLevel });
    observer = worker === undefined
      ? json
      : (event: LogEvent) => json({ ...event, worker, pid: Deno.pid });
  } else {
    const tag = worker === undefined
      ? ""
      : `[worker ${worker} pid ${Deno.pid}] `;
    observer = textFileLogObserver((text) => sink.write(tag + text), {
      minLevel,
    });
  }
  globalLogPublisher.removeObserver(defaultLogObserver);
  globalLogPublisher.addObserver(observer);
  return () => {
    globalLogPublisher.removeObserver(observer);
    globalLogPublisher.addObserver(defaultLogObserver);
    sink.close();
  };
}

/** Prints the one line a failure gets; its stack goes to the debug log. */
function fatal(what: string, error: unknown): number {
  const failure = new Failure(error);
  const message = failure.getErrorMessage().split("\n")[0].trim();
  log.failure("{what}", failure, "debug", { what });
  writeStderr(`twistd: ${what}: ${message}\n`);
  return EXIT_CANNOT_START;
}

// ---------------------------------------------------- one process

function moduleUrl(spec: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(spec) && !/^[a-z]:[\\/]/i.test(spec)) {
    return spec; // already a URL (file:, https:, jsr: ...)
  }
  return new URL(spec, `file://${Deno.cwd()}/`).href;
}

function isService(value: unknown): value is IService {
  const s = value as IService | null;
  return typeof s === "object" && s !== null &&
    typeof s.startService === "function" &&
    typeof s.stopService === "function" &&
    typeof s.privilegedStartService === "function";
}

/** Every service in the tree, depth first. */
function* walk(service: IService): Generator<IService> {
  yield service;
  const children = service as unknown as Partial<Iterable<IService>>;
  if (typeof children[Symbol.iterator] === "function") {
    for (const child of children as Iterable<IService>) yield* walk(child);
  }
}

function describeAddress(port: IListeningPort): string {
  const a = port.getHost();
  return a.type === "UNIX" ? a.name : `${a.host}:${a.port}`;
}

/** Fires once every endpoint service listens; fails with the first error. */
function whenAllListening(root: IService): Promise<void> {
  const waits: Promise<void>[] = [];
  for (const service of walk(root)) {
    const name = service.name ?? service.constructor.name;
    const s = service as IService & {
      whenListening?: () => Deferred<IListeningPort>;
      port?: IListeningPort;
    };
    if (typeof s.whenListening === "function") {
      waits.push(
        s.whenListening().asPromise().then((port) => {
          log.info("{service} listening on {address}", {
            service: name,
            address: describeAddress(port),
          });
        }),
      );
    } else if (s.port !== undefined && typeof s.port?.getHost === "function") {
      log.info("{service} listening on {address}", {
        service: name,
        address: describeAddress(s.port),
      });
    }
  }
  return Promise.all(waits).then(() => {});
}

/** Live connections: tracked resources that have a peer. */
function liveConnections(): number {
  let n = 0;
  for (const r of reactor.getTrackedResources()) {
    if (typeof (r as { getPeer?: unknown }).getPeer === "function") n++;
  }
  return n;
}

/** Waits until no connection is left, or `seconds` have passed. */
function graceForConnections(seconds: number): Deferred<void> {
  const done = new Deferred<void>();
  const open = liveConnections();
  if (open === 0) {
    done.callback(undefined);
    return done;
  }
  log.info("Waiting up to {seconds} s for {open} live connection(s)", {
    seconds,
    open,
  });
  const deadline = reactor.seconds() + seconds;
  const check = (): void => {
    const left = liveConnections();
    if (left === 0) {
      log.info("All connections closed");
      done.callback(undefined);
    } else if (reactor.seconds() >= deadline) {
      log.info("Closing {left} connection(s) still open after {seconds} s", {
        left,
        seconds,
      });
      done.callback(undefined);
    } else {
      reactor.callLater(Math.min(0.05, deadline - reactor.seconds()), check);
    }
  };
  reactor.callLater(0.05, check);
  return done;
}

async function runOne(options: TwistdOptions): Promise<number> {
  const worker = options.workerIndex;
  const spec = options.module;
  log.info("Loading {module}", { module: spec });
  let mod: Record<string, unknown>;
  try {
    mod = await import(moduleUrl(spec));
  } catch (error) {
    return fatal(`cannot load ${spec}`, error);
  }
  let service: unknown;
  if (typeof mod.makeService === "function") {
    const makerOptions: ServiceMakerOptions = {
      args: options.args,
      worker: worker ?? 0,
      workers: options.workers,
      reusePort: worker !== undefined,
    };
    try {
      service = await (mod.makeService as (o: ServiceMakerOptions) => unknown)(
        makerOptions,
      );
    } catch (error) {
      return fatal(`makeService of ${spec} failed`, error);
    }
  } else if ("application" in mod) {
    service = mod.application;
  } else {
    return fatal(
      `cannot run ${spec}`,
      new TypeError(
        'it exports neither "application" nor "makeService(options)"',
      ),
    );
  }
  if (!isService(service)) {
    return fatal(
      `cannot run ${spec}`,
      new TypeError(
        "its application is not a service (no startService/stopService)",
      ),
    );
  }
  const app = service;
  const runner: RunnerOptions = { reusePort: worker !== undefined };
  for (const child of walk(app)) {
    const aware = child as Partial<Pick<PortService, "applyRunnerOptions">>;
    if (typeof aware.applyRunnerOptions === "function") {
      aware.applyRunnerOptions(runner);
    }
  }
  try {
    app.privilegedStartService();
  } catch (error) {
    try {
      await maybeDeferred(() => app.stopService());
    } catch { /* best effort: we are failing anyway */ }
    return fatal(`cannot start ${spec}`, error);
  }
  let exitCode = 0;
  reactor.addSystemEventTrigger(
    "before",
    "shutdown",
    () =>
      maybeDeferred(() => (app.running ? app.stopService() : undefined))
        .addErrback((failure) => {
          log.failure("Error stopping the application", failure, "error");
        })
        .addCallback(() => graceForConnections(options.shutdownTimeout)),
  );
  reactor.callWhenRunning(() => {
    try {
      app.startService();
    } catch (error) {
      exitCode = fatal(`cannot start ${spec}`, error);
      reactor.stop();
      return;
    }
    whenAllListening(app).then(
      () => {
        log.info("{name} started (pid {pid})", {
          name: app.name ?? spec,
          pid: Deno.pid,
        });
      },
      (error) => {
        exitCode = fatal(`cannot start ${spec}`, error);
        if (reactor.running) reactor.stop();
      },
    );
  });
  await reactor.run();
  if (exitCode === 0) log.info("Stopped");
  return exitCode;
}

// ---------------------------------------------------- supervisor

function childArgs(options: TwistdOptions, index: number): string[] {
  const args = [
    `--worker-index=${index}`,
    `--workers=${options.workers}`,
    `--log-format=${options.logFormat}`,
    `--log-level=${options.logLevel}`,
    `--shutdown-timeout=${options.shutdownTimeout}`,
  ];
  if (options.logfile !== undefined) args.push(`--logfile=${options.logfile}`);
  return [...args, "--", options.module, ...options.args];
}

/**
 * Runs the runner with `argv` (its command-line arguments) and returns
 * the exit status; `twistd.ts` run as a script exits with it.
 *
 * @example Help and usage errors
 * ```ts
 * import assert from "node:assert/strict";
 * import { EXIT_USAGE, main } from "@twisted-deno/core/twistd";
 *
 * assert.equal(await main(["--bogus"]), EXIT_USAGE);
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  let options: TwistdOptions;
  try {
    options = parseTwistdArgs(argv);
  } catch (error) {
    if (!(error instanceof TwistdUsageError)) throw error;
    writeStderr(`twistd: ${error.message}\nTry --help for the options.\n`);
    return EXIT_USAGE;
  }
  if (options.help) {
    const bytes = new TextEncoder().encode(TWISTD_HELP);
    let at = 0;
    while (at < bytes.length) at += Deno.stdout.writeSync(bytes.subarray(at));
    return 0;
  }
  let restoreLogging: () => void;
  try {
    restoreLogging = setUpLogging(options);
  } catch (error) {
    writeStderr(
      `twistd: cannot open the log file ${options.logfile}: ${
        error instanceof Error ? error.message : String(error)
      }\n`,
    );
    return EXIT_CANNOT_START;
  }
  try {
    return options.workers > 1 && options.workerIndex === undefined
      ? await supervise({
        ...options,
        script: new URL(import.meta.url),
        childArgs: (index) => childArgs(options, index),
        givesUp: (code) => code === EXIT_CANNOT_START || code === EXIT_USAGE,
        fatal,
      })
      : await runOne(options);
  } finally {
    restoreLogging();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
