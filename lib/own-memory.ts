// Large byte arrays that span memory of their own. Such memory can be handed to another thread
// without a copy (agent/otlp/decode-pool.ts), or freed as soon as its last use is over
// (releaseNow) instead of when V8 next collects the thread's heap: until then it counts as
// garbage in malloc's arenas and towards the external memory that triggers full collections.
// Neither is safe for a view into Node's Buffer pool or into a bigger buffer, whose memory
// holds other data too.

/** Nothing this big comes from Node's Buffer pool (8 KiB). */
const OWN_MIN_BYTES = 64 << 10;
/** Bytes of the memory outside the view that may go along (gRPC's 5-byte message prefix). */
const OWN_MAX_SLACK = 64;

/** True when `view` is big and its ArrayBuffer holds nothing else (up to OWN_MAX_SLACK bytes). */
export function spansOwnMemory(view: Uint8Array): view is Uint8Array<ArrayBuffer> {
  const memory = view.buffer;
  return view.byteLength >= OWN_MIN_BYTES && memory instanceof ArrayBuffer && memory.byteLength - view.byteLength <= OWN_MAX_SLACK;
}

type Transferable = ArrayBuffer & { transfer?: (length: number) => ArrayBuffer; detached?: boolean };

/**
 * Frees the memory of `view` now, when it spans memory of its own; every view of that memory
 * becomes empty. Call it only after the last read. Returns whether it freed anything: it needs
 * ArrayBuffer.prototype.transfer (Node >= 22); elsewhere the collector frees it, as before.
 */
export function releaseNow(view: Uint8Array): boolean {
  if (!spansOwnMemory(view)) return false;
  const memory = view.buffer as Transferable;
  if (typeof memory.transfer !== 'function' || memory.detached === true) return false;
  memory.transfer(0);
  return true;
}
