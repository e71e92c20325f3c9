// Private to reactor/net: what an error from `accept()` means for a port.
//
// Linux reports errors that belong to a queued connection from accept()
// itself: a client that connected and reset before we accepted gives
// ECONNABORTED, or (Deno 2.9, which reads the peer address after accepting)
// ENOTCONN, os error 107. Those say nothing about the listener: accept the
// next one at once. Running out of descriptors or memory (EMFILE, ENFILE,
// ENOBUFS, ENOMEM) lasts until something closes: back off. Anything else
// is unexpected: log it and go on. Twisted's Port.doRead sorts them the
// same way (it waits for the next readable event where we back off).

/** How a port should react to an accept error. */
export type AcceptErrorKind = "transient" | "exhausted" | "other";

/** Errors that belong to one queued connection (Linux accept(2) notes). */
const TRANSIENT_CODES = new Set([
  1, // EPERM: a firewall rule refused it
  64, // ENONET
  71, // EPROTO
  92, // ENOPROTOOPT
  95, // EOPNOTSUPP
  100, // ENETDOWN
  101, // ENETUNREACH
  103, // ECONNABORTED
  104, // ECONNRESET
  107, // ENOTCONN
  110, // ETIMEDOUT
  112, // EHOSTDOWN
  113, // EHOSTUNREACH
]);

/** Out of descriptors or memory. */
const EXHAUSTED_CODES = new Set([
  12, // ENOMEM
  23, // ENFILE
  24, // EMFILE
  105, // ENOBUFS
]);

function osErrorCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string") {
    const named: Record<string, number> = {
      EMFILE: 24,
      ENFILE: 23,
      ENOBUFS: 105,
      ENOMEM: 12,
      ECONNABORTED: 103,
      ECONNRESET: 104,
      ENOTCONN: 107,
    };
    if (code in named) return named[code];
  }
  const match = /\(os error (\d+)\)/.exec(
    error instanceof Error ? error.message : String(error),
  );
  return match ? Number(match[1]) : undefined;
}

/** Sorts an accept error: accept again, back off, or log and go on. */
export function acceptErrorKind(error: unknown): AcceptErrorKind {
  if (
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted
  ) {
    return "transient";
  }
  const code = osErrorCode(error);
  if (code !== undefined && TRANSIENT_CODES.has(code)) return "transient";
  if (code !== undefined && EXHAUSTED_CODES.has(code)) return "exhausted";
  return "other";
}

/** `Name: message`, with no stack: formatting one needs free descriptors. */
export function describeAcceptError(error: unknown): string {
  return error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
}
