/**
 * Services: things that start and stop as a unit. A {@linkcode Service} is
 * one piece of a program (a listening port, a timer, a client that keeps a
 * connection up); a {@linkcode MultiService} holds several and starts them
 * in order, stopping them in reverse; an {@linkcode Application} is the
 * root a runner starts when the reactor runs and stops before it shuts
 * down. As in Twisted, `stopService()` may return a Deferred, and a parent
 * waits for every child's before its own stop is done.
 *
 * @module
 */

import type { Deferred } from "../deferred/deferred.ts";
import { maybeDeferred } from "../deferred/helpers.ts";
import { DeferredList, type DeferredListResult } from "../deferred/list.ts";
import { Logger } from "../log/mod.ts";
import type { IReactorCore } from "../reactor/interfaces.ts";

const log = new Logger("application");

/**
 * What every service offers: a name, a running flag, a parent, and the
 * three start/stop steps. Extend {@linkcode Service} rather than writing
 * one from scratch.
 *
 * @example Any object with these members can join a MultiService
 * ```ts
 * import assert from "node:assert/strict";
 * import { type IService, MultiService, Service } from "@twisted-deno/core/application";
 *
 * const service: IService = new Service();
 * const parent = new MultiService();
 * service.setServiceParent(parent);
 * parent.startService();
 * assert.equal(service.running, true);
 * ```
 */
export interface IService {
  /** The service's name, unique among its siblings (or undefined). */
  readonly name: string | undefined;
  /** Whether `startService()` has run and `stopService()` has not since. */
  readonly running: boolean;
  /** The collection holding this service, if any. */
  readonly parent: IServiceCollection | undefined;
  /** Names the service; throws once it has a parent. */
  setName(name: string): void;
  /** Adds the service to `parent` (leaving any previous parent first). */
  setServiceParent(parent: IServiceCollection): void;
  /** Leaves the parent; returns the stop Deferred when the parent ran it. */
  disownServiceParent(): Deferred<unknown> | void;
  /** The step that may need privileges (binding a low port), before start. */
  privilegedStartService(): void;
  /** Starts the service. */
  startService(): void;
  /** Stops the service; a returned Deferred fires once it has stopped. */
  stopService(): Deferred<unknown> | void;
}

/**
 * What a module's `makeService(options)` receives from the runner
 * (`twistd.ts`): its command-line arguments and where it runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Application, type ServiceMakerOptions } from "@twisted-deno/core/application";
 *
 * export function makeService(options: ServiceMakerOptions): Application {
 *   return new Application(`worker-${options.worker}`);
 * }
 * const app = makeService({ args: [], worker: 0, workers: 1, reusePort: false });
 * assert.equal(app.name, "worker-0");
 * ```
 */
export interface ServiceMakerOptions {
  /** The command-line arguments after the module. */
  args: string[];
  /** This process's index among the workers (0 when there is one). */
  worker: number;
  /** How many worker processes run this module. */
  workers: number;
  /** Whether to listen with `reusePort` (true under `--workers`). */
  reusePort: boolean;
}

/**
 * A container of services, which starts and stops them together.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type IServiceCollection, MultiService, Service } from "@twisted-deno/core/application";
 *
 * const collection: IServiceCollection = new MultiService();
 * const child = new Service();
 * child.setName("child");
 * child.setServiceParent(collection);
 * assert.equal(collection.getServiceNamed("child"), child);
 * assert.deepEqual([...collection], [child]);
 * ```
 */
export interface IServiceCollection extends Iterable<IService> {
  /** The child named `name`; throws {@linkcode NoSuchServiceError} if none. */
  getServiceNamed(name: string): IService;
  /** Adds a child (services call this from `setServiceParent`). */
  addService(service: IService): void;
  /** Removes a child; returns its stop Deferred if the collection runs. */
  removeService(service: IService): Deferred<unknown> | void;
}

/**
 * Thrown by `setName()` on a service that already has a parent: the
 * parent indexes children by name, so the name is fixed while it is there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MultiService, Service, ServiceNameLockedError } from "@twisted-deno/core/application";
 *
 * const s = new Service();
 * s.setName("web");
 * s.setServiceParent(new MultiService());
 * assert.throws(() => s.setName("other"), ServiceNameLockedError);
 * ```
 */
export class ServiceNameLockedError extends Error {
  /** The error's name, for `Failure.check("ServiceNameLockedError")` and logs. */
  override readonly name = "ServiceNameLockedError";
  /**
   * Makes a ServiceNameLockedError.
   *
   * @param current The service's current name.
   * @param wanted The name that was refused.
   */
  constructor(
    readonly current: string | undefined,
    readonly wanted: string,
    options?: ErrorOptions,
  ) {
    super(
      `Cannot rename service ${JSON.stringify(current ?? null)} to ${
        JSON.stringify(wanted)
      }: it has a parent; call disownServiceParent() first`,
      options,
    );
  }
}

/**
 * Thrown when a service joins a collection that already has a child of the
 * same name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DuplicateServiceNameError, MultiService, Service } from "@twisted-deno/core/application";
 *
 * const parent = new MultiService();
 * const a = new Service();
 * a.setName("web");
 * a.setServiceParent(parent);
 * const b = new Service();
 * b.setName("web");
 * assert.throws(() => b.setServiceParent(parent), DuplicateServiceNameError);
 * ```
 */
export class DuplicateServiceNameError extends Error {
  /** The error's name, for `Failure.check("DuplicateServiceNameError")` and logs. */
  override readonly name = "DuplicateServiceNameError";
  /**
   * Makes a DuplicateServiceNameError.
   *
   * @param serviceName The name already taken.
   */
  constructor(readonly serviceName: string, options?: ErrorOptions) {
    super(
      `Cannot add service ${
        JSON.stringify(serviceName)
      }: the collection already has a service of that name`,
      options,
    );
  }
}

/**
 * Thrown by `getServiceNamed()` when no child has the name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MultiService, NoSuchServiceError } from "@twisted-deno/core/application";
 *
 * assert.throws(() => new MultiService().getServiceNamed("x"), NoSuchServiceError);
 * ```
 */
export class NoSuchServiceError extends Error {
  /** The error's name, for `Failure.check("NoSuchServiceError")` and logs. */
  override readonly name = "NoSuchServiceError";
  /**
   * Makes a NoSuchServiceError.
   *
   * @param serviceName The name looked up.
   */
  constructor(readonly serviceName: string, options?: ErrorOptions) {
    super(
      `Cannot find service ${
        JSON.stringify(serviceName)
      }: no child has that name`,
      options,
    );
  }
}

/**
 * The base of services: it keeps the book (name, parent, running) and does
 * nothing else. Subclasses override `startService`/`stopService` and call
 * `super` so `running` stays right.
 *
 * @example A service that records its life
 * ```ts
 * import assert from "node:assert/strict";
 * import { Service } from "@twisted-deno/core/application";
 *
 * const seen: string[] = [];
 * class Recorder extends Service {
 *   override startService(): void {
 *     super.startService();
 *     seen.push("start");
 *   }
 *   override stopService(): void {
 *     super.stopService();
 *     seen.push("stop");
 *   }
 * }
 * const s = new Recorder();
 * s.startService();
 * assert.equal(s.running, true);
 * s.stopService();
 * assert.deepEqual(seen, ["start", "stop"]);
 * assert.equal(s.running, false);
 * ```
 */
export class Service implements IService {
  /** The service's name (set it with `setName`). */
  name: string | undefined = undefined;
  /** Whether the service is running. */
  running = false;
  /** The collection holding this service. */
  parent: IServiceCollection | undefined = undefined;

  /**
   * Names the service.
   *
   * @throws {ServiceNameLockedError} When the service has a parent.
   */
  setName(name: string): void {
    if (this.parent !== undefined) {
      throw new ServiceNameLockedError(this.name, name);
    }
    this.name = name;
  }

  /**
   * Makes `parent` this service's parent, leaving the previous one first.
   *
   * @throws {DuplicateServiceNameError} When `parent` has a child of this
   *   name (the service is then left without a parent).
   */
  setServiceParent(parent: IServiceCollection): void {
    if (this.parent !== undefined) this.disownServiceParent();
    this.parent = parent;
    try {
      parent.addService(this);
    } catch (error) {
      this.parent = undefined;
      throw error;
    }
  }

  /**
   * Leaves the parent.
   *
   * @returns The stop Deferred when the parent was running (it stops the
   *   service on the way out), else nothing.
   * @throws {TypeError} When the service has no parent.
   */
  disownServiceParent(): Deferred<unknown> | void {
    const parent = this.parent;
    if (parent === undefined) {
      throw new TypeError(
        `Cannot disown the parent of service ${
          JSON.stringify(this.name ?? null)
        }: it has none`,
      );
    }
    const d = parent.removeService(this);
    this.parent = undefined;
    return d;
  }

  /** Runs before `startService`, while the process may hold privileges. */
  privilegedStartService(): void {}

  /** Marks the service running. */
  startService(): void {
    this.running = true;
  }

  /** Marks the service stopped. */
  stopService(): Deferred<unknown> | void {
    this.running = false;
  }
}

/**
 * A service holding other services. Children start in the order they were
 * added and stop in reverse; `stopService()` returns a Deferred that fires
 * once every child's stop (Deferred or not) is done, with one
 * `[success, resultOrFailure]` pair per child in stopping order. A child
 * whose stop fails is logged and the others still stop. A child added while
 * the collection runs is started at once; one removed while it runs is
 * stopped.
 *
 * @example Start in order, stop in reverse, wait for a slow child
 * ```ts
 * import assert from "node:assert/strict";
 * import { Deferred } from "@twisted-deno/core/deferred";
 * import { MultiService, Service } from "@twisted-deno/core/application";
 *
 * const seen: string[] = [];
 * const slowStop = new Deferred<void>();
 * class Step extends Service {
 *   constructor(name: string, readonly slow = false) {
 *     super();
 *     this.setName(name);
 *   }
 *   override startService(): void {
 *     super.startService();
 *     seen.push(`start ${this.name}`);
 *   }
 *   override stopService(): Deferred<void> | void {
 *     super.stopService();
 *     seen.push(`stop ${this.name}`);
 *     if (this.slow) return slowStop;
 *   }
 * }
 * const root = new MultiService();
 * new Step("db", true).setServiceParent(root);
 * new Step("web").setServiceParent(root);
 * root.startService();
 * let stopped = false;
 * root.stopService().addCallback(() => { stopped = true; });
 * assert.deepEqual(seen, ["start db", "start web", "stop web", "stop db"]);
 * assert.equal(stopped, false);
 * slowStop.callback();
 * assert.equal(stopped, true);
 * assert.equal(root.getServiceNamed("web").name, "web");
 * ```
 */
export class MultiService extends Service implements IServiceCollection {
  #services: IService[] = [];
  #named = new Map<string, IService>();

  /** Runs every child's `privilegedStartService`, in order. */
  override privilegedStartService(): void {
    super.privilegedStartService();
    for (const service of [...this.#services]) {
      service.privilegedStartService();
    }
  }

  /** Starts itself, then every child in insertion order. */
  override startService(): void {
    super.startService();
    for (const service of [...this.#services]) service.startService();
  }

  /**
   * Stops every child in reverse order, waiting for each one's Deferred.
   *
   * @returns Fires with `[success, resultOrFailure]` per child (in stopping
   *   order) once all have stopped; it never fails.
   */
  override stopService(): Deferred<DeferredListResult<unknown>[]> {
    super.stopService();
    const children = [...this.#services].reverse();
    return new DeferredList(
      children.map((child) =>
        maybeDeferred(() => child.stopService()).addErrback((failure) => {
          log.failure(
            "Error stopping service {service}",
            failure,
            "error",
            { service: child.name ?? child.constructor.name },
          );
          return failure;
        })
      ),
      { consumeErrors: true },
    );
  }

  /**
   * The child named `name`.
   *
   * @throws {NoSuchServiceError} When no child has that name.
   */
  getServiceNamed(name: string): IService {
    const found = this.#named.get(name);
    if (found === undefined) throw new NoSuchServiceError(name);
    return found;
  }

  /** The children, in insertion order. */
  [Symbol.iterator](): Iterator<IService> {
    return this.#services[Symbol.iterator]();
  }

  /**
   * Adds a child; starts it if this collection is running. Use the child's
   * `setServiceParent(collection)`, which calls this.
   *
   * @throws {DuplicateServiceNameError} When a child has the same name.
   */
  addService(service: IService): void {
    const name = service.name;
    if (name !== undefined) {
      if (this.#named.has(name)) throw new DuplicateServiceNameError(name);
      this.#named.set(name, service);
    }
    this.#services.push(service);
    if (this.running) {
      // Late, but the child should still see both steps in order.
      service.privilegedStartService();
      service.startService();
    }
  }

  /**
   * Removes a child, stopping it if this collection is running. Use the
   * child's `disownServiceParent()`, which calls this.
   *
   * @returns The child's stop result when it was stopped here.
   * @throws {RangeError} When `service` is not a child.
   */
  removeService(service: IService): Deferred<unknown> | void {
    const i = this.#services.indexOf(service);
    if (i === -1) {
      throw new RangeError(
        `Cannot remove service ${
          JSON.stringify(service.name ?? null)
        }: it is not a child of this collection`,
      );
    }
    this.#services.splice(i, 1);
    if (service.name !== undefined) this.#named.delete(service.name);
    if (this.running) return service.stopService();
  }
}

/**
 * The root of a program's services, named. A runner (the `twistd` script,
 * or {@linkcode startApplication}) starts it when the reactor runs and
 * stops it before the reactor shuts down.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Application, Service } from "@twisted-deno/core/application";
 *
 * const application = new Application("finger");
 * const s = new Service();
 * s.setServiceParent(application);
 * assert.equal(application.name, "finger");
 * assert.deepEqual([...application], [s]);
 * assert.equal(s.parent, application);
 * ```
 */
export class Application extends MultiService {
  /**
   * Makes an Application.
   *
   * @param name The application's name (used in logs).
   */
  constructor(name: string) {
    super();
    this.setName(name);
  }
}

/**
 * Hooks `service` to `reactor`'s life: `privilegedStartService()` now,
 * `startService()` once the reactor runs, and `stopService()` before it
 * shuts down (shutdown waits for the returned Deferred). This is what the
 * runner does; use it to run an application from your own script.
 *
 * @param service The root service (usually an {@linkcode Application}).
 * @param reactor The reactor whose life it follows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Application, startApplication } from "@twisted-deno/core/application";
 * import { DenoReactor } from "@twisted-deno/core/reactor";
 *
 * const r = new DenoReactor();
 * const application = new Application("demo");
 * startApplication(application, r);
 * r.callWhenRunning(() => {
 *   assert.equal(application.running, true);
 *   r.stop();
 * });
 * await r.run();
 * assert.equal(application.running, false);
 * ```
 */
export function startApplication(
  service: IService,
  reactor: Pick<IReactorCore, "callWhenRunning" | "addSystemEventTrigger">,
): void {
  service.privilegedStartService();
  reactor.callWhenRunning(() => service.startService());
  reactor.addSystemEventTrigger("before", "shutdown", () => {
    if (service.running) return service.stopService();
  });
}
