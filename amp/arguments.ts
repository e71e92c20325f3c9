/**
 * AMP argument types: how each value of a command's arguments and response
 * is written as the bytes of a box value, exactly as Twisted writes it.
 *
 * | type | value | wire |
 * | --- | --- | --- |
 * | {@linkcode Integer} | safe integer `number` | decimal digits |
 * | {@linkcode BigInteger} | `bigint` | decimal digits |
 * | {@linkcode Float} | `number` | Python's `str(float)`: `1.5`, `nan`, `inf`, `-inf` |
 * | {@linkcode Boolean} | `boolean` | `True` / `False` |
 * | {@linkcode String} | `Uint8Array` | the bytes |
 * | {@linkcode Unicode} | `string` | UTF-8 |
 * | {@linkcode DateTime} | `Date` | `2012-01-23T12:34:56.054000-00:00` |
 * | {@linkcode Decimal} | decimal `string` | the string (`1.50`, `-Infinity`, `NaN`) |
 * | {@linkcode ListOf} | array | each element's bytes, 16-bit length first |
 * | {@linkcode AmpList} | array of objects | each object as a serialized box |
 *
 * Any type takes `{ optional: true }`: the key may be absent, and the value
 * is then missing (or `undefined`) on the other side. A value that does not
 * fit its type throws `TypeError` at the caller and nothing is sent.
 *
 * @module
 */

import { type AmpBox, parseString } from "./box.ts";
import { compile, decodeValues, encodeValues, type Plan } from "./_schema.ts";
import { text, utf8, writeBox } from "./_wire.ts";

/** A wire value: bytes, or text that stands for its UTF-8 bytes. */
export type WireValue = Uint8Array | string;

/** Options every argument type takes. */
export interface ArgumentOptions<O extends boolean> {
  /** Whether the value may be left out (default false). */
  optional?: O;
}

/**
 * The base of argument types. `toWire` and `fromWire` are Twisted's
 * `toString` and `fromString` (renamed: `toString` means something else
 * in JavaScript). Subclass it for a type of your own.
 *
 * @example A custom type: a comma-separated list of words
 * ```ts
 * import assert from "node:assert/strict";
 * import { Argument } from "@twisted-deno/core/amp";
 *
 * class Words<O extends boolean = false> extends Argument<string[], O> {
 *   toWire(value: string[]): string { return value.join(","); }
 *   fromWire(bytes: Uint8Array): string[] { return new TextDecoder().decode(bytes).split(","); }
 * }
 * const words = new Words();
 * assert.deepEqual(words.fromWire(new TextEncoder().encode(words.toWire(["a", "b"]))), ["a", "b"]);
 * ```
 */
export abstract class Argument<T = unknown, O extends boolean = boolean> {
  /** Whether the value may be left out. */
  readonly optional: O;

  /**
   * Makes one.
   * @param options `optional`.
   */
  constructor(options?: ArgumentOptions<O>) {
    this.optional = (options?.optional ?? false) as O;
  }

  /**
   * The wire bytes of `value` (a string stands for its UTF-8 bytes).
   * @throws {TypeError} When `value` does not fit this type.
   */
  abstract toWire(value: T): WireValue;

  /**
   * The value the wire bytes spell.
   * @throws {TypeError} When the bytes do not spell a value of this type.
   */
  abstract fromWire(bytes: Uint8Array): T;
}

/** The value type an argument type carries. */
// deno-lint-ignore no-explicit-any
export type ArgumentValue<A> = A extends Argument<infer T, any> ? T : never;

/**
 * Named argument types: a command's `arguments` or `response`. Only
 * `fromWire` is named here, on purpose: a constraint that mentioned
 * `optional` would make TypeScript infer `new Integer()` as optional-or-not
 * inside a schema literal, instead of its default, required.
 */
export type Schema = Record<string, { fromWire(bytes: Uint8Array): unknown }>;

/**
 * The object of values a schema describes: required keys for required
 * arguments, optional keys for `{ optional: true }` ones.
 */
export type Values<S extends Schema> =
  & {
    // deno-lint-ignore no-explicit-any
    [K in keyof S as S[K] extends Argument<any, true> ? never : K]:
      ArgumentValue<S[K]>;
  }
  & {
    // deno-lint-ignore no-explicit-any
    [K in keyof S as S[K] extends Argument<any, true> ? K : never]?:
      ArgumentValue<S[K]>;
  };

const decimalInteger = /^[+-]?[0-9]+$/;

function bad(value: unknown, type: string, why: string): TypeError {
  const shown = typeof value === "bigint"
    ? `${value}n`
    : typeof value === "string"
    ? JSON.stringify(value)
    : value instanceof Uint8Array
    ? `${value.length} bytes`
    : globalThis.String(value);
  return new TypeError(`${shown} is not an AMP ${type}: ${why}`);
}

/**
 * A safe integer (`number`), written in decimal. Larger integers are
 * refused both ways; use {@linkcode BigInteger} for them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Integer } from "@twisted-deno/core/amp";
 *
 * const i = new Integer();
 * assert.equal(i.toWire(-42), "-42");
 * assert.equal(i.fromWire(new TextEncoder().encode("123")), 123);
 * assert.throws(() => i.toWire(1.5), TypeError);
 * ```
 */
export class Integer<O extends boolean = false> extends Argument<number, O> {
  /** Decimal digits of `value`. */
  toWire(value: number): string {
    if (typeof value !== "number" || !Number.isSafeInteger(value)) {
      throw bad(
        value,
        "Integer",
        "expected a safe integer (BigInteger takes larger ones)",
      );
    }
    return `${value}`;
  }
  /** The integer the digits spell. */
  fromWire(bytes: Uint8Array): number {
    const n = bytes.length;
    if (n > 0 && n < 16) {
      // Up to 15 digits is always safe: parse without making a string.
      let i = 0;
      let neg = false;
      if (bytes[0] === 45 || bytes[0] === 43) {
        neg = bytes[0] === 45;
        i = 1;
      }
      let v = 0;
      let ok = i < n;
      for (; i < n; i++) {
        const d = bytes[i] - 48;
        if (d < 0 || d > 9) {
          ok = false;
          break;
        }
        v = v * 10 + d;
      }
      if (ok) return neg ? -v : v;
    }
    const s = text(bytes);
    if (!decimalInteger.test(s)) {
      throw bad(s, "Integer", "expected decimal digits");
    }
    const v = Number(s);
    if (!Number.isSafeInteger(v)) {
      throw bad(
        s,
        "Integer",
        "too large for a safe integer; declare it BigInteger",
      );
    }
    return v;
  }
}

/**
 * An integer of any size (`bigint`): the same wire form as Twisted's
 * `Integer`, which has no size limit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BigInteger } from "@twisted-deno/core/amp";
 *
 * const big = new BigInteger();
 * assert.equal(big.toWire(2n ** 70n), "1180591620717411303424");
 * assert.equal(big.fromWire(new TextEncoder().encode("-5")), -5n);
 * ```
 */
export class BigInteger<O extends boolean = false> extends Argument<bigint, O> {
  /** Decimal digits of `value`. */
  toWire(value: bigint): string {
    if (typeof value !== "bigint") {
      throw bad(value, "BigInteger", "expected a bigint");
    }
    return value.toString();
  }
  /** The integer the digits spell. */
  fromWire(bytes: Uint8Array): bigint {
    const s = text(bytes);
    if (!decimalInteger.test(s)) {
      throw bad(s, "BigInteger", "expected decimal digits");
    }
    return BigInt(s);
  }
}

const pythonFloat =
  /^\s*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)\s*$/i;

/**
 * A double (`number`), written as Python's `str(float)` writes it, so
 * Twisted reads it back exactly: `1.5`, `3.0`, `1e+16`, `1e-05`, `nan`, `inf`,
 * `-inf`, `-0.0`. Reading accepts every spelling Python's `float()` does
 * (`Infinity`, `NaN`, `1E5`, surrounding spaces).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Float } from "@twisted-deno/core/amp";
 *
 * const f = new Float();
 * assert.deepEqual([f.toWire(NaN), f.toWire(-Infinity), f.toWire(2)], ["nan", "-inf", "2.0"]);
 * assert.equal(f.fromWire(new TextEncoder().encode("inf")), Infinity);
 * ```
 */
export class Float<O extends boolean = false> extends Argument<number, O> {
  /** Python's spelling of `value`. */
  toWire(value: number): string {
    if (typeof value !== "number") {
      throw bad(value, "Float", "expected a number");
    }
    if (Number.isNaN(value)) return "nan";
    if (value === Infinity) return "inf";
    if (value === -Infinity) return "-inf";
    return pythonRepr(value);
  }
  /** The number any of Python's spellings gives. */
  fromWire(bytes: Uint8Array): number {
    const s = text(bytes);
    if (!pythonFloat.test(s)) {
      throw bad(s, "Float", "expected a number as Python writes it");
    }
    const t = s.trim().toLowerCase();
    const body = t[0] === "+" || t[0] === "-" ? t.slice(1) : t;
    const sign = t[0] === "-" ? -1 : 1;
    if (body === "nan") return NaN;
    if (body === "inf" || body === "infinity") return sign * Infinity;
    return Number(t);
  }
}

/**
 * Python's `repr(float)`: the shortest round-tripping digits (as
 * `toExponential()` gives them), fixed notation for exponents -4 to 15
 * (with ".0" when integral), else `d.ddde+XX` with at least two exponent
 * digits.
 */
function pythonRepr(value: number): string {
  const [mantissa, exp] = Math.abs(value).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const e = Number(exp);
  const sign = value < 0 || Object.is(value, -0) ? "-" : "";
  if (e >= -4 && e < 16) {
    if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
    if (digits.length <= e + 1) return `${sign}${digits.padEnd(e + 1, "0")}.0`;
    return `${sign}${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const a = Math.abs(e);
  return `${sign}${m}e${e < 0 ? "-" : "+"}${a < 10 ? "0" : ""}${a}`;
}

const TRUE = utf8("True");
const FALSE = utf8("False");

/**
 * A `boolean`, written `True` or `False`; anything else is refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Boolean } from "@twisted-deno/core/amp";
 *
 * const b = new Boolean();
 * assert.equal(new TextDecoder().decode(b.toWire(true) as Uint8Array), "True");
 * assert.equal(b.fromWire(new TextEncoder().encode("False")), false);
 * assert.throws(() => b.fromWire(new TextEncoder().encode("true")), TypeError);
 * ```
 */
export class Boolean<O extends boolean = false> extends Argument<boolean, O> {
  /** `True` or `False`. */
  toWire(value: boolean): Uint8Array {
    if (value === true) return TRUE;
    if (value === false) return FALSE;
    throw bad(value, "Boolean", "expected true or false");
  }
  /** `true` for `True`, `false` for `False`. */
  fromWire(bytes: Uint8Array): boolean {
    const s = text(bytes);
    if (s === "True") return true;
    if (s === "False") return false;
    throw bad(s, "Boolean", 'expected "True" or "False"');
  }
}

/**
 * Bytes (`Uint8Array`), sent as they are: Twisted's `String` (Python
 * `bytes`). Values received are views of the received chunk.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { String } from "@twisted-deno/core/amp";
 *
 * const s = new String();
 * assert.deepEqual(s.fromWire(new Uint8Array([0, 255])), new Uint8Array([0, 255]));
 * assert.throws(() => s.toWire("text" as unknown as Uint8Array), TypeError);
 * ```
 */
export class String<O extends boolean = false> extends Argument<Uint8Array, O> {
  /** The bytes themselves. */
  toWire(value: Uint8Array): Uint8Array {
    if (!(value instanceof Uint8Array)) {
      throw bad(value, "String", "expected a Uint8Array (Unicode takes text)");
    }
    return value;
  }
  /** The bytes themselves. */
  fromWire(bytes: Uint8Array): Uint8Array {
    return bytes;
  }
}

/**
 * Another name for {@linkcode String}, which reads better in TypeScript,
 * where `String` is also the global text type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Bytes, String } from "@twisted-deno/core/amp";
 *
 * assert.equal(Bytes, String);
 * ```
 */
export const Bytes: typeof String = String;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Text (`string`), written as UTF-8. Bytes that are not UTF-8 are refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Unicode } from "@twisted-deno/core/amp";
 *
 * const u = new Unicode();
 * assert.equal(u.fromWire(new Uint8Array([0xc3, 0xa9])), "é");
 * assert.throws(() => u.fromWire(new Uint8Array([0xff])), TypeError);
 * ```
 */
export class Unicode<O extends boolean = false> extends Argument<string, O> {
  /** The text (written as UTF-8). */
  toWire(value: string): string {
    if (typeof value !== "string") {
      throw bad(value, "Unicode", "expected a string");
    }
    return value;
  }
  /** The text the UTF-8 bytes spell. */
  fromWire(bytes: Uint8Array): string {
    if (bytes.length < 32) {
      let ascii = true;
      for (let i = 0; i < bytes.length; i++) {
        if (bytes[i] > 0x7f) {
          ascii = false;
          break;
        }
      }
      if (ascii) return text(bytes);
    }
    try {
      return strictUtf8.decode(bytes);
    } catch (e) {
      throw new TypeError(
        `${bytes.length} bytes are not an AMP Unicode: not UTF-8`,
        {
          cause: e,
        },
      );
    }
  }
}

const pad = (n: number, width: number) => `${n}`.padStart(width, "0");
const dateTimeForm =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{6})([+-])([0-9]{2}):([0-9]{2})$/;

/**
 * A moment (`Date`), in Twisted's 32-character form
 * `YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM`. Dates are written in UTC, as
 * Twisted writes a UTC `datetime`: with the offset `-00:00`.
 * A received offset is folded into the moment, and microseconds are
 * truncated to the milliseconds a `Date` holds. Years 1 to 9999 only, as
 * Python's `datetime`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DateTime } from "@twisted-deno/core/amp";
 *
 * const dt = new DateTime();
 * assert.equal(dt.toWire(new Date(Date.UTC(2012, 0, 23, 12, 34, 56, 54))), "2012-01-23T12:34:56.054000-00:00");
 * const d = dt.fromWire(new TextEncoder().encode("2012-01-23T12:34:56.054321+01:00"));
 * assert.equal(d.toISOString(), "2012-01-23T11:34:56.054Z");
 * ```
 */
export class DateTime<O extends boolean = false> extends Argument<Date, O> {
  /** The 32-character UTC form of `value`. */
  toWire(value: Date): string {
    if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
      throw bad(value, "DateTime", "expected a valid Date");
    }
    const y = value.getUTCFullYear();
    if (y < 1 || y > 9999) {
      throw bad(value, "DateTime", "the year must be 1 to 9999");
    }
    return `${pad(y, 4)}-${pad(value.getUTCMonth() + 1, 2)}-${
      pad(value.getUTCDate(), 2)
    }T${pad(value.getUTCHours(), 2)}:${pad(value.getUTCMinutes(), 2)}:${
      pad(value.getUTCSeconds(), 2)
    }.${pad(value.getUTCMilliseconds() * 1000, 6)}-00:00`;
  }
  /** The moment the form names. */
  fromWire(bytes: Uint8Array): Date {
    const s = text(bytes);
    const m = dateTimeForm.exec(s);
    if (m === null) {
      throw bad(s, "DateTime", "expected YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM");
    }
    const [y, mo, d, h, mi, sec, us, , oh, om] = m.slice(1).map(Number);
    const offset = (m[8] === "-" ? -1 : 1) * (oh * 60 + om);
    const date = new Date(0);
    date.setUTCFullYear(y, mo - 1, d);
    date.setUTCHours(h, mi - offset, sec, Math.floor(us / 1000));
    if (
      mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 ||
      oh > 23 || om > 59 || Number.isNaN(date.getTime())
    ) {
      throw bad(s, "DateTime", "a field is out of range");
    }
    return date;
  }
}

const decimalForm =
  /^[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|s?nan[0-9]*)$/i;

/**
 * An exact decimal, carried as its string (JavaScript has no decimal
 * type): `"1.50"`, `"-1E+2"`, `"Infinity"`, `"NaN"`, `"sNaN"`, as Python's
 * `decimal.Decimal` writes them. Strings in other forms are refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Decimal } from "@twisted-deno/core/amp";
 *
 * const dec = new Decimal();
 * assert.equal(dec.toWire("1.50"), "1.50");
 * assert.equal(dec.fromWire(new TextEncoder().encode("-Infinity")), "-Infinity");
 * assert.throws(() => dec.toWire("1,5"), TypeError);
 * ```
 */
export class Decimal<O extends boolean = false> extends Argument<string, O> {
  /** The decimal string, checked. */
  toWire(value: string): string {
    if (typeof value !== "string" || !decimalForm.test(value)) {
      throw bad(value, "Decimal", 'expected a decimal string such as "1.50"');
    }
    return value;
  }
  /** The decimal string, checked. */
  fromWire(bytes: Uint8Array): string {
    const s = text(bytes);
    if (!decimalForm.test(s)) {
      throw bad(s, "Decimal", "expected a decimal string");
    }
    return s;
  }
}

/**
 * A list of values of one type: each element's bytes with a 16-bit
 * big-endian length before them, all in one box value (so the whole list
 * is bound by the 65 535-byte limit).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Integer, ListOf } from "@twisted-deno/core/amp";
 *
 * const list = new ListOf(new Integer());
 * const wire = list.toWire([3, 7]) as Uint8Array;
 * assert.deepEqual([...wire], [0, 1, 51, 0, 1, 55]);
 * assert.deepEqual(list.fromWire(wire), [3, 7]);
 * ```
 */
export class ListOf<
  // deno-lint-ignore no-explicit-any
  E extends Argument<any, boolean>,
  O extends boolean = false,
> extends Argument<ArgumentValue<E>[], O> {
  /**
   * Makes one.
   * @param elementType The type of every element.
   * @param options `optional`.
   */
  constructor(readonly elementType: E, options?: ArgumentOptions<O>) {
    super(options);
  }
  /** The length-prefixed elements. */
  toWire(value: ArgumentValue<E>[]): Uint8Array {
    if (!Array.isArray(value)) throw bad(value, "ListOf", "expected an array");
    const parts = value.map((v) => {
      const w = this.elementType.toWire(v);
      return typeof w === "string" ? utf8(w) : w;
    });
    let total = 0;
    for (const p of parts) {
      if (p.length > 0xffff) {
        throw bad(value, "ListOf", "an element is over 65 535 bytes");
      }
      total += 2 + p.length;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out[at] = p.length >>> 8;
      out[at + 1] = p.length & 0xff;
      out.set(p, at + 2);
      at += 2 + p.length;
    }
    return out;
  }
  /** The elements. */
  fromWire(bytes: Uint8Array): ArgumentValue<E>[] {
    const out: ArgumentValue<E>[] = [];
    let i = 0;
    while (i < bytes.length) {
      if (i + 2 > bytes.length) {
        throw bad(bytes, "ListOf", "an element length is cut short");
      }
      const n = (bytes[i] << 8) | bytes[i + 1];
      if (i + 2 + n > bytes.length) {
        throw bad(bytes, "ListOf", "an element is cut short");
      }
      out.push(this.elementType.fromWire(bytes.subarray(i + 2, i + 2 + n)));
      i += 2 + n;
    }
    return out;
  }
}

/**
 * A list of objects, each sent as a whole box of its own schema, the boxes
 * back to back in one value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AmpList, Integer, Unicode } from "@twisted-deno/core/amp";
 *
 * const list = new AmpList({ a: new Integer(), b: new Unicode() });
 * const rows = [{ a: 7, b: "hello" }, { a: 9, b: "goodbye" }];
 * assert.deepEqual(list.fromWire(list.toWire(rows)), rows);
 * ```
 */
export class AmpList<S extends Schema, O extends boolean = false>
  extends Argument<Values<S>[], O> {
  #plan: Plan;
  /**
   * Makes one.
   * @param subargs The schema of each object.
   * @param options `optional`.
   */
  constructor(readonly subargs: S, options?: ArgumentOptions<O>) {
    super(options);
    this.#plan = compile(subargs);
  }
  /** The objects as boxes. */
  toWire(value: Values<S>[]): Uint8Array {
    if (!Array.isArray(value)) throw bad(value, "AmpList", "expected an array");
    const boxes = value.map((v) => {
      const values = encodeValues(
        this.#plan,
        v as Record<string, unknown>,
        "AmpList field",
        null,
      );
      return writeBox(this.#plan.keys, values, values.length);
    });
    let total = 0;
    for (const b of boxes) total += b.length;
    const out = new Uint8Array(total);
    let at = 0;
    for (const b of boxes) {
      out.set(b, at);
      at += b.length;
    }
    return out;
  }
  /** The objects. */
  fromWire(bytes: Uint8Array): Values<S>[] {
    return parseString(bytes).map((box: AmpBox) =>
      decodeValues(this.#plan, box, "AmpList field") as Values<S>
    );
  }
}
