// Private: settings the runner (twistd.ts) gives the services it runs.
// A module exporting a ready-made `application` cannot take options, so a
// `--workers` child turns `reusePort` on here, and TCPServer/SSLServer
// use it unless told otherwise.

/** What the runner asks of the servers in this process. */
export const runnerState: { reusePort: boolean } = { reusePort: false };
