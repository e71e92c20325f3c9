/**
 * The roles of the reactor world, as TypeScript interfaces: what a reactor,
 * a transport, a protocol, a factory, a producer and a consumer promise each
 * other. Transports talk to protocols only through these, so a protocol
 * written against them runs unchanged on a real socket or on the test
 * doubles in `testing/`.
 *
 * The call order a protocol sees, as in asyncio's one-line summary:
 * `makeConnection -> connectionMade [-> dataReceived*] [-> readConnectionLost]
 * -> connectionLost`, with `connectionLost` exactly once, never re-entrantly.
 *
 * @module
 */

import type { Deferred } from "../deferred/deferred.ts";
import type { Failure } from "../deferred/failure.ts";

// ---------------------------------------------------------------- addresses

/** A TCP endpoint address. */
export interface TCPAddress {
  /** Always `"TCP"`. */
  type: "TCP";
  /** The numeric host, e.g. `127.0.0.1` or `::1`. */
  host: string;
  /** The port number. */
  port: number;
}

/** A UDP endpoint address. */
export interface UDPAddress {
  /** Always `"UDP"`. */
  type: "UDP";
  /** The numeric host. */
  host: string;
  /** The port number. */
  port: number;
}

/** A UNIX-domain socket address. */
export interface UNIXAddress {
  /** Always `"UNIX"`. */
  type: "UNIX";
  /** The socket's path (empty for an unnamed socket). */
  name: string;
}

/** The address of one end of a connection or a listening socket. */
export type IAddress = TCPAddress | UDPAddress | UNIXAddress;

// ------------------------------------------------------------------- time

/** A call scheduled with {@linkcode IReactorTime.callLater}. */
export interface IDelayedCall {
  /** When it will run, in the clock's `seconds()`. */
  getTime(): number;
  /**
   * Prevents it from running.
   * @throws {AlreadyCalled} When it has already run.
   * @throws {AlreadyCancelled} When it was already cancelled.
   */
  cancel(): void;
  /** Moves it `seconds` later (or earlier, for a negative value). */
  delay(seconds: number): void;
  /** Makes it run `seconds` from now. */
  reset(seconds: number): void;
  /** Whether it has neither run nor been cancelled. */
  active(): boolean;
}

/** Scheduling calls in time. */
export interface IReactorTime {
  /** The current time in seconds (monotonic for the reactor). */
  seconds(): number;
  /**
   * Calls `fn(...args)` after `delay` seconds. Calls due at the same time
   * run in the order they were scheduled; an error one throws is logged.
   */
  // deno-lint-ignore no-explicit-any
  callLater<A extends any[]>(
    delay: number,
    fn: (...args: A) => unknown,
    ...args: A
  ): IDelayedCall;
  /** Every call that is scheduled and still active. */
  getDelayedCalls(): IDelayedCall[];
}

// ------------------------------------------------------------------- core

/** The three phases of a system event such as `"startup"` or `"shutdown"`. */
export type TriggerPhase = "before" | "during" | "after";

/** Identifies a trigger, for {@linkcode IReactorCore.removeSystemEventTrigger}. */
export interface TriggerId {
  /** The trigger's phase. */
  readonly phase: TriggerPhase;
  /** The trigger's event. */
  readonly event: string;
}

/** The reactor's life cycle. */
export interface IReactorCore {
  /** Whether `run()` has started and `stop()` has not completed. */
  readonly running: boolean;
  /**
   * Fires `startup`, runs until `stop()`, fires `shutdown`; the Promise
   * resolves once shutdown is complete.
   */
  run(): Promise<void>;
  /** Begins shutdown. @throws {ReactorNotRunning} When not running. */
  stop(): void;
  /** Stops at once, without the shutdown event. */
  crash(): void;
  /** Lets pending I/O and timers run for up to `delay` seconds. */
  iterate(delay?: number): Promise<void>;
  /** Calls `fn(...args)` once the reactor is running (now if it is). */
  // deno-lint-ignore no-explicit-any
  callWhenRunning<A extends any[]>(
    fn: (...args: A) => unknown,
    ...args: A
  ): TriggerId | undefined;
  /**
   * Adds a trigger for a phase of an event. A `before` trigger may return
   * a Deferred: `during` waits for it.
   */
  // deno-lint-ignore no-explicit-any
  addSystemEventTrigger<A extends any[]>(
    phase: TriggerPhase,
    event: string,
    fn: (...args: A) => unknown,
    ...args: A
  ): TriggerId;
  /** Removes a trigger; removing it twice throws a `RangeError`. */
  removeSystemEventTrigger(id: TriggerId): void;
  /** Runs every trigger for `event`, phase by phase. */
  fireSystemEvent(event: string): void;
}

/**
 * Something the reactor must close when it shuts down: a listening port, a
 * connection, a thread pool, a child process. Implementations of transports
 * register with {@linkcode IReactorResources.trackResource}.
 */
export interface ReactorResource {
  /** Closes the resource; the reactor waits for the returned Promise. */
  shutdown(): Promise<void> | void;
}

/** Registration of resources to close at shutdown (for transport authors). */
export interface IReactorResources {
  /** Closes `resource` at shutdown unless it is untracked first. */
  trackResource(resource: ReactorResource): void;
  /** Forgets `resource` (it closed by itself). */
  untrackResource(resource: ReactorResource): void;
}

// ---------------------------------------------------------- producers etc.

/**
 * A producer the consumer pauses and resumes: it writes whenever it likes
 * until `pauseProducing()`.
 */
export interface IPushProducer {
  /** Stop writing until `resumeProducing()`. */
  pauseProducing(): void;
  /** Writing may go on. */
  resumeProducing(): void;
  /** Stop for good: the consumer is going away. */
  stopProducing(): void;
}

/** A producer that writes one chunk each time `resumeProducing()` is called. */
export interface IPullProducer {
  /** Write one more chunk (or finish and unregister). */
  resumeProducing(): void;
  /** Stop for good: the consumer is going away. */
  stopProducing(): void;
}

/** Either kind of producer. */
export type IProducer = IPushProducer | IPullProducer;

/**
 * Takes data from a producer. `registerProducer(p, true)` registers a push
 * producer, which the consumer pauses when its buffer is full and resumes
 * when it drains (every pause is paired with a resume); `false` registers a
 * pull producer, whose `resumeProducing` is called whenever more is wanted.
 */
export interface IConsumer {
  /**
   * Attaches a producer.
   * @throws {Error} When a producer is already registered.
   */
  registerProducer(producer: IProducer, streaming: boolean): void;
  /** Detaches the producer. */
  unregisterProducer(): void;
  /** Accepts data (a string is UTF-8 encoded). */
  write(data: Uint8Array | string): void;
}

// -------------------------------------------------------------- transports

/** Options of {@linkcode ITransport.startTLS}. */
export interface StartTLSOptions {
  /** Client side: the server name to verify (default: the peer's host). */
  hostname?: string;
  /** Client side: PEM CA certificates to trust instead of the system's. */
  caCerts?: string[];
  /** Server side: the PEM certificate chain. */
  cert?: string;
  /** Server side: the PEM private key. */
  key?: string;
  /** ALPN protocols to offer or accept. */
  alpnProtocols?: string[];
  /**
   * Which side of the handshake this end takes (default: the connection's
   * own: server on a connection a port accepted, client on one a connector
   * made, as in Twisted).
   */
  side?: "client" | "server";
  /**
   * Server side: seconds the peer has to complete the handshake (default
   * 30); then the connection is closed, with a `TLSHandshakeError` as the
   * reason, and a warning is logged. `null`: no limit.
   */
  handshakeTimeout?: number | null;
}

/**
 * One end of a stream connection, as a protocol sees it. Writes are
 * buffered and never block; a producer registered here is paused when the
 * buffer passes 64 KiB and resumed when it drains. As a producer itself,
 * the transport pauses and resumes reading.
 */
export interface ITransport extends IConsumer, IPushProducer {
  /** Queues bytes (a string is UTF-8 encoded). Ignored after close. */
  write(data: Uint8Array | string): void;
  /** Queues several chunks in order. */
  writeSequence(chunks: Iterable<Uint8Array | string>): void;
  /**
   * Optional: queues `text` then `suffix` (default empty), UTF-8 encoded:
   * the same bytes as `write(text)` then `write(suffix)`, in one call. A
   * transport that has it may encode many such writes in one batch, which
   * is why line protocols' `sendLine` uses it when present. A string
   * that is not a string is a `TypeError`.
   */
  writeText?(text: string, suffix?: string): void;
  /** Flushes what is queued, then closes. */
  loseConnection(): void;
  /** Drops what is queued and closes now. */
  abortConnection(): void;
  /** Flushes, then closes the writing half (the peer reads EOF). */
  loseWriteConnection(): void;
  /** The remote address. */
  getPeer(): IAddress;
  /** The local address. */
  getHost(): IAddress;
  /** Turns Nagle's algorithm off (`true`) or on. */
  setTcpNoDelay(on: boolean): void;
  /** Turns TCP keep-alive on or off. */
  setTcpKeepAlive(on: boolean): void;
  /** Upgrades the connection to TLS. */
  startTLS(options: StartTLSOptions): void;
  /** True once `loseConnection()` (or an abort) has begun. */
  readonly disconnecting: boolean;
}

// --------------------------------------------------------------- protocols

/** What a transport calls on its protocol. */
export interface IProtocol {
  /** Attaches the transport and calls `connectionMade()`. */
  makeConnection(transport: ITransport): void;
  /** The connection is up. */
  connectionMade(): void;
  /** Bytes arrived; the protocol may keep the array. */
  dataReceived(data: Uint8Array): void;
  /**
   * The connection is gone, with a Failure wrapping `ConnectionDone` (clean
   * close), `ConnectionLost`, `ConnectionAborted`, or the error a protocol
   * method threw. Called exactly once.
   */
  connectionLost(reason: Failure): void;
}

/**
 * A protocol that wants to know about each half of the connection closing:
 * when it implements these, the peer closing its writing half calls
 * `readConnectionLost()` instead of closing the whole connection.
 */
export interface IHalfCloseableProtocol {
  /** The peer will send no more data. */
  readConnectionLost(): void;
  /** Our writing half is closed (after `loseWriteConnection()`). */
  writeConnectionLost(): void;
}

/**
 * Whether `protocol` implements {@linkcode IHalfCloseableProtocol}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isHalfCloseable } from "@twisted-deno/core/reactor";
 *
 * assert.equal(isHalfCloseable({ readConnectionLost() {}, writeConnectionLost() {} }), true);
 * assert.equal(isHalfCloseable({}), false);
 * ```
 */
export function isHalfCloseable(
  protocol: unknown,
): protocol is IHalfCloseableProtocol {
  return typeof (protocol as IHalfCloseableProtocol)?.readConnectionLost ===
    "function";
}

/**
 * A stream protocol that lends its own buffer for reads, as asyncio's
 * `BufferedProtocol` (zero copy: the bytes are read straight into it).
 * Stream transports call `getBuffer(sizeHint)` before each read and
 * `bufferUpdated(n)` once `n` bytes have been read into the start of that
 * buffer; `dataReceived` is not called. The transport issues the next read
 * (and so the next `getBuffer`) only once everything written has been
 * handed to the socket, so a buffer the protocol wrote from, as with
 * `transport.write(buffer.subarray(0, n))`, is its own again by then.
 * Reading thus waits while writes are pending, as a plain read-then-write
 * loop does: with a peer that writes everything before it reads, keep
 * what the protocol writes bounded. Transports that do not know this
 * interface (`StringTransport` ...) call `dataReceived` as usual, so
 * implement both.
 */
export interface IBufferedProtocol extends IProtocol {
  /**
   * The buffer the next read fills: non-empty; `sizeHint` is the size the
   * transport would read (it grows on busy connections, shrinks on idle
   * ones), which keeps an idle connection's buffer small.
   */
  getBuffer(sizeHint: number): Uint8Array;
  /** `n` bytes were read into the start of the last buffer lent. */
  bufferUpdated(n: number): void;
}

/**
 * Whether `protocol` implements {@linkcode IBufferedProtocol}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isBufferedProtocol } from "@twisted-deno/core/reactor";
 *
 * assert.equal(isBufferedProtocol({ getBuffer: () => new Uint8Array(8), bufferUpdated() {} }), true);
 * assert.equal(isBufferedProtocol({ dataReceived() {} }), false);
 * ```
 */
export function isBufferedProtocol(
  protocol: unknown,
): protocol is IBufferedProtocol {
  return typeof (protocol as IBufferedProtocol)?.getBuffer === "function" &&
    typeof (protocol as IBufferedProtocol)?.bufferUpdated === "function";
}

/** Makes protocols for new connections. */
export interface IProtocolFactory {
  /** A protocol for a connection from or to `addr`, or null to refuse it. */
  buildProtocol(addr: IAddress): IProtocol | null;
  /** Called when the factory starts being used (first port or connect). */
  doStart(): void;
  /** Called when the factory stops being used. */
  doStop(): void;
}

/** A factory for outgoing connections: it hears how connecting went. */
export interface IClientFactory extends IProtocolFactory {
  /** A connection attempt has started. */
  startedConnecting(connector: IConnector): void;
  /** The attempt failed (refused, timed out, DNS error ...). */
  clientConnectionFailed(connector: IConnector, reason: Failure): void;
  /** An established connection was lost. */
  clientConnectionLost(connector: IConnector, reason: Failure): void;
}

// ---------------------------------------------------------- ports & connects

/** A listening socket. */
export interface IListeningPort {
  /** Starts listening (done already by `listenTCP` and friends). */
  startListening(): void;
  /** Stops accepting; fires once the socket is closed. */
  stopListening(): Deferred<void>;
  /** The bound address (with the real port when 0 was asked for). */
  getHost(): IAddress;
}

/** An outgoing connection attempt, and the connection it makes. */
export interface IConnector {
  /** Abandons an attempt in progress. */
  stopConnecting(): void;
  /** Closes the connection, or stops the attempt. */
  disconnect(): void;
  /** Tries again (after a failure or a loss). */
  connect(): void;
  /** Where it connects to. */
  getDestination(): IAddress;
}

/** Options of {@linkcode IReactorTCP.listenTCP}. */
export interface ListenTCPOptions {
  /** The listen queue length. */
  backlog?: number;
  /** The address to bind; all IPv4 interfaces (`0.0.0.0`) by default. */
  interface?: string;
  /** Share the port with other processes (Linux `SO_REUSEPORT`). */
  reusePort?: boolean;
}

/** Options of {@linkcode IReactorTCP.connectTCP}. */
export interface ConnectTCPOptions {
  /** Seconds before the attempt fails with `TCPTimedOutError` (30). */
  timeout?: number;
  /** Local `[host, port]` to bind before connecting. */
  bindAddress?: [string, number];
}

/** TCP servers and clients. */
export interface IReactorTCP {
  /** Listens on `port` (0: any free port) and serves `factory`'s protocols. */
  listenTCP(
    port: number,
    factory: IProtocolFactory,
    options?: ListenTCPOptions,
  ): IListeningPort;
  /** Connects to `host:port`, reporting to `factory`. */
  connectTCP(
    host: string,
    port: number,
    factory: IClientFactory,
    options?: ConnectTCPOptions,
  ): IConnector;
}

/** TLS settings of a listening TLS port. */
export interface TLSServerOptions {
  /** PEM certificate chain. */
  cert: string;
  /** PEM private key. */
  key: string;
  /** ALPN protocols to accept, in order of preference. */
  alpnProtocols?: string[];
  /**
   * Seconds a client has to complete the handshake (default 30); then its
   * connection is closed and a warning saying so is logged, so clients
   * that connect and send nothing cannot hold sockets forever. `null`: no
   * limit, and the port runs on `Deno.listenTls`, which moves bulk data
   * about twice as fast but cannot close a connection whose handshake
   * stalls (Deno keeps the socket until the client sends or closes).
   */
  handshakeTimeout?: number | null;
}

/** TLS settings of an outgoing TLS connection. */
export interface TLSClientOptions {
  /** PEM CA certificates to trust instead of the system store. */
  caCerts?: string[];
  /** The name to verify the certificate against (default: the host). */
  hostname?: string;
  /** ALPN protocols to offer. */
  alpnProtocols?: string[];
}

/** TLS servers and clients. */
export interface IReactorSSL {
  /** Like `listenTCP`, over TLS. */
  listenSSL(
    port: number,
    factory: IProtocolFactory,
    tls: TLSServerOptions,
    options?: ListenTCPOptions,
  ): IListeningPort;
  /** Like `connectTCP`, over TLS. */
  connectSSL(
    host: string,
    port: number,
    factory: IClientFactory,
    tls?: TLSClientOptions,
    options?: ConnectTCPOptions,
  ): IConnector;
}

/** Options of {@linkcode IReactorUNIX.listenUNIX}. */
export interface ListenUNIXOptions {
  /** The listen queue length. */
  backlog?: number;
}

/** Options of {@linkcode IReactorUNIX.connectUNIX}. */
export interface ConnectUNIXOptions {
  /** Seconds before the attempt fails (30). */
  timeout?: number;
}

/** UNIX-domain stream sockets. */
export interface IReactorUNIX {
  /** Listens on the socket file `path`. */
  listenUNIX(
    path: string,
    factory: IProtocolFactory,
    options?: ListenUNIXOptions,
  ): IListeningPort;
  /** Connects to the socket file `path`. */
  connectUNIX(
    path: string,
    factory: IClientFactory,
    options?: ConnectUNIXOptions,
  ): IConnector;
}

// --------------------------------------------------------------------- UDP

/** Where a datagram goes: a host and port. */
export interface DatagramDestination {
  /** Numeric host. */
  host: string;
  /** Port number. */
  port: number;
}

/** A bound UDP socket, as a datagram protocol sees it. */
export interface IUDPTransport {
  /**
   * Sends one datagram (a string is UTF-8). `addr` is required unless the
   * transport is connected, and must then be omitted or equal.
   */
  write(data: Uint8Array | string, addr?: DatagramDestination): void;
  /** Restricts the transport to one peer (connected UDP). */
  connect(host: string, port: number): void;
  /** The bound address. */
  getHost(): IAddress;
  /** Stops listening; fires once the socket is closed. */
  stopListening(): Deferred<void>;
  /** Same as `stopListening()`. */
  loseConnection(): Deferred<void>;
}

/** What a UDP port calls on its protocol. */
export interface IDatagramProtocol {
  /** Attaches the transport; calls `startProtocol()` (once per port). */
  makeConnection(transport: IUDPTransport): void;
  /** One datagram arrived from `addr`. */
  datagramReceived(data: Uint8Array, addr: IAddress): void;
  /** A connected transport's peer refused a datagram (ICMP). */
  connectionRefused(): void;
  /** The port stopped: calls `stopProtocol()` when no port is left. */
  doStop(): void;
}

/** Options of {@linkcode IReactorUDP.listenUDP}. */
export interface ListenUDPOptions {
  /** The address to bind (`0.0.0.0` by default). */
  interface?: string;
  /**
   * The largest datagram delivered whole (8192 by default, up to 65535); a
   * longer one is delivered cut to this size, and the first cut on a port
   * is logged as a warning naming `maxPacketSize`.
   */
  maxPacketSize?: number;
}

/** UDP sockets. */
export interface IReactorUDP {
  /**
   * Binds `port` (0: any) and delivers datagrams to `protocol`. Deno's UDP
   * API is unstable: run with `--unstable-net` or put `"unstable": ["net"]`
   * in your deno.json, else this throws a `UDPUnavailableError` saying so.
   */
  listenUDP(
    port: number,
    protocol: IDatagramProtocol,
    options?: ListenUDPOptions,
  ): IListeningPort;
}

// ----------------------------------------------------------------- threads

/** The pool behind {@linkcode IReactorThreads.callInThread}. */
export interface IThreadPool {
  /** Runs `exportName` of `moduleUrl` in a worker with `args`. */
  deferToThread<T = unknown>(
    moduleUrl: string | URL,
    exportName: string,
    ...args: unknown[]
  ): Deferred<T>;
  /** Stops the workers once their current jobs are done. */
  stop(): Promise<void>;
}

/** Running work in Worker threads and calling back into the reactor. */
export interface IReactorThreads {
  /** Runs `exportName` of `moduleUrl` in the thread pool, ignoring its result. */
  callInThread(
    moduleUrl: string | URL,
    exportName: string,
    ...args: unknown[]
  ): void;
  /** Calls `fn(...args)` in the reactor's thread, soon. */
  // deno-lint-ignore no-explicit-any
  callFromThread<A extends any[]>(
    fn: (...args: A) => unknown,
    ...args: A
  ): void;
  /** The reactor's thread pool (started on first use). */
  getThreadPool(): IThreadPool;
}

// --------------------------------------------------------------- processes

/** A child process, as its protocol sees it. */
export interface IProcessTransport {
  /** The process id (undefined once it has been reaped). */
  readonly pid: number | undefined;
  /** Writes to the child's stdin. */
  write(data: Uint8Array | string): void;
  /** Writes several chunks to stdin. */
  writeSequence(chunks: Iterable<Uint8Array | string>): void;
  /** Closes the child's stdin (after flushing). */
  closeStdin(): void;
  /** Stops reading the child's stdout. */
  closeStdout(): void;
  /** Stops reading the child's stderr. */
  closeStderr(): void;
  /** Closes one of the child's pipes by number (0, 1 or 2). */
  closeChildFD(fd: number): void;
  /** Sends a signal (`"TERM"`, `"KILL"`, `"INT"` ...). */
  signalProcess(signal: "TERM" | "KILL" | "INT" | "HUP" | "QUIT"): void;
  /** Closes all three pipes. */
  loseConnection(): void;
  /** Attaches a producer writing to stdin. */
  registerProducer(producer: IProducer, streaming: boolean): void;
  /** Detaches the producer. */
  unregisterProducer(): void;
}

/** What a process transport calls on its protocol. */
export interface IProcessProtocol {
  /** Attaches the transport. */
  makeConnection(transport: IProcessTransport): void;
  /** Output arrived on the child's fd `childFD` (1 or 2). */
  childDataReceived(childFD: number, data: Uint8Array): void;
  /** The child's fd `childFD` closed. */
  childConnectionLost(childFD: number): void;
  /** The process exited (its pipes may still be open). */
  processExited(reason: Failure): void;
  /** The process exited and every pipe is closed. */
  processEnded(reason: Failure): void;
}

/** Options of {@linkcode IReactorProcess.spawnProcess}. */
export interface SpawnProcessOptions {
  /** The child's environment (the parent's is not inherited when given). */
  env?: Record<string, string>;
  /** The working directory. */
  path?: string;
}

/** Child processes. */
export interface IReactorProcess {
  /**
   * Starts `executable` with `args` (`args[0]` is the program's name, as in
   * Twisted), connecting its stdio to `processProtocol`.
   */
  spawnProcess(
    processProtocol: IProcessProtocol,
    executable: string,
    args: string[],
    options?: SpawnProcessOptions,
  ): IProcessTransport;
}

// --------------------------------------------------------------- endpoints

/** Where a client connects: the endpoint abstraction over TCP, TLS, UNIX. */
export interface IStreamClientEndpoint {
  /** Connects, firing with the protocol once `connectionMade` has run. */
  connect(factory: IProtocolFactory): Deferred<IProtocol>;
}

/** Where a server listens. */
export interface IStreamServerEndpoint {
  /** Listens, firing with the port. */
  listen(factory: IProtocolFactory): Deferred<IListeningPort>;
}
