/**
 * Framers: protocols that turn a byte stream into messages, as Twisted's
 * `twisted.protocols.basic`. This is the module to import; each family
 * lives in its own file.
 *
 * - {@linkcode LineReceiver}: lines (UTF-8 strings) with a raw-data mode;
 *   {@linkcode BytesLineReceiver}: the same with lines as bytes
 *   (`lines.ts`).
 * - {@linkcode LineOnlyReceiver}: lines only (`lines.ts`).
 * - {@linkcode NetstringReceiver}: `len:data,` netstrings (`netstrings.ts`).
 * - {@linkcode Int8StringReceiver}, {@linkcode Int16StringReceiver},
 *   {@linkcode Int32StringReceiver}: big-endian length prefixes
 *   (`intn.ts`).
 *
 * (Twisted's `basic` module also has `FileSender`: here it has its own
 * file, `file_sender.ts`.)
 *
 * Every receiver keeps its unparsed bytes in one shared kind of buffer with
 * a read offset and a search offset, so no byte is copied per chunk or
 * searched twice: feeding 10 MB a byte at a time, or a 1 MB line in 1 KB
 * chunks, costs O(n). They share one base (`_framer.ts`) for what is not
 * parsing: each stops delivering once its transport is disconnecting or
 * while it is paused (`pauseProducing`, `resumeProducing`,
 * `stopProducing`), and the re-entrant calls a callback may make
 * (`setLineMode(extra)`, `resumeProducing()`) only queue data for the loop
 * already running, so the stack never grows with the number of messages.
 *
 * @module
 */

export { BytesLineReceiver, LineOnlyReceiver, LineReceiver } from "./lines.ts";
export { NetstringReceiver } from "./netstrings.ts";
export {
  Int16StringReceiver,
  Int32StringReceiver,
  Int8StringReceiver,
  IntNStringReceiver,
  StringTooLongError,
} from "./intn.ts";
