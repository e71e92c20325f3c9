// Private to reactor/tls.ts: the server side of `transport.startTLS()`.
//
// Deno 2.9 has no server-side `Deno.startTls`. Its built-in `node:tls`
// does have one: a `TLSSocket` made with `isServer: true` over any Duplex
// stream. Bridged to the plain `Deno.Conn` and dressed as a `Deno.Conn`, it
// lets the stream transport carry on over TLS unchanged, with no
// third-party code.

import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";
import { createSecureContext, TLSSocket } from "node:tls";
import type { StartTLSOptions } from "../interfaces.ts";

/** A parsed certificate and key, shared by the conns of one port. */
export type SecureContext = ReturnType<typeof createSecureContext>;

/**
 * Parses `cert` and `key` once: a port passes the result to each
 * {@linkcode NodeTLSServerConn} rather than have every connection parse
 * the PEM texts again.
 */
export function makeSecureContext(
  options: Pick<StartTLSOptions, "cert" | "key">,
): SecureContext {
  return createSecureContext({ cert: options.cert, key: options.key });
}

/** The size of each read from the plain conn, in bytes. */
const BRIDGE_READ = 16 * 1024;

/** How long close() waits for close_notify to be taken, in ms. */
const CLOSE_NOTIFY_WAIT = 1000;

/**
 * The server side of an upgraded connection: Deno's `node:tls` `TLSSocket`
 * (`isServer: true`) over a Duplex bridged to the plain `Deno.Conn`, dressed
 * as a `Deno.Conn` so the stream transport reads and writes it as any other.
 * Written bytes resolve when the ciphertext has been handed to the socket,
 * so the transport's flow control still measures the real socket.
 */
export class NodeTLSServerConn {
  readonly localAddr: Deno.Addr;
  readonly remoteAddr: Deno.Addr;
  #raw: Deno.Conn;
  #tls: TLSSocket;
  // Plaintext received and not yet read.
  #chunks: Uint8Array[] = [];
  #offset = 0; // into #chunks[0]
  #buffered = 0;
  #paused = false;
  #ended = false;
  #closed = false;
  #secure = false;
  #error: unknown = undefined;
  #wake: (() => void) | undefined;
  #writes = new Set<(error: unknown) => void>();
  #handshake: Promise<Deno.TlsHandshakeInfo>;

  constructor(
    raw: Deno.Conn,
    options: StartTLSOptions,
    context?: SecureContext,
  ) {
    this.#raw = raw;
    // The TLS layer writes each record on its own: without this, Nagle's
    // algorithm and delayed ACKs stall every handshake flight by ~40 ms.
    (raw as Partial<Deno.TcpConn>).setNoDelay?.(true);
    this.localAddr = raw.localAddr;
    this.remoteAddr = raw.remoteAddr;
    let reading = false;
    const bridge: Duplex = new Duplex({
      read() {
        if (reading) return;
        reading = true;
        (async () => {
          for (;;) {
            // A fresh buffer per read, handed on without a copy (the TLS
            // layer may keep it). 16 KiB, one TLS record: 64 KiB reads
            // halved the CPU per MB but left most server processes
            // waiting, at 160 MB/s instead of 250-500.
            const buf = new Uint8Array(BRIDGE_READ);
            let n: number | null;
            try {
              n = await raw.read(buf);
            } catch (e) {
              bridge.destroy(e as Error);
              return;
            }
            if (n === null) {
              bridge.push(null);
              return;
            }
            if (!bridge.push(Buffer.from(buf.buffer, 0, n))) {
              reading = false;
              return;
            }
          }
        })();
      },
      write(chunk: Uint8Array, _encoding, callback) {
        (async () => {
          let offset = 0;
          while (offset < chunk.length) {
            offset += await raw.write(chunk.subarray(offset));
          }
        })().then(() => callback(), (e) => callback(e));
      },
      final(callback) {
        raw.closeWrite().then(() => callback(), (e) => callback(e));
      },
      destroy(error, callback) {
        try {
          raw.close();
        } catch {
          // already closed
        }
        callback(error);
      },
    });
    const tls = this.#tls = new TLSSocket(bridge as never, {
      isServer: true,
      ...(context ? { secureContext: context } : {
        cert: options.cert,
        key: options.key,
      }),
      ALPNProtocols: options.alpnProtocols,
      allowHalfOpen: true,
    } as never);
    this.#handshake = new Promise((resolve, reject) => {
      tls.once("secure", () => {
        this.#secure = true;
        const alpn = (tls as unknown as { alpnProtocol?: string | false })
          .alpnProtocol;
        resolve({ alpnProtocol: alpn ? alpn : null });
      });
      tls.once("error", reject);
      tls.once(
        "close",
        () => reject(new Error("the connection closed during the handshake")),
      );
    });
    this.#handshake.catch(() => {}); // observed by handshake() or read()
    tls.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered > 256 * 1024 && !this.#paused) {
        this.#paused = true;
        tls.pause();
      }
      this.#notify();
    });
    tls.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    tls.on("error", (e: unknown) => {
      this.#error ??= e;
      this.#notify();
    });
    tls.on("close", () => {
      this.#ended = true;
      this.#notify();
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  handshake(): Promise<Deno.TlsHandshakeInfo> {
    return this.#handshake;
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#buffered === 0) {
      if (this.#closed) throw new Deno.errors.BadResource("closed");
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    let n = 0;
    while (n < p.length && this.#chunks.length > 0) {
      const chunk = this.#chunks[0];
      const take = Math.min(p.length - n, chunk.length - this.#offset);
      p.set(chunk.subarray(this.#offset, this.#offset + take), n);
      n += take;
      this.#offset += take;
      if (this.#offset === chunk.length) {
        this.#chunks.shift();
        this.#offset = 0;
      }
    }
    this.#buffered -= n;
    if (this.#paused && this.#buffered < 64 * 1024) {
      this.#paused = false;
      this.#tls.resume();
    }
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("closed"));
    }
    return new Promise<number>((resolve, reject) => {
      const settle = (error: unknown) => {
        this.#writes.delete(settle);
        if (error) reject(error);
        else resolve(p.length);
      };
      this.#writes.add(settle);
      this.#tls.write(
        Buffer.from(p.buffer, p.byteOffset, p.byteLength),
        (error?: Error | null) => settle(error ?? undefined),
      );
    });
  }

  closeWrite(): Promise<void> {
    return new Promise((resolve) => this.#tls.end(() => resolve()));
  }

  /**
   * Closes. Once the session is up, as Deno's own TLS conns do, TLS's
   * close_notify is sent first (what was written before goes out too); a
   * peer that does not take it within {@linkcode CLOSE_NOTIFY_WAIT} ms is
   * cut off. During the handshake (a timeout, a stopped port) the socket is
   * closed at once.
   */
  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("closed");
    this.#closed = true;
    const tls = this.#tls;
    const finish = () => {
      clearTimeout(timer);
      tls.destroy();
      try {
        this.#raw.close();
      } catch {
        // the bridge closed it already
      }
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (this.#secure && this.#error === undefined && !tls.destroyed) {
      timer = setTimeout(finish, CLOSE_NOTIFY_WAIT);
      tls.end(finish);
    } else {
      finish();
    }
    for (const settle of [...this.#writes]) {
      settle(new Deno.errors.Interrupted("closed"));
    }
    this.#notify();
  }

  ref(): void {
    this.#raw.ref();
  }

  unref(): void {
    this.#raw.unref();
  }

  setNoDelay(on?: boolean): void {
    (this.#raw as Partial<Deno.TcpConn>).setNoDelay?.(on);
  }

  setKeepAlive(on?: boolean): void {
    (this.#raw as Partial<Deno.TcpConn>).setKeepAlive?.(on);
  }

  [Symbol.dispose](): void {
    if (!this.#closed) this.close();
  }
}
