/**
 * Child processes driven by a process protocol: {@linkcode Process} (the
 * transport `reactor.spawnProcess` returns) and the end reasons
 * {@linkcode ProcessDone} and {@linkcode ProcessTerminated}. The helpers of
 * Twisted's `utils` (`getProcessOutput` and friends) are in
 * `process_utils.ts`.
 *
 * Built on `Deno.Command` with all three stdio streams piped (so it needs
 * `--allow-run`). The protocol sees, as in Twisted: `makeConnection`, then
 * `childDataReceived(1 | 2, bytes)` as output arrives, `childConnectionLost`
 * for each pipe as it closes, `processExited` when the process exits, and
 * `processEnded` last, once the process has exited *and* all its output has
 * been delivered. Differences from Twisted: `args[0]` is the program's name
 * by convention but Deno cannot set a child's `argv[0]`, so it is not
 * passed on; a bare executable name is looked up on `PATH` (Twisted wants
 * a path); only fds 0, 1 and 2 exist; a signal is reported by name
 * (`"SIGTERM"`), not number.
 *
 * @module
 */

import { Failure } from "../deferred/failure.ts";
import { Logger } from "../log/mod.ts";
import type {
  IProcessProtocol,
  IProcessTransport,
  IProducer,
  IPushProducer,
  IReactorResources,
  IReactorTime,
  ReactorResource,
  SpawnProcessOptions,
} from "./interfaces.ts";

const log = new Logger("process");
const encoder = new TextEncoder();

/** Flow control: a streaming producer writing to stdin pauses above this. */
const HIGH_WATER = 64 * 1024;

/**
 * The reason given to `processExited`/`processEnded` when the process
 * exited with code 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProcessDone } from "@twisted-deno/core/reactor";
 *
 * const done = new ProcessDone();
 * assert.equal(done.exitCode, 0);
 * assert.equal(done.message, "Process ended with exit code 0");
 * ```
 */
export class ProcessDone extends Error {
  /** The error's name, for `Failure.check("ProcessDone")` and logs. */
  override readonly name = "ProcessDone";
  /** Always 0. */
  readonly exitCode = 0;
  /** Always null. */
  readonly signal = null;
  /** Makes a ProcessDone. */
  constructor(options?: ErrorOptions) {
    super("Process ended with exit code 0", options);
  }
}

/**
 * The reason given to `processExited`/`processEnded` when the process
 * exited with a non-zero code or was killed by a signal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProcessTerminated } from "@twisted-deno/core/reactor";
 *
 * assert.equal(new ProcessTerminated(3).message, "Process ended with exit code 3");
 * const killed = new ProcessTerminated(null, "SIGTERM");
 * assert.equal(killed.message, "Process ended by signal SIGTERM");
 * assert.equal(killed.exitCode, null);
 * ```
 */
export class ProcessTerminated extends Error {
  /** The error's name, for `Failure.check("ProcessTerminated")` and logs. */
  override readonly name = "ProcessTerminated";
  /** Output so far, when {@linkcode getProcessOutputAndValue} fails. */
  stdout?: Uint8Array;
  /** Error output so far, when {@linkcode getProcessOutputAndValue} fails. */
  stderr?: Uint8Array;
  /**
   * Makes a ProcessTerminated.
   *
   * @param exitCode The exit code, or null when a signal ended the process.
   * @param signal The signal's name (`"SIGTERM"`), or null.
   */
  constructor(
    readonly exitCode: number | null,
    readonly signal: string | null = null,
    options?: ErrorOptions,
  ) {
    super(
      signal !== null
        ? `Process ended by signal ${signal}`
        : `Process ended with exit code ${exitCode}`,
      options,
    );
  }
}

/**
 * Thrown by `signalProcess()` once the process has exited.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProcessExitedAlready } from "@twisted-deno/core/reactor";
 *
 * assert.match(new ProcessExitedAlready(42, "TERM").message, /process 42 has already exited/);
 * ```
 */
export class ProcessExitedAlready extends Error {
  /** The error's name, for `Failure.check("ProcessExitedAlready")` and logs. */
  override readonly name = "ProcessExitedAlready";
  /**
   * Makes a ProcessExitedAlready.
   *
   * @param pid The process id it had.
   * @param signal The signal that could not be sent.
   */
  constructor(
    readonly pid: number | undefined,
    readonly signal: string,
    options?: ErrorOptions,
  ) {
    super(
      `Cannot send ${signal}: process ${pid ?? "(unknown)"} has already exited`,
      options,
    );
  }
}

const SIGNALS: Record<string, Deno.Signal> = {
  TERM: "SIGTERM",
  KILL: "SIGKILL",
  INT: "SIGINT",
  HUP: "SIGHUP",
  QUIT: "SIGQUIT",
  USR1: "SIGUSR1",
  USR2: "SIGUSR2",
  STOP: "SIGSTOP",
  CONT: "SIGCONT",
};

/** The reactor roles a process uses (the global reactor by default). */
type ProcessReactor = IReactorResources & Pick<IReactorTime, "callLater">;

/** A stdout or stderr reader, for pausing and closing. */
interface OutPipe {
  fd: 1 | 2;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  open: boolean;
}

/**
 * A running child process, as its protocol's transport. Made by
 * `reactor.spawnProcess(protocol, executable, args, { env, path })`.
 *
 * - `write()` queues bytes for stdin; they are written in order by one
 *   flush loop. A streaming producer registered with `registerProducer` is
 *   paused while more than 64 KiB wait, and resumed once they drain.
 * - `closeStdin()` closes stdin after the queued bytes are written.
 * - `pauseProducing()`/`resumeProducing()` stop and restart reading the
 *   child's output (it then blocks when its pipe buffer fills).
 * - `signalProcess("TERM")` sends a signal; `loseConnection()` closes all
 *   three pipes.
 *
 * At reactor shutdown a live child gets SIGTERM, then SIGKILL
 * `Process.shutdownGrace` seconds later (3), and is reaped.
 *
 * @example Talk to `cat`
 * ```ts
 * import assert from "node:assert/strict";
 * import { Deferred, type Failure } from "@twisted-deno/core/deferred";
 * import { ProcessProtocol } from "@twisted-deno/core/protocols";
 * import { ProcessDone, reactor } from "@twisted-deno/core/reactor";
 *
 * class Cat extends ProcessProtocol {
 *   out = "";
 *   ended = new Deferred<Error>();
 *   override connectionMade(): void {
 *     this.transport!.write("meow");
 *     this.transport!.closeStdin();
 *   }
 *   override outReceived(data: Uint8Array): void {
 *     this.out += new TextDecoder().decode(data);
 *   }
 *   override processEnded(reason: Failure): void {
 *     this.ended.callback(reason.value as Error);
 *   }
 * }
 * const cat = new Cat();
 * reactor.spawnProcess(cat, "cat", ["cat"]);
 * const reason = await cat.ended;
 * assert.equal(cat.out, "meow");
 * assert.ok(reason instanceof ProcessDone);
 * ```
 */
export class Process implements IProcessTransport, ReactorResource {
  /**
   * Seconds between SIGTERM and SIGKILL when the reactor shuts down with
   * the process still running (3 by default).
   */
  static shutdownGrace = 3;
  /** The protocol driven by this process. */
  readonly proto: IProcessProtocol;
  /** The executable as given. */
  readonly executable: string;
  /** The arguments as given (`args[0]` is the program's name). */
  readonly args: readonly string[];
  #reactor: ProcessReactor;
  #child: Deno.ChildProcess;
  #pid: number | undefined;
  #status: Deno.CommandStatus | undefined;
  #exitReason: Failure | undefined;
  #ended = false;
  #out: OutPipe;
  #err: OutPipe;
  #paused = false;
  #resumeWaiters: (() => void)[] = [];
  #lostFds = new Set<number>();
  // stdin
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #stdinOpen = true;
  #stdinClosing = false;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #flushing = false;
  #producer: IProducer | undefined;
  #streaming = false;
  #producerPaused = false;
  #endedWaiters: (() => void)[] = [];
  #killTimer: { cancel(): void; active(): boolean } | undefined;

  /**
   * Spawns the process and connects `protocol` (`makeConnection` runs
   * before this returns). Prefer `reactor.spawnProcess`.
   *
   * @throws {Deno.errors.NotFound} When the executable cannot be found.
   * @throws {TypeError} When `args` is not an array of strings.
   */
  constructor(
    reactor: ProcessReactor,
    protocol: IProcessProtocol,
    executable: string,
    args: string[],
    options?: SpawnProcessOptions,
  ) {
    options ??= {};
    if (typeof executable !== "string" || executable === "") {
      throw new TypeError(
        `Cannot spawn a process: the executable must be a non-empty string, got ${
          String(executable)
        }`,
      );
    }
    if (!Array.isArray(args) || args.some((a) => typeof a !== "string")) {
      throw new TypeError(
        `Cannot spawn ${executable}: args must be an array of strings (args[0] is the program's name)`,
      );
    }
    this.proto = protocol;
    this.executable = executable;
    this.args = [...args];
    this.#reactor = reactor;
    const env = options.env;
    try {
      this.#child = new Deno.Command(executable, {
        // Deno cannot set argv[0]: args[0] (the program's name) is dropped.
        args: args.slice(1),
        env,
        clearEnv: env !== undefined,
        cwd: options.path,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        const where = executable.includes("/")
          ? "no such file"
          : "not found on PATH";
        throw new Deno.errors.NotFound(
          `Cannot spawn ${JSON.stringify(executable)}: ${where}${
            options.path !== undefined ? ` (cwd ${options.path})` : ""
          }`,
          { cause: error },
        );
      }
      throw error;
    }
    this.#pid = this.#child.pid;
    this.#writer = this.#child.stdin.getWriter();
    this.#out = { fd: 1, reader: this.#child.stdout.getReader(), open: true };
    this.#err = { fd: 2, reader: this.#child.stderr.getReader(), open: true };
    reactor.trackResource(this);
    this.#child.status.then((status) => this.#exited(status));
    try {
      protocol.makeConnection(this);
    } catch (error) {
      log.failure(
        "Error in {protocol}.makeConnection",
        new Failure(error),
        "error",
        { protocol: protocol.constructor.name },
      );
    }
    this.#read(this.#out);
    this.#read(this.#err);
  }

  /** The process id (undefined once the process has ended). */
  get pid(): number | undefined {
    return this.#pid;
  }

  /** The exit status, once the process has exited. */
  get status(): Deno.CommandStatus | undefined {
    return this.#status;
  }

  // ------------------------------------------------------------ output

  async #read(pipe: OutPipe): Promise<void> {
    try {
      while (pipe.open) {
        if (this.#paused) {
          await new Promise<void>((resolve) =>
            this.#resumeWaiters.push(resolve)
          );
          continue; // re-check: the pipe may have been closed meanwhile
        }
        const { value, done } = await pipe.reader.read();
        if (done || !pipe.open) break;
        // A read already under way when we paused: hold its bytes too.
        while (this.#paused && pipe.open) {
          await new Promise<void>((resolve) =>
            this.#resumeWaiters.push(resolve)
          );
        }
        if (!pipe.open) break;
        this.#call(
          "childDataReceived",
          () => this.proto.childDataReceived(pipe.fd, value),
        );
      }
    } catch (error) {
      if (pipe.open) {
        log.failure(
          "Error reading fd {fd} of process {pid}",
          new Failure(error),
          "error",
          { fd: pipe.fd, pid: this.#pid },
        );
      }
    }
    this.#closeOut(pipe);
  }

  #closeOut(pipe: OutPipe): void {
    pipe.open = false;
    // Cancelling releases the pipe (a child still writing gets SIGPIPE) and
    // ends a pending read; a second cancel is harmless.
    pipe.reader.cancel().catch(() => {});
    this.#fdLost(pipe.fd);
  }

  #wakeReaders(): void {
    for (const wake of this.#resumeWaiters.splice(0)) wake();
  }

  #fdLost(fd: number): void {
    if (this.#lostFds.has(fd)) return;
    this.#lostFds.add(fd);
    this.#call(
      "childConnectionLost",
      () => this.proto.childConnectionLost(fd),
    );
    this.#maybeEnded();
  }

  /** Stops reading the child's output until `resumeProducing()`. */
  pauseProducing(): void {
    this.#paused = true;
  }

  /** Reads the child's output again. */
  resumeProducing(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#wakeReaders();
  }

  /** Closes all pipes, as `loseConnection()`. */
  stopProducing(): void {
    this.loseConnection();
  }

  /** Stops reading stdout; the protocol gets `childConnectionLost(1)`. */
  closeStdout(): void {
    if (this.#out.open) this.#closeOutNow(this.#out);
  }

  /** Stops reading stderr; the protocol gets `childConnectionLost(2)`. */
  closeStderr(): void {
    if (this.#err.open) this.#closeOutNow(this.#err);
  }

  #closeOutNow(pipe: OutPipe): void {
    this.#closeOut(pipe);
    this.#wakeReaders(); // a read loop parked on a pause sees the close
  }

  /** Closes fd 0, 1 or 2 of the child. */
  closeChildFD(fd: number): void {
    if (fd === 0) this.closeStdin();
    else if (fd === 1) this.closeStdout();
    else if (fd === 2) this.closeStderr();
    else {
      throw new RangeError(
        `Cannot close child fd ${fd}: only 0, 1 and 2 are connected`,
      );
    }
  }

  // ------------------------------------------------------------- input

  /** Queues bytes (a string is UTF-8 encoded) for the child's stdin. */
  write(data: Uint8Array | string): void {
    if (!this.#stdinOpen || this.#stdinClosing) return;
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (bytes.length === 0) return;
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    if (
      this.#producer !== undefined && this.#streaming &&
      !this.#producerPaused && this.#queued > HIGH_WATER
    ) {
      this.#producerPaused = true;
      (this.#producer as IPushProducer).pauseProducing();
    }
    this.#flush();
  }

  /** Queues several chunks for stdin. */
  writeSequence(chunks: Iterable<Uint8Array | string>): void {
    for (const chunk of chunks) this.write(chunk);
  }

  /** Bytes queued for stdin and not yet written. */
  get bufferSize(): number {
    return this.#queued;
  }

  /**
   * Closes stdin once the queued bytes are written; the protocol then gets
   * `childConnectionLost(0)`.
   */
  closeStdin(): void {
    if (!this.#stdinOpen || this.#stdinClosing) return;
    this.#stdinClosing = true;
    this.#flush();
  }

  /**
   * Attaches a producer that writes to stdin. A streaming (push) producer
   * is paused above 64 KiB queued and resumed when the queue drains; a pull
   * producer is asked for more each time it drains.
   *
   * @throws {Error} When a producer is already registered.
   */
  registerProducer(producer: IProducer, streaming: boolean): void {
    if (this.#producer !== undefined) {
      throw new Error(
        "Cannot register a producer: this process already has one; unregisterProducer() first",
      );
    }
    this.#producer = producer;
    this.#streaming = streaming;
    this.#producerPaused = false;
    if (!this.#stdinOpen || this.#stdinClosing) {
      producer.stopProducing();
      return;
    }
    if (!streaming) producer.resumeProducing();
  }

  /** Detaches the producer. */
  unregisterProducer(): void {
    this.#producer = undefined;
    this.#producerPaused = false;
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#stdinOpen) {
        if (this.#queue.length === 0) {
          if (this.#stdinClosing) {
            // The child may have closed stdin first: then it is closed already.
            await this.#writer.close().catch(() => {});
            this.#stdinLost();
            return;
          }
          if (this.#producer !== undefined && !this.#streaming) {
            // A pull producer writes (synchronously or later) when asked.
            this.#producer.resumeProducing();
            // It wrote or closed: go on. Else it writes later, and that
            // write starts the loop again.
            if (this.#queue.length > 0 || this.#stdinClosing) continue;
          }
          return;
        }
        // Coalesce what is queued into one write.
        let chunk: Uint8Array;
        if (this.#queue.length === 1) {
          chunk = this.#queue[0];
        } else {
          chunk = new Uint8Array(this.#queued);
          let at = 0;
          for (const part of this.#queue) {
            chunk.set(part, at);
            at += part.length;
          }
        }
        this.#queue = [];
        await this.#writer.write(chunk);
        this.#queued -= chunk.length;
        if (
          this.#producerPaused && this.#queued <= HIGH_WATER / 2 &&
          this.#producer !== undefined
        ) {
          this.#producerPaused = false;
          (this.#producer as IPushProducer).resumeProducing();
        }
      }
    } catch (error) {
      // The child closed its stdin (or exited): what is queued is lost.
      if (
        !(error instanceof Deno.errors.BrokenPipe) && this.#status === undefined
      ) {
        log.failure(
          "Error writing to process {pid}",
          new Failure(error),
          "warn",
          { pid: this.#pid },
        );
      }
      // The write failed (logged above unless the child closed its stdin);
      // aborting the broken pipe may reject again, with nothing new to say.
      this.#writer.abort().catch(() => {});
      this.#stdinLost();
    } finally {
      this.#flushing = false;
    }
  }

  #stdinLost(): void {
    if (!this.#stdinOpen) return;
    this.#stdinOpen = false;
    this.#queue = [];
    this.#queued = 0;
    const producer = this.#producer;
    this.#producer = undefined;
    producer?.stopProducing();
    this.#fdLost(0);
  }

  // ---------------------------------------------------------- lifecycle

  /**
   * Sends a signal to the process.
   *
   * @param signal `"TERM"`, `"KILL"`, `"INT"`, `"HUP"`, `"QUIT"` (or
   *   `"USR1"`, `"USR2"`, `"STOP"`, `"CONT"`; the `SIG` prefix is optional).
   * @throws {ProcessExitedAlready} When the process has exited.
   * @throws {TypeError} For an unknown signal name.
   */
  signalProcess(signal: "TERM" | "KILL" | "INT" | "HUP" | "QUIT"): void {
    const name = String(signal).replace(/^SIG/, "");
    const sig = SIGNALS[name];
    if (sig === undefined) {
      throw new TypeError(
        `Cannot send signal ${JSON.stringify(signal)}: use one of ${
          Object.keys(SIGNALS).join(", ")
        }`,
      );
    }
    if (this.#status !== undefined) {
      throw new ProcessExitedAlready(this.#child.pid, name);
    }
    try {
      this.#child.kill(sig);
    } catch (error) {
      // The child exited between the check and the kill.
      throw new ProcessExitedAlready(this.#child.pid, name, { cause: error });
    }
  }

  /** Closes stdin (after flushing), stdout and stderr. */
  loseConnection(): void {
    this.closeStdin();
    this.closeStdout();
    this.closeStderr();
  }

  #exited(status: Deno.CommandStatus): void {
    this.#status = status;
    this.#killTimer?.cancel();
    this.#killTimer = undefined;
    const signal = status.signal ?? null;
    const error = status.code === 0 && signal === null
      ? new ProcessDone()
      : new ProcessTerminated(signal === null ? status.code : null, signal);
    this.#exitReason = new Failure(error);
    this.#call(
      "processExited",
      () => this.proto.processExited(this.#exitReason!),
    );
    // Nobody reads the child's stdin any more.
    if (this.#stdinOpen) {
      this.#queue = [];
      this.#queued = 0;
      if (!this.#flushing) {
        // A child that exited has closed its stdin already: nothing to report.
        this.#writer.close().catch(() => {});
        this.#stdinLost();
      } else {
        this.#stdinClosing = true;
      }
    }
    this.#maybeEnded();
  }

  #maybeEnded(): void {
    if (this.#ended || this.#exitReason === undefined) return;
    if (this.#lostFds.size < 3) return;
    this.#ended = true;
    this.#pid = undefined;
    this.#reactor.untrackResource(this);
    this.#call(
      "processEnded",
      () => this.proto.processEnded(this.#exitReason!),
    );
    for (const waiter of this.#endedWaiters.splice(0)) waiter();
  }

  /**
   * Part of {@linkcode ReactorResource}: at reactor shutdown, SIGTERM a
   * live child, SIGKILL it `Process.shutdownGrace` seconds later, and wait
   * until it ends.
   */
  shutdown(): Promise<void> {
    if (this.#ended) return Promise.resolve();
    const ended = new Promise<void>((resolve) =>
      this.#endedWaiters.push(resolve)
    );
    if (this.#status === undefined) {
      try {
        this.#child.kill("SIGTERM");
        this.#killTimer = this.#reactor.callLater(Process.shutdownGrace, () => {
          this.#killTimer = undefined;
          if (this.#status === undefined) {
            try {
              this.#child.kill("SIGKILL");
            } catch { /* it exited meanwhile */ }
          }
        });
      } catch { /* it exited meanwhile */ }
    }
    this.loseConnection();
    return ended;
  }

  #call(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      log.failure(
        "Error in {protocol}.{method} (process {pid})",
        new Failure(error),
        "error",
        {
          protocol: this.proto.constructor.name,
          method: what,
          pid: this.#child.pid,
        },
      );
    }
  }
}
