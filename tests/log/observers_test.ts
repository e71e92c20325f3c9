// Tests for the text and JSON-lines observers and the default observer.

import assert from "node:assert/strict";
import {
  defaultLogObserver,
  formatEventAsText,
  globalLogPublisher,
  jsonFileLogObserver,
  type LogEvent,
  Logger,
  LogPublisher,
  textFileLogObserver,
} from "../../log/mod.ts";
import { Failure } from "../../deferred/failure.ts";

function event(fields: Partial<LogEvent> = {}): LogEvent {
  return {
    log_level: "info",
    log_format: "hello {who}",
    log_namespace: "ns",
    log_time: 1_700_000_000.25,
    who: "world",
    ...fields,
  };
}

Deno.test("formatEventAsText gives an ISO time, namespace#level and the message on one line", () => {
  assert.equal(
    formatEventAsText(event()),
    "2023-11-14T22:13:20.250Z [ns#info] hello world\n",
  );
});

Deno.test("formatEventAsText appends a failure's traceback, ending with a newline", () => {
  const failure = new Failure(new TypeError("broken"));
  const text = formatEventAsText(event({ log_failure: failure }));
  const [first, ...rest] = text.split("\n");
  assert.equal(first, "2023-11-14T22:13:20.250Z [ns#info] hello world");
  assert.ok(rest.join("\n").startsWith("TypeError: broken\n"), text);
  assert.ok(text.endsWith("\n"));
  assert.ok(!text.endsWith("\n\n"));
});

Deno.test("formatEventAsText survives a failure whose traceback throws", () => {
  const text = formatEventAsText(event({
    log_failure: {
      value: "the value",
      getTraceback(): string {
        throw new Error("no traceback");
      },
    },
  }));
  assert.match(text, /hello world\nthe value\n$/);
});

Deno.test("textFileLogObserver writes each event as text and skips those below its level", () => {
  const out: string[] = [];
  const publisher = new LogPublisher();
  publisher.addObserver(
    textFileLogObserver((t) => void out.push(t), { minLevel: "warn" }),
  );
  const log = new Logger("app", publisher);
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  log.critical("c");
  assert.deepEqual(
    out.map((line) => line.replace(/^\S+ /, "")),
    ["[app#warn] w\n", "[app#error] e\n", "[app#critical] c\n"],
  );
});

Deno.test("textFileLogObserver keeps every level by default", () => {
  const out: string[] = [];
  const observer = textFileLogObserver((t) => void out.push(t));
  observer(event({ log_level: "debug" }));
  assert.equal(out.length, 1);
});

Deno.test("jsonFileLogObserver writes one JSON object per line with the fields and the text", () => {
  const lines: string[] = [];
  const observer = jsonFileLogObserver((t) => void lines.push(t));
  observer(event({ n: 2, nested: { a: [1, 2] } }));
  assert.equal(lines.length, 1);
  assert.ok(lines[0].endsWith("\n"));
  assert.equal(lines[0].indexOf("\n"), lines[0].length - 1, "one line");
  const record = JSON.parse(lines[0]);
  assert.equal(record.text, "hello world");
  assert.equal(record.log_level, "info");
  assert.equal(record.log_namespace, "ns");
  assert.equal(record.log_time, 1_700_000_000.25);
  assert.equal(record.n, 2);
  assert.deepEqual(record.nested, { a: [1, 2] });
});

Deno.test("jsonFileLogObserver writes a failure as type, message and traceback, and leaves out the source", () => {
  const lines: string[] = [];
  const observer = jsonFileLogObserver((t) => void lines.push(t));
  const failure = new Failure(new RangeError("out of range"));
  observer(event({ log_failure: failure, log_source: { big: "object" } }));
  const record = JSON.parse(lines[0]);
  assert.equal(record.log_failure.type, "RangeError");
  assert.equal(record.log_failure.message, "out of range");
  assert.match(record.log_failure.traceback, /^RangeError: out of range\n/);
  assert.equal("log_source" in record, false);
});

Deno.test("jsonFileLogObserver turns bigints, errors and bytes into strings", () => {
  const lines: string[] = [];
  const observer = jsonFileLogObserver((t) => void lines.push(t));
  observer(event({
    big: 12345678901234567890n,
    err: new TypeError("typed"),
    bytes: new Uint8Array(5),
  }));
  const record = JSON.parse(lines[0]);
  assert.equal(record.big, "12345678901234567890");
  assert.equal(record.err, "TypeError: typed");
  assert.equal(record.bytes, "<5 bytes>");
});

Deno.test("jsonFileLogObserver still writes an event whose fields hold a cycle", () => {
  const lines: string[] = [];
  const observer = jsonFileLogObserver((t) => void lines.push(t));
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  observer(event({ cyclic, log_level: "warn" }));
  const record = JSON.parse(lines[0]);
  assert.equal(record.text, "hello world");
  assert.equal(record.log_level, "warn");
  assert.equal("cyclic" in record, false);
});

Deno.test("jsonFileLogObserver skips events below its level", () => {
  const lines: string[] = [];
  const observer = jsonFileLogObserver((t) => void lines.push(t), {
    minLevel: "error",
  });
  observer(event({ log_level: "warn" }));
  observer(event({ log_level: "critical" }));
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]).log_level, "critical");
});

Deno.test("the global publisher starts with the default observer attached", () => {
  assert.ok(globalLogPublisher.observers.includes(defaultLogObserver));
});
