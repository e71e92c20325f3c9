/**
 * Framers: LineReceiver, NetstringReceiver, IntNStringReceiver, FileSender.
 *
 * @module
 */

export {};
