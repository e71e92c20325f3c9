// The commands of _twisted_amp_commands.py, declared on our side: same wire
// names, argument types and error codes.
import * as amp from "@twisted-deno/core/amp";

/** Python's ZeroDivisionError, declared as ZERO_DIVISION. */
export class ZeroDivisionError extends Error {
  override name = "ZeroDivisionError";
}

export const Sum = new amp.Command("Sum", {
  arguments: { a: new amp.Integer(), b: new amp.Integer() },
  response: { total: new amp.Integer() },
});

export const Divide = new amp.Command("Divide", {
  arguments: { a: new amp.Integer(), b: new amp.Integer() },
  response: { q: new amp.Float() },
  errors: { ZERO_DIVISION: ZeroDivisionError },
});

const every = {
  i: new amp.Integer(),
  big: new amp.BigInteger(),
  flt: new amp.Float(),
  nan: new amp.Float(),
  inf: new amp.Float(),
  yes: new amp.Boolean(),
  bytes: new amp.String(),
  text: new amp.Unicode(),
  when: new amp.DateTime(),
  dec: new amp.Decimal(),
  decinf: new amp.Decimal(),
  list: new amp.ListOf(new amp.Integer()),
  texts: new amp.ListOf(new amp.Unicode()),
  rows: new amp.AmpList({
    x: new amp.Integer(),
    y: new amp.Unicode({ optional: true }),
  }),
  maybe: new amp.Unicode({ optional: true }),
  absent: new amp.Unicode({ optional: true }),
};

export const Every = new amp.Command("Every", {
  arguments: every,
  response: every,
});

export const Echo = new amp.Command("Echo", {
  arguments: { s: new amp.String() },
  response: { s: new amp.String() },
});

/** The responder raises an error this command does not declare. */
export const Boom = new amp.Command("Boom");

/** Neither side has a responder for this one. */
export const Nope = new amp.Command("Nope");

/** Our server for the Twisted client: the same answers as the Python one. */
export class InteropServer extends amp.AMP {
  constructor() {
    super();
    this.responder(Sum, ({ a, b }) => ({ total: a + b }));
    this.responder(Divide, ({ a, b }) => {
      if (b === 0) throw new ZeroDivisionError("division by zero");
      return { q: a / b };
    });
    this.responder(Every, (args) => args);
    this.responder(Echo, ({ s }) => ({ s }));
    this.responder(Boom, () => {
      throw new RangeError("not declared by Boom");
    });
  }
}
