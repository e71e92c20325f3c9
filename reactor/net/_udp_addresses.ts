// Private to reactor/net/udp.ts: UDP payload limits and address checks.

/** The largest UDP payload over IPv4 (65 535 - 8 UDP - 20 IP header bytes). */
export const MAX_IPV4_PAYLOAD = 65507;
/** The largest UDP payload over IPv6 without jumbograms. */
export const MAX_IPV6_PAYLOAD = 65527;

/** A dotted-quad IPv4 address. */
export const IPV4 =
  /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The canonical form of an IPv6 literal, or null if `host` is not one. */
export function canonicalIPv6(host: string): string | null {
  if (!host.includes(":") || host.includes("[") || host.includes("%")) {
    return null;
  }
  try {
    return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
}

/** Throws a RangeError unless `port` is an integer from 0 to 65535. */
export function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Invalid ${what} ${port}: expected an integer from 0 to 65535`,
    );
  }
}
