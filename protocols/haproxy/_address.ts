// Private: address text checks shared by the v1 and v2 parsers.

/** Canonical text (RFC 5952, e.g. `::1`) of an IPv6 address, or null if invalid. */
export function canonicalIPv6(text: string): string | null {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return null;
  try {
    const host = new URL(`http://[${text}]/`).hostname;
    return host.slice(1, -1);
  } catch {
    return null;
  }
}

const IPV4 =
  /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Whether `text` is a dotted-quad IPv4 address (no leading zeros). */
export function isIPv4(text: string): boolean {
  return IPV4.test(text);
}
