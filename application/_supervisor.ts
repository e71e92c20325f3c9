// Private: the runner's `--workers N` supervisor. It starts N copies of the
// runner script with the same Deno flags (read from /proc where allowed),
// restarts a worker that dies (with back-off, up to a limit), and on SIGINT
// or SIGTERM stops them all: SIGTERM, then SIGKILL after the grace period.

import { Logger } from "../log/mod.ts";

const log = new Logger("twistd");

/** What `supervise` needs of the runner. */
export interface SuperviseOptions {
  /** The application module, for the log. */
  module: string;
  /** How many workers to keep running. */
  workers: number;
  /** Restarts allowed in all before giving up. */
  maxRestarts: number;
  /** Seconds a worker gets to stop before SIGKILL (plus 5). */
  shutdownTimeout: number;
  /** The runner script the workers run. */
  script: URL;
  /** The runner arguments of worker `index`. */
  childArgs: (index: number) => string[];
  /** Whether a worker's exit code means "do not restart, stop all". */
  givesUp: (code: number) => boolean;
  /** Reports a fatal error and returns the exit code for it. */
  fatal: (what: string, error: unknown) => number;
}

/** This process's argv as the kernel has it (Linux), or undefined. */
function readCmdline(): string[] | undefined {
  const path = `/proc/${Deno.pid}/cmdline`;
  let raw: string | undefined;
  try {
    raw = Deno.readTextFileSync(path); // Deno allows this only under -A
  } catch {
    try {
      // Reading /proc through a child needs only --allow-run (which the
      // supervisor has: it starts the workers).
      const out = new Deno.Command("cat", {
        args: [path],
        stdout: "piped",
        stderr: "null",
      }).outputSync();
      if (out.success) raw = new TextDecoder().decode(out.stdout);
    } catch { /* no cat, or not allowed to run it */ }
  }
  if (raw === undefined || raw === "") return undefined;
  const argv = raw.split("\0");
  if (argv.at(-1) === "") argv.pop();
  return argv;
}

/**
 * The Deno flags (permissions, config ...) and script this process was
 * started with, so that workers get exactly the same.
 */
function ownCommand(here: URL): { flags: string[]; script: string } {
  const script = here.protocol === "file:"
    ? decodeURIComponent(here.pathname)
    : here.href;
  const argv = readCmdline();
  if (argv !== undefined && argv.length > Deno.args.length + 1) {
    const prefix = argv.slice(0, argv.length - Deno.args.length);
    const flags = prefix.slice(1, -1);
    if (flags[0] === "run") flags.shift();
    return { flags, script: prefix.at(-1)! };
  }
  // Not Linux, or not allowed to look: pass on the broad grants we have.
  const flags: string[] = [];
  for (
    const name of ["read", "write", "net", "env", "run", "sys", "ffi"] as const
  ) {
    if (Deno.permissions.querySync({ name }).state === "granted") {
      flags.push(`--allow-${name}`);
    }
  }
  log.warn(
    "Cannot read this process's command line; workers get only {flags} " +
      "(grant --allow-run to the runner so it can read /proc, or use -A)",
    { flags: flags.join(" ") || "no permissions" },
  );
  return { flags, script };
}

export async function supervise(options: SuperviseOptions): Promise<number> {
  const { flags, script } = ownCommand(options.script);
  let restarts = 0;
  let stopping = false;
  let exitCode = 0;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const allDone = Promise.withResolvers<void>();
  const live = new Map<number, Deno.ChildProcess>();
  const restartTimers = new Map<number, ReturnType<typeof setTimeout>>();

  const maybeDone = (): void => {
    if (live.size === 0 && restartTimers.size === 0) allDone.resolve();
  };

  const stopAll = (why: string): void => {
    if (stopping) return;
    stopping = true;
    for (const timer of restartTimers.values()) clearTimeout(timer);
    restartTimers.clear();
    log.info("Stopping {n} worker(s): {why}", { n: live.size, why });
    for (const child of live.values()) {
      try {
        child.kill("SIGTERM");
      } catch { /* it exited meanwhile */ }
    }
    killTimer = setTimeout(() => {
      for (const [index, child] of live) {
        log.warn("Worker {index} did not stop in time: killing it", { index });
        try {
          child.kill("SIGKILL");
        } catch { /* it exited meanwhile */ }
      }
    }, (options.shutdownTimeout + 5) * 1000);
    maybeDone();
  };

  const spawn = (index: number): void => {
    if (stopping) return;
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(Deno.execPath(), {
        args: ["run", ...flags, script, ...options.childArgs(index)],
        stdin: "null",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
    } catch (error) {
      exitCode = options.fatal("cannot start a worker", error);
      stopAll("a worker could not be spawned");
      return;
    }
    live.set(index, child);
    log.info("Worker {index} started, pid {pid}", { index, pid: child.pid });
    child.status.then((status) => exited(index, child, status));
  };

  const exited = (
    index: number,
    child: Deno.ChildProcess,
    status: Deno.CommandStatus,
  ): void => {
    live.delete(index);
    const pid = child.pid;
    const how = status.signal !== null
      ? `signal ${status.signal}`
      : `exit code ${status.code}`;
    if (stopping) {
      log.info("Worker {index} (pid {pid}) stopped: {how}", {
        index,
        pid,
        how,
      });
    } else if (options.givesUp(status.code)) {
      exitCode = status.code;
      stopAll(`worker ${index} could not start`);
    } else if (status.success) {
      log.info("Worker {index} (pid {pid}) finished", { index, pid });
    } else if (restarts >= options.maxRestarts) {
      log.error(
        "Worker {index} (pid {pid}) died ({how}) after {restarts} restart(s): giving up",
        { index, pid, how, restarts },
      );
      exitCode = 1;
      stopAll("workers keep dying");
    } else {
      restarts++;
      const delay = Math.min(2000, 100 * 2 ** Math.min(restarts, 5));
      log.warn(
        "Worker {index} (pid {pid}) died ({how}); restarting it in {delay} ms ({restarts}/{max})",
        { index, pid, how, delay, restarts, max: options.maxRestarts },
      );
      restartTimers.set(
        index,
        setTimeout(() => {
          restartTimers.delete(index);
          spawn(index);
        }, delay),
      );
    }
    maybeDone();
  };

  const listeners: [Deno.Signal, () => void][] = [];
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const listener = () => stopAll(`received ${signal}`);
    Deno.addSignalListener(signal, listener);
    listeners.push([signal, listener]);
  }
  log.info("Starting {n} workers of {module} (pid {pid})", {
    n: options.workers,
    module: options.module,
    pid: Deno.pid,
  });
  for (let index = 0; index < options.workers; index++) spawn(index);
  await allDone.promise;
  clearTimeout(killTimer);
  for (const [signal, listener] of listeners) {
    Deno.removeSignalListener(signal, listener);
  }
  log.info("All workers stopped");
  return exitCode;
}
