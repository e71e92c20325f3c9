/**
 * Private: a command's (or an `AmpList`'s) argument schema compiled once
 * into wire order, so encoding a call walks arrays and never sorts.
 * Not exported from `mod.ts`.
 *
 * @module
 */

import type { Argument } from "./arguments.ts";
import { compareBytes, encodeKey, type WireValue } from "./_wire.ts";
import { InvalidSignature, TooLong } from "./errors.ts";

/** A schema in wire order: Twisted writes a box's keys sorted by bytes. */
export interface Plan {
  /** Every key (schema names and extra keys), sorted by their bytes. */
  readonly names: readonly string[];
  /** The encoded keys, aligned with `names`. */
  readonly keys: readonly Uint8Array[];
  /** Each name's argument type, or null for an extra key. */
  readonly args: readonly (Argument | null)[];
  /** The schema as given, for membership tests. */
  readonly schema: Readonly<Record<string, Argument>>;
}

/** Compiles `schema` plus `extra` keys (such as `_ask`) into wire order. */
export function compile(
  schema: Readonly<Record<string, object>>,
  extra: readonly string[] = [],
): Plan {
  const entries: [string, Uint8Array, Argument | null][] = [];
  for (const [name, value] of Object.entries(schema)) {
    const arg = value as Argument;
    if (
      typeof arg?.toWire !== "function" || typeof arg.fromWire !== "function"
    ) {
      throw new TypeError(
        `Cannot use ${JSON.stringify(name)} in an AMP schema: ${
          String(value)
        } is not an Argument`,
      );
    }
    // A LocalArgument (StartTLS's settings) never goes on the wire.
    if ((arg as { local?: boolean }).local === true) continue;
    entries.push([name, encodeKey(name), arg]);
  }
  for (const name of extra) entries.push([name, encodeKey(name), null]);
  entries.sort((a, b) => compareBytes(a[1], b[1]));
  return {
    names: entries.map((e) => e[0]),
    keys: entries.map((e) => e[1]),
    args: entries.map((e) => e[2]),
    schema: { ...schema } as Record<string, Argument>,
  };
}

/**
 * Encodes `values` by `plan` into an array aligned with its keys: null for
 * absent optional values and for the extra keys, which the caller fills.
 *
 * @param what Names the values in errors ("Sum argument").
 * @param command For a call's arguments, the command's name: then a
 *   missing or undeclared name throws Twisted's `InvalidSignature`; else
 *   (responses, AmpList rows) null, and it throws `TypeError`.
 */
export function encodeValues(
  plan: Plan,
  values: Readonly<Record<string, unknown>>,
  what: string,
  command: string | null,
): (WireValue | null)[] {
  if (values === null || typeof values !== "object") {
    throw new TypeError(
      `Cannot encode ${what}s: expected an object of values, got ${
        String(values)
      }`,
    );
  }
  const { names, args } = plan;
  const n = names.length;
  const out: (WireValue | null)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const arg = args[i];
    if (arg === null) {
      out[i] = null;
      continue;
    }
    const v = values[names[i]];
    if (v === undefined || v === null) {
      if (!arg.optional) {
        const why = `${what} ${
          JSON.stringify(names[i])
        } is required and missing`;
        throw command === null
          ? new TypeError(`Cannot encode ${why}`)
          : new InvalidSignature(command, why);
      }
      out[i] = null;
      continue;
    }
    try {
      out[i] = arg.toWire(v);
    } catch (e) {
      if (e instanceof TooLong) throw e;
      throw new TypeError(
        `Cannot encode ${what} ${JSON.stringify(names[i])}: ${
          e instanceof Error ? e.message : String(e)
        }`,
        { cause: e },
      );
    }
  }
  if (command !== null) {
    for (const name in values) {
      if (!Object.hasOwn(plan.schema, name)) {
        throw new InvalidSignature(
          command,
          `${what} ${JSON.stringify(name)} is not declared`,
        );
      }
    }
  }
  return out;
}

/** Decodes a box's values by `plan`; extra keys in the box are ignored. */
export function decodeValues(
  plan: Plan,
  box: ReadonlyMap<string, Uint8Array>,
  what: string,
): Record<string, unknown> {
  const { names, args } = plan;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < names.length; i++) {
    const arg = args[i];
    if (arg === null) continue;
    const name = names[i];
    const bytes = box.get(name);
    if (bytes === undefined) {
      if (arg.optional) continue;
      throw new TypeError(
        `Cannot decode ${what} ${
          JSON.stringify(name)
        }: it is required and missing`,
      );
    }
    try {
      out[name] = arg.fromWire(bytes);
    } catch (e) {
      throw new TypeError(
        `Cannot decode ${what} ${JSON.stringify(name)}: ${
          e instanceof Error ? e.message : String(e)
        }`,
        { cause: e },
      );
    }
  }
  return out;
}
