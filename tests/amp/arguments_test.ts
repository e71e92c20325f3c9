// Argument types, after Twisted's test_amp.py (ListOfTests, AmpList,
// DateTime, Decimal, Float special values): exact wire strings both ways,
// and values that do not fit refused with a clear error.
import assert from "node:assert/strict";
import * as amp from "@twisted-deno/core/amp";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (w: amp.WireValue) =>
  typeof w === "string" ? w : new TextDecoder().decode(w);

Deno.test("Integer writes decimal digits and refuses non-integers and unsafe integers", () => {
  const i = new amp.Integer();
  assert.deepEqual([0, 7, -7, 2 ** 53 - 1].map((n) => dec(i.toWire(n))), [
    "0",
    "7",
    "-7",
    "9007199254740991",
  ]);
  for (const bad of [1.5, NaN, 2 ** 53, "1", 1n]) {
    assert.throws(() => i.toWire(bad as number), TypeError, String(bad));
  }
  assert.equal(i.fromWire(enc("+12")), 12);
  assert.equal(i.fromWire(enc("-9007199254740991")), -9007199254740991);
  assert.throws(() => i.fromWire(enc("9007199254740993")), /BigInteger/);
  for (const bad of ["", "-", "1.0", "0x10", "1e3", " 1"]) {
    assert.throws(() => i.fromWire(enc(bad)), TypeError, JSON.stringify(bad));
  }
});

Deno.test("BigInteger carries integers of any size", () => {
  const b = new amp.BigInteger();
  const big = -(10n ** 40n) + 1n;
  assert.equal(b.fromWire(enc(dec(b.toWire(big)))), big);
  assert.throws(() => b.toWire(5 as unknown as bigint), TypeError);
});

Deno.test("Float writes Python's spellings and reads all of Python's float() forms", () => {
  const f = new amp.Float();
  assert.deepEqual(
    [
      NaN,
      Infinity,
      -Infinity,
      -0,
      0,
      1,
      1.5,
      1e16,
      1e15,
      1e-7,
      0.0001,
      -2.5e-5,
      1.25e300,
      123456789.125,
      0.1,
    ]
      .map((n) => dec(f.toWire(n))),
    [
      "nan",
      "inf",
      "-inf",
      "-0.0",
      "0.0",
      "1.0",
      "1.5",
      "1e+16",
      "1000000000000000.0",
      "1e-07",
      "0.0001",
      "-2.5e-05",
      "1.25e+300",
      "123456789.125",
      "0.1",
    ],
  );
  assert.ok(Number.isNaN(f.fromWire(enc("nan"))));
  assert.ok(Number.isNaN(f.fromWire(enc("-NaN"))));
  assert.equal(f.fromWire(enc("inf")), Infinity);
  assert.equal(f.fromWire(enc("-inf")), -Infinity);
  assert.equal(f.fromWire(enc("+Infinity")), Infinity);
  assert.equal(f.fromWire(enc("1e+16")), 1e16);
  assert.equal(f.fromWire(enc(".5")), 0.5);
  assert.ok(Object.is(f.fromWire(enc("-0.0")), -0));
  for (const bad of ["", "1.2.3", "0x10", "infinite", "1e"]) {
    assert.throws(() => f.fromWire(enc(bad)), TypeError, bad);
  }
  assert.throws(() => f.toWire("1" as unknown as number), TypeError);
});

Deno.test("Boolean is True or False only", () => {
  const b = new amp.Boolean();
  assert.equal(dec(b.toWire(true)), "True");
  assert.equal(dec(b.toWire(false)), "False");
  assert.equal(b.fromWire(enc("True")), true);
  assert.throws(() => b.fromWire(enc("1")), /"True" or "False"/);
  assert.throws(() => b.toWire(1 as unknown as boolean), TypeError);
});

Deno.test("String carries any bytes; Unicode carries UTF-8 text and refuses invalid UTF-8", () => {
  const s = new amp.String();
  const all = new Uint8Array(256).map((_, i) => i);
  assert.deepEqual(s.fromWire(s.toWire(all) as Uint8Array), all);
  const u = new amp.Unicode();
  const text = "h\u00e9llo \u2603 \u{1f600}";
  assert.equal(u.fromWire(enc(dec(u.toWire(text)))), text);
  assert.throws(() => u.fromWire(new Uint8Array([0x61, 0xc3])), /not UTF-8/);
  assert.throws(() => u.toWire(enc("x") as unknown as string), TypeError);
});

Deno.test("DateTime uses Twisted's 32-character form and folds offsets into UTC", () => {
  const d = new amp.DateTime();
  const when = new Date(Date.UTC(2012, 0, 23, 12, 34, 56, 54));
  const wire = dec(d.toWire(when));
  assert.equal(
    wire,
    "2012-01-23T12:34:56.054000-00:00",
    "UTC as Twisted writes it",
  );
  assert.equal(wire.length, 32);
  assert.equal(d.fromWire(enc(wire)).getTime(), when.getTime());
  assert.equal(
    d.fromWire(enc("2012-01-23T12:34:56.054321+00:00")).getTime(),
    when.getTime(),
  );
  assert.equal(
    d.fromWire(enc("2012-01-23T12:34:56.054321-05:30")).toISOString(),
    "2012-01-23T18:04:56.054Z",
  );
  const early = new Date(0);
  early.setUTCFullYear(5, 0, 1);
  assert.equal(dec(d.toWire(early)).slice(0, 10), "0005-01-01");
  assert.throws(
    () => d.fromWire(enc("2012-13-23T12:34:56.054321-00:00")),
    /out of range/,
  );
  assert.throws(() => d.fromWire(enc("2012-01-23 12:34:56")), TypeError);
  assert.throws(() => d.toWire(new Date(NaN)), TypeError);
});

Deno.test("Decimal carries decimal strings, special values included", () => {
  const d = new amp.Decimal();
  for (
    const v of [
      "1",
      "-1.50",
      "1E+2",
      "1.5E-7",
      "Infinity",
      "-Infinity",
      "NaN",
      "-sNaN",
      "0.000",
    ]
  ) {
    assert.equal(d.fromWire(enc(dec(d.toWire(v)))), v);
  }
  for (const bad of ["1,5", "", "1e", "abc"]) {
    assert.throws(() => d.toWire(bad), TypeError, bad);
  }
});

Deno.test("ListOf writes length-prefixed elements and refuses a truncated list", () => {
  const l = new amp.ListOf(new amp.Unicode());
  const wire = l.toWire(["a", "", "bc"]);
  assert.deepEqual([...wire], [0, 1, 97, 0, 0, 0, 2, 98, 99]);
  assert.deepEqual(l.fromWire(wire), ["a", "", "bc"]);
  assert.deepEqual(l.fromWire(new Uint8Array()), []);
  assert.throws(() => l.fromWire(wire.subarray(0, 8)), /cut short/);
  const floats = new amp.ListOf(new amp.Float());
  assert.deepEqual(dec(floats.toWire([NaN, 1])), "\0\x03nan\0\x031.0");
});

Deno.test("AmpList writes each object as a box, with optional fields", () => {
  const l = new amp.AmpList({
    a: new amp.Integer(),
    b: new amp.Unicode({ optional: true }),
  });
  const wire = l.toWire([{ a: 7, b: "x" }, { a: 9 }]);
  assert.deepEqual(
    [...wire],
    [0, 1, 97, 0, 1, 55, 0, 1, 98, 0, 1, 120, 0, 0, 0, 1, 97, 0, 1, 57, 0, 0],
  );
  assert.deepEqual(l.fromWire(wire), [{ a: 7, b: "x" }, { a: 9 }]);
  assert.throws(
    () => l.toWire([{ b: "no a" } as unknown as { a: number }]),
    /^TypeError: Cannot encode AmpList field "a" is required and missing$/,
  );
});

Deno.test("Command refuses missing, undeclared and ill-typed arguments, naming them", () => {
  const C = new amp.Command("C", {
    arguments: { n: new amp.Integer(), o: new amp.Unicode({ optional: true }) },
  });
  assert.deepEqual([...C.makeArguments({ n: 1 }).keys()], ["_command", "n"]);
  assert.throws(() => C.makeArguments({} as { n: number }), (e: unknown) => {
    assert.ok(e instanceof amp.InvalidSignature);
    assert.equal(
      e.message,
      'Cannot call C: C argument "n" is required and missing',
    );
    return true;
  });
  assert.throws(
    () => C.makeArguments({ n: 1, x: 2 } as { n: number }),
    (e: unknown) =>
      e instanceof amp.InvalidSignature &&
      /C argument "x" is not declared/.test(e.message),
  );
  assert.throws(
    () => C.makeArguments({ n: 0.5 }),
    /C argument "n": 0.5 is not an AMP Integer/,
  );
  assert.throws(
    () => C.parseArguments(new amp.AmpBox({ n: "x" })),
    /C argument "n": "x" is not an AMP Integer/,
  );
  assert.deepEqual(
    C.parseArguments(new amp.AmpBox({ n: "3", extra: "ignored" })),
    { n: 3 },
  );
});
