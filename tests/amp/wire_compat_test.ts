// Byte-for-byte: the boxes our callRemote writes equal the ones Twisted
// serializes for the same call, and Float writes every double as Python's
// str(float) does. Skipped, with the reason printed, without Twisted.
import assert from "node:assert/strict";
import * as amp from "@twisted-deno/core/amp";
import { StringTransport } from "@twisted-deno/core/testing";
import { PYTHON, pythonMissing, within } from "../_helpers.ts";
import { Every, Sum } from "./_interop_commands.ts";

const probe = pythonMissing("twisted.protocols.amp");
if (probe !== undefined) console.log(`wire_compat_test.ts: skipping: ${probe}`);

const hex = (b: Uint8Array) =>
  [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

/** A double as Python's float.hex() reads it. */
function toHexFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0x0p+0" : "0x0p+0";
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const sign = bits >> 63n ? "-" : "";
  const exp = Number((bits >> 52n) & 0x7ffn);
  const mant = bits & ((1n << 52n) - 1n);
  const m = mant.toString(16).padStart(13, "0");
  return exp === 0 ? `${sign}0x0.${m}p-1022` : `${sign}0x1.${m}p${exp - 1023}`;
}

/** Deterministic doubles over the whole range: a xorshift over bit patterns. */
function doubles(n: number): number[] {
  const out = [
    0.1,
    1 / 3,
    1e16,
    1e15,
    9.999999999999999e15,
    1e-4,
    9.99e-5,
    5e-324,
    1.7976931348623157e308,
    -0,
    123456789012345680,
  ];
  let s = 0x9e3779b97f4a7c15n;
  const view = new DataView(new ArrayBuffer(8));
  while (out.length < n) {
    s ^= (s << 13n) & 0xffffffffffffffffn;
    s ^= s >> 7n;
    s ^= (s << 17n) & 0xffffffffffffffffn;
    view.setBigUint64(0, s);
    const x = view.getFloat64(0);
    if (Number.isFinite(x)) out.push(x);
    out.push(Math.round(x % 1e6) / 64); // short decimals too
  }
  return out.slice(0, n);
}

Deno.test({
  name: "our call boxes and Float spellings are byte-identical to Twisted's",
  ignore: probe !== undefined,
  async fn() {
    const floats = doubles(2000);
    const child = new Deno.Command(PYTHON, {
      args: [new URL("./_twisted_wire.py", import.meta.url).pathname],
      cwd: new URL(".", import.meta.url).pathname,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(
      new TextEncoder().encode(
        JSON.stringify({ floats: floats.map(toHexFloat) }),
      ),
    );
    await writer.close();
    const out = await within(20_000, "the Python helper", child.output());
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const twisted = JSON.parse(new TextDecoder().decode(out.stdout));

    const proto = new amp.AMP();
    const t = new StringTransport();
    proto.makeConnection(t);
    proto.callRemote(Sum, { a: 13, b: -81 });
    assert.equal(hex(t.value()), twisted.sum, "the Sum call box");
    t.clear();
    proto.callRemote(Every, {
      i: 7,
      big: -(10n ** 40n),
      flt: 0.1,
      nan: NaN,
      inf: Infinity,
      yes: true,
      bytes: new Uint8Array([0, 255]),
      text: "\u00e9",
      when: new Date(Date.UTC(2012, 0, 23, 12, 34, 56, 54)),
      dec: "-1.50",
      decinf: "-Infinity",
      list: [1, 22],
      texts: ["a", ""],
      rows: [{ x: 1, y: "a" }, { x: 2 }],
      maybe: "m",
    });
    assert.equal(hex(t.value()), twisted.every, "the Every call box");

    const f = new amp.Float();
    const mismatches = floats
      .map((x, i) => [x, f.toWire(x), twisted.floats[i]] as const)
      .filter(([, a, b]) => a !== b);
    assert.deepEqual(
      mismatches.slice(0, 5),
      [],
      `${mismatches.length} of ${floats.length} floats differ`,
    );
  },
});
