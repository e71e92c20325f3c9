import assert from "node:assert/strict";
import {
  Application,
  DuplicateServiceNameError,
  type IService,
  MultiService,
  NoSuchServiceError,
  Service,
  ServiceNameLockedError,
} from "../../application/service.ts";
import { Deferred } from "../../deferred/deferred.ts";
import { Failure } from "../../deferred/failure.ts";
import { Clock } from "../../testing/clock.ts";
import { captureLogs } from "../../testing/logs.ts";
import { assertNoResult, successResultOf } from "../../testing/results.ts";

/** A service that records its steps in a shared journal. */
class Journal extends Service {
  constructor(
    readonly label: string,
    readonly journal: string[],
    readonly stopWith?: () => Deferred<unknown> | void,
  ) {
    super();
  }
  override privilegedStartService(): void {
    this.journal.push(`privileged ${this.label}`);
  }
  override startService(): void {
    super.startService();
    this.journal.push(`start ${this.label}`);
  }
  override stopService(): Deferred<unknown> | void {
    super.stopService();
    this.journal.push(`stop ${this.label}`);
    return this.stopWith?.();
  }
}

Deno.test("Service keeps the name it is given", () => {
  const s = new Service();
  s.setName("hello");
  assert.equal(s.name, "hello");
});

Deno.test("setServiceParent makes the parent list the child and the child know its parent", () => {
  const s = new Service();
  const p = new MultiService();
  s.setServiceParent(p);
  assert.deepEqual([...p], [s]);
  assert.equal(s.parent, p);
});

Deno.test("an Application is a named collection with no parent", () => {
  const a = new Application("hello");
  const s = new Service();
  s.setServiceParent(a);
  assert.equal(a.name, "hello");
  assert.equal(a.parent, undefined);
  assert.deepEqual([...a], [s]);
  assert.equal(s.parent, a);
});

Deno.test("a named child is found by getServiceNamed", () => {
  const s = new Service();
  const p = new MultiService();
  s.setName("hello");
  s.setServiceParent(p);
  assert.equal(p.getServiceNamed("hello"), s);
  assert.throws(() => p.getServiceNamed("nope"), NoSuchServiceError);
});

Deno.test("a service with a parent cannot be renamed", () => {
  const s = new Service();
  s.setName("hello");
  s.setServiceParent(new MultiService());
  assert.throws(
    () => s.setName("lala"),
    (e: unknown) =>
      e instanceof ServiceNameLockedError &&
      /"hello" to "lala"/.test(e.message),
  );
  assert.equal(s.name, "hello");
});

Deno.test("a second child with a taken name is refused and left parentless", () => {
  const p = new MultiService();
  const a = new Service();
  a.setName("hello");
  a.setServiceParent(p);
  const b = new Service();
  b.setName("hello");
  assert.throws(() => b.setServiceParent(p), DuplicateServiceNameError);
  assert.equal(b.parent, undefined);
  assert.deepEqual([...p], [a]);
  assert.equal(p.getServiceNamed("hello"), a);
});

Deno.test("disownServiceParent removes the child from its parent", () => {
  const s = new Service();
  s.setName("x");
  const p = new MultiService();
  s.setServiceParent(p);
  s.disownServiceParent();
  assert.deepEqual([...p], []);
  assert.equal(s.parent, undefined);
  assert.throws(() => p.getServiceNamed("x"), NoSuchServiceError);
  assert.throws(() => s.disownServiceParent(), TypeError);
});

Deno.test("moving a service to a new parent leaves the old one", () => {
  const s = new Service();
  const p1 = new MultiService();
  const p2 = new MultiService();
  s.setServiceParent(p1);
  s.setServiceParent(p2);
  assert.deepEqual([...p1], []);
  assert.deepEqual([...p2], [s]);
});

Deno.test("removing a service that is not a child is a RangeError", () => {
  assert.throws(
    () => new MultiService().removeService(new Service()),
    RangeError,
  );
});

Deno.test("startService and stopService flip running", () => {
  const s = new Service();
  assert.equal(s.running, false);
  s.startService();
  assert.equal(s.running, true);
  s.stopService();
  assert.equal(s.running, false);
});

Deno.test("a MultiService starts and stops its children with itself", () => {
  const s = new Service();
  const p = new MultiService();
  s.setServiceParent(p);
  p.startService();
  assert.equal(s.running, true);
  assert.equal(p.running, true);
  p.stopService();
  assert.equal(s.running, false);
  assert.equal(p.running, false);
});

Deno.test("children start in insertion order and stop in reverse", () => {
  const journal: string[] = [];
  const p = new MultiService();
  for (const label of ["a", "b", "c"]) {
    new Journal(label, journal).setServiceParent(p);
  }
  p.privilegedStartService();
  p.startService();
  successResultOf(p.stopService());
  assert.deepEqual(journal, [
    "privileged a",
    "privileged b",
    "privileged c",
    "start a",
    "start b",
    "start c",
    "stop c",
    "stop b",
    "stop a",
  ]);
});

Deno.test("an earlier child is still running while later ones start and stop", () => {
  const s = new Service();
  const seen: boolean[] = [];
  class Checker extends Service {
    override startService(): void {
      super.startService();
      seen.push(s.running);
    }
    override stopService(): void {
      super.stopService();
      seen.push(s.running);
    }
  }
  const p = new MultiService();
  s.setServiceParent(p);
  new Checker().setServiceParent(p);
  p.startService();
  p.stopService();
  assert.deepEqual(seen, [true, true]);
});

Deno.test("stopService waits for every child's Deferred, fired on a Clock", () => {
  const clock = new Clock();
  const journal: string[] = [];
  const slow = (seconds: number) => () => {
    const d = new Deferred<string>();
    clock.callLater(seconds, () => d.callback(`after ${seconds}`));
    return d;
  };
  const p = new MultiService();
  new Journal("a", journal, slow(5)).setServiceParent(p);
  new Journal("b", journal).setServiceParent(p);
  new Journal("c", journal, slow(2)).setServiceParent(p);
  p.startService();
  const stopped = p.stopService();
  assert.deepEqual(journal.slice(-3), ["stop c", "stop b", "stop a"]);
  assertNoResult(stopped);
  clock.advance(2);
  assertNoResult(stopped);
  clock.advance(3);
  assert.deepEqual(successResultOf(stopped), [
    [true, "after 2"],
    [true, undefined],
    [true, "after 5"],
  ]);
});

Deno.test("a child whose stop fails is logged and the others still stop", () => {
  using logs = captureLogs();
  const journal: string[] = [];
  const p = new MultiService();
  new Journal("a", journal).setServiceParent(p);
  const broken = new Journal("b", journal, () => {
    throw new Error("cannot stop b");
  });
  broken.setName("b");
  broken.setServiceParent(p);
  p.startService();
  const result = successResultOf(p.stopService());
  assert.deepEqual(journal.slice(-2), ["stop b", "stop a"]);
  assert.equal(result[0][0], false);
  assert.ok(result[0][1] instanceof Failure);
  assert.equal((result[0][1] as Failure).getErrorMessage(), "cannot stop b");
  assert.deepEqual(result[1], [true, undefined]);
  const logged = logs.flushLoggedErrors(Error);
  assert.equal(logged.length, 1);
  assert.match(logs.messages.join("\n"), /Error stopping service b/);
});

Deno.test("stopping an empty MultiService fires at once", () => {
  const p = new MultiService();
  p.startService();
  assert.deepEqual(successResultOf(p.stopService()), []);
});

Deno.test("a child added to a running parent is started, and stopped when removed", () => {
  const journal: string[] = [];
  const p = new MultiService();
  p.startService();
  const s = new Journal("late", journal);
  s.setServiceParent(p);
  assert.equal(s.running, true);
  assert.deepEqual(journal, ["privileged late", "start late"]);
  s.disownServiceParent();
  assert.equal(s.running, false);
  assert.deepEqual(journal.slice(-1), ["stop late"]);
});

Deno.test("removing a running child hands back its stop Deferred", () => {
  const clock = new Clock();
  const p = new MultiService();
  const s = new Journal("x", [], () => {
    const d = new Deferred<string>();
    clock.callLater(1, () => d.callback("gone"));
    return d;
  });
  s.setServiceParent(p);
  p.startService();
  const d = s.disownServiceParent();
  assert.ok(d instanceof Deferred);
  assertNoResult(d);
  clock.advance(1);
  assert.equal(successResultOf(d), "gone");
});

Deno.test("removing a child from a stopped parent does not stop it again", () => {
  const journal: string[] = [];
  const p = new MultiService();
  const s = new Journal("x", journal);
  s.setServiceParent(p);
  assert.equal(p.removeService(s), undefined);
  assert.deepEqual(journal, []);
});

Deno.test("a MultiService nests: grandchildren follow the root", () => {
  const journal: string[] = [];
  const root = new Application("app");
  const mid = new MultiService();
  mid.setServiceParent(root);
  new Journal("leaf1", journal).setServiceParent(mid);
  new Journal("top", journal).setServiceParent(root);
  new Journal("leaf2", journal).setServiceParent(mid);
  root.startService();
  root.stopService();
  assert.deepEqual(journal, [
    "start leaf1",
    "start leaf2",
    "start top",
    "stop top",
    "stop leaf2",
    "stop leaf1",
  ]);
});

Deno.test("any IService implementation can join a MultiService", () => {
  const seen: string[] = [];
  const custom: IService = {
    name: "custom",
    running: false,
    parent: undefined,
    setName() {},
    setServiceParent(parent) {
      parent.addService(this);
    },
    disownServiceParent() {},
    privilegedStartService() {},
    startService() {
      seen.push("start");
    },
    stopService() {
      seen.push("stop");
    },
  };
  const p = new MultiService();
  custom.setServiceParent(p);
  p.startService();
  p.stopService();
  assert.deepEqual(seen, ["start", "stop"]);
  assert.equal(p.getServiceNamed("custom"), custom);
});
