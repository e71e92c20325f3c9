// Tests for Logger, LogPublisher and formatEvent.

import assert from "node:assert/strict";
import {
  formatEvent,
  globalLogPublisher,
  LOG_LEVELS,
  type LogEvent,
  Logger,
  type LogLevel,
  LogPublisher,
} from "../../log/mod.ts";
import { Failure } from "../../deferred/failure.ts";

function collecting(): [LogPublisher, LogEvent[]] {
  const publisher = new LogPublisher();
  const events: LogEvent[] = [];
  publisher.addObserver((e) => void events.push(e));
  return [publisher, events];
}

function event(format: string, fields: Record<string, unknown> = {}): LogEvent {
  return {
    ...fields,
    log_level: "info",
    log_format: format,
    log_namespace: "test",
    log_time: 0,
  };
}

Deno.test("each Logger method emits an event at its level with the namespace, format and fields", () => {
  const [publisher, events] = collecting();
  const log = new Logger("app.db", publisher);
  const levels: LogLevel[] = ["debug", "info", "warn", "error", "critical"];
  for (const level of levels) log[level]("{what} happened", { what: level });
  assert.deepEqual(events.map((e) => e.log_level), levels);
  for (const e of events) {
    assert.equal(e.log_namespace, "app.db");
    assert.equal(e.log_format, "{what} happened");
    assert.equal(formatEvent(e), `${e.log_level} happened`);
  }
});

Deno.test("events are stamped with the wall-clock time in seconds", () => {
  const [publisher, events] = collecting();
  const before = Date.now() / 1000;
  new Logger("t", publisher).info("now");
  const after = Date.now() / 1000;
  assert.ok(events[0].log_time >= before && events[0].log_time <= after);
});

Deno.test("fields cannot overwrite the log_ keys the Logger sets", () => {
  const [publisher, events] = collecting();
  new Logger("real", publisher).warn("x", {
    log_level: "debug",
    log_namespace: "fake",
  });
  assert.equal(events[0].log_level, "warn");
  assert.equal(events[0].log_namespace, "real");
});

Deno.test("a Logger given a source records it as log_source", () => {
  const [publisher, events] = collecting();
  const source = { name: "me" };
  new Logger("s", publisher, source).info("hi");
  new Logger("s", publisher).info("hi");
  assert.equal(events[0].log_source, source);
  assert.equal("log_source" in events[1], false);
});

Deno.test("Logger.failure attaches the failure, at critical by default or the level given", () => {
  const [publisher, events] = collecting();
  const log = new Logger("f", publisher);
  const failure = new Failure(new RangeError("bad"));
  log.failure("Lookup of {key} failed", failure, undefined, { key: "k" });
  log.failure("Mild", failure, "warn");
  assert.equal(events[0].log_failure, failure);
  assert.equal(events[0].log_level, "critical");
  assert.equal(formatEvent(events[0]), "Lookup of k failed");
  assert.equal(events[1].log_level, "warn");
});

Deno.test("a Logger without a publisher uses the global one", () => {
  const events: LogEvent[] = [];
  const observer = (e: LogEvent) => void events.push(e);
  globalLogPublisher.addObserver(observer);
  try {
    new Logger("global-test").debug("to the global publisher");
  } finally {
    globalLogPublisher.removeObserver(observer);
  }
  assert.equal(events.length, 1);
  assert.equal(events[0].log_namespace, "global-test");
  assert.equal(new Logger().namespace, "twisted-deno");
});

Deno.test("LOG_LEVELS orders the levels from debug to critical", () => {
  assert.ok(LOG_LEVELS.debug < LOG_LEVELS.info);
  assert.ok(LOG_LEVELS.info < LOG_LEVELS.warn);
  assert.ok(LOG_LEVELS.warn < LOG_LEVELS.error);
  assert.ok(LOG_LEVELS.error < LOG_LEVELS.critical);
  assert.ok(Object.isFrozen(LOG_LEVELS));
});

// ------------------------------------------------------------- publisher

Deno.test("LogPublisher delivers to observers in the order added, once each", () => {
  const publisher = new LogPublisher();
  const order: string[] = [];
  const a = () => void order.push("a");
  const b = () => void order.push("b");
  publisher.addObserver(a);
  publisher.addObserver(b);
  publisher.addObserver(a); // no effect
  publisher.publish(event("x"));
  assert.deepEqual(order, ["a", "b"]);
  assert.deepEqual(publisher.observers, [a, b]);
});

Deno.test("a removed observer gets nothing more; removing an absent one is harmless", () => {
  const [publisher, events] = collecting();
  const extra: LogEvent[] = [];
  const observer = (e: LogEvent) => void extra.push(e);
  publisher.addObserver(observer);
  publisher.publish(event("one"));
  publisher.removeObserver(observer);
  publisher.removeObserver(observer);
  publisher.publish(event("two"));
  assert.equal(extra.length, 1);
  assert.equal(events.length, 2);
});

Deno.test("observers added or removed during a delivery take effect from the next event", () => {
  const publisher = new LogPublisher();
  const seen: string[] = [];
  const late = (e: LogEvent) => void seen.push(`late ${e.log_format}`);
  const first = (e: LogEvent) => {
    seen.push(`first ${e.log_format}`);
    publisher.addObserver(late);
    publisher.removeObserver(second);
  };
  const second = (e: LogEvent) => void seen.push(`second ${e.log_format}`);
  publisher.addObserver(first);
  publisher.addObserver(second);
  publisher.publish(event("1"));
  publisher.publish(event("2"));
  assert.deepEqual(seen, ["first 1", "second 1", "first 2", "late 2"]);
});

Deno.test("an observer that throws does not stop delivery; the others get a report naming it", () => {
  const [publisher, events] = collecting();
  const brokenCalls: string[] = [];
  publisher.addObserver(function brokenObserver(e) {
    brokenCalls.push(e.log_format);
    throw new TypeError("observer bug");
  });
  const after: LogEvent[] = [];
  publisher.addObserver((e) => void after.push(e));
  publisher.publish(event("the event"));
  assert.equal(
    after[0].log_format,
    "the event",
    "later observers still get it",
  );
  const report = events.find((e) => e !== events[0]);
  assert.ok(report);
  assert.equal(report.log_level, "error");
  assert.match(formatEvent(report), /brokenObserver/);
  assert.match(formatEvent(report), /observer bug/);
  assert.deepEqual(brokenCalls, ["the event"], "not sent its own report");
  publisher.publish(event("next"));
  assert.deepEqual(brokenCalls, ["the event", "next"], "still attached");
});

Deno.test("an observer that also throws on the report does not cause a loop", () => {
  const publisher = new LogPublisher();
  let calls = 0;
  publisher.addObserver(() => {
    throw new Error("first");
  });
  publisher.addObserver(() => {
    calls++;
    throw new Error("second");
  });
  publisher.publish(event("x"));
  assert.ok(calls <= 3, `${calls} calls`);
});

Deno.test("addObserver refuses something that is not a function", () => {
  // @ts-expect-error: not a function
  assert.throws(() => new LogPublisher().addObserver("nope"), TypeError);
});

// ------------------------------------------------------------- formatEvent

Deno.test("formatEvent fills placeholders from the event's fields", () => {
  assert.equal(
    formatEvent(event("{n} users from {where}", { n: 3, where: "here" })),
    "3 users from here",
  );
});

Deno.test("formatEvent treats doubled braces as literal braces", () => {
  assert.equal(
    formatEvent(event("{{literal}} {x}}}", { x: 1 })),
    "{literal} 1}",
  );
});

Deno.test("formatEvent leaves a placeholder for a missing field, even one an object inherits", () => {
  assert.equal(
    formatEvent(event("{missing} and {constructor}")),
    "{missing} and {constructor}",
  );
});

Deno.test("formatEvent reads dotted fields", () => {
  assert.equal(
    formatEvent(event("{peer.host}:{peer.port} {peer.nope}", {
      peer: { host: "127.0.0.1", port: 79 },
    })),
    "127.0.0.1:79 {peer.nope}",
  );
});

Deno.test("formatEvent reads indexed fields, as Python's format fields do", () => {
  assert.equal(
    formatEvent(event("{peers[1]} {counts[tcp]} {peers[0].host} {peers[5]}", {
      peers: [{ host: "a" }, "b"],
      counts: { tcp: 2 },
    })),
    "b 2 a {peers[5]}",
  );
});

Deno.test("formatEvent renders errors by name and message, plain objects as JSON and the rest with String", () => {
  const text = formatEvent(event("{e} {o} {a} {n} {u} {b}", {
    e: new RangeError("bad"),
    o: { k: 1 },
    a: [1, 2],
    n: null,
    u: undefined,
    b: 10n,
  }));
  assert.equal(text, 'RangeError: bad {"k":1} 1,2 null undefined 10');
});

Deno.test("formatEvent never throws, whatever the fields hold", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const hostile = {
    toString(): string {
      throw new Error("no");
    },
  };
  const text = formatEvent(event("{c} {h}", { c: cyclic, h: hostile }));
  assert.equal(text, "[object Object] [object Object]");
  assert.equal(
    formatEvent({ ...event(""), log_format: 5 as unknown as string }),
    "",
  );
});
