// Delivers one sealed batch to one sink, in the order docs/formats.md requires: the entries
// object first, the checkpoint object only after the entries object is durable there, so a
// checkpoint never names entries a reader cannot find.
// Redelivery is safe: identical objects come back 'exists' from the sink.
// Also holds the object-name check every sink applies to names it is given.

import { gunzipSync, gzipSync } from 'node:zlib';
import { isSealtrailError, SealtrailError } from '../lib/errors.js';
import { checkpointObjectName, entriesObjectName } from '../verify/layout.js';
import type { Sink } from './sink.js';
import { checkLinks } from '../agent/buffer/check-links.js';

export interface SealedBatch {
  /** "sealtrail/<agent name>/<chain id>", also the checkpoint's origin line. */
  origin: string;
  /** First entry position (inclusive). */
  start: number;
  /** Tree size after the batch (exclusive end). */
  end: number;
  /** All entry lines of [start, end), each ending in '\n'. */
  lines: Uint8Array;
  /** The signed checkpoint note of tree size `end`. */
  checkpoint: string;
}

export interface DeliverOptions {
  gzip: boolean;
  /**
   * The lines were read back from the agent's buffer: check their seq and prev links
   * (checkLinks) before anything is put; damage rejects with BUFFER_CORRUPT and nothing reaches
   * the sink. Set by the forwarder, so the sink worker does this work instead of the main thread.
   */
  checkLinks?: boolean;
  /**
   * The caller holds the only reference to `lines` and never reads them again: a sink in a
   * worker thread takes their memory (the caller's view is emptied) instead of a copy of 4 MiB
   * per batch. Ignored by sinks that run on the caller's thread.
   */
  transferLines?: boolean;
}

// Fixed so the same batch compresses to the same bytes on every retry with this zlib build
// (Node writes a gzip header with mtime 0, so the output is otherwise deterministic).
const GZIP_LEVEL = 6;

export function encodeEntriesObject(lines: Uint8Array, gzip: boolean): Uint8Array {
  return gzip ? new Uint8Array(gzipSync(lines, { level: GZIP_LEVEL })) : lines;
}

/**
 * Puts the batch's entries object, then its checkpoint object. Rejects with the sink's coded
 * error (SINK_TRANSIENT / SINK_PERMANENT / SINK_CONFLICT); the checkpoint is never put when
 * the entries put did not succeed.
 */
export async function deliverBatch(sink: Sink, batch: SealedBatch, opts: DeliverOptions): Promise<void> {
  checkBeforeDelivery(batch, opts);
  const entriesName = entriesObjectName(batch.origin, batch.start, batch.end, opts.gzip);
  try {
    await sink.put(entriesName, encodeEntriesObject(batch.lines, opts.gzip));
  } catch (err) {
    if (!(opts.gzip && isSealtrailError(err, 'SINK_CONFLICT') && (await sameGzipContent(sink, entriesName, batch.lines)))) {
      throw err;
    }
    // Same entries compressed differently (e.g. by another zlib version): already delivered.
  }
  await sink.put(checkpointObjectName(batch.origin, batch.start, batch.end), new TextEncoder().encode(batch.checkpoint));
}

/** The error for a batch not handed to a sink because the delivery of the batch before it failed. */
export function notAttempted(batch: { start: number; end: number }): SealtrailError {
  return new SealtrailError('SINK_TRANSIENT', `batch [${batch.start}, ${batch.end}) was not attempted: the delivery before it failed`);
}

/** The check `opts.checkLinks` asks for (BUFFER_CORRUPT on damage); for sinks that deliver whole batches too. */
export function checkBeforeDelivery(batch: SealedBatch, opts: DeliverOptions): void {
  if (opts.checkLinks) checkLinks(Buffer.from(batch.lines.buffer, batch.lines.byteOffset, batch.lines.byteLength), batch.start);
}

/** True when the stored .gz object decompresses to exactly `lines`. */
async function sameGzipContent(sink: Sink, name: string, lines: Uint8Array): Promise<boolean> {
  const existing = await sink.get(name);
  if (existing === null) return false;
  let raw: Buffer;
  try {
    // The stored object is untrusted: cap the output so a gzip bomb cannot exhaust memory.
    raw = gunzipSync(existing, { maxOutputLength: lines.length + 1 });
  } catch {
    return false; // not gzip, corrupt, or longer than ours: a real conflict
  }
  return Buffer.compare(raw, lines) === 0;
}

/**
 * Rejects names that could escape a sink's root or alias another object: the shared layout
 * only produces '/'-separated relative paths of plain segments. Throws SINK_PERMANENT.
 */
export function assertObjectName(name: string): void {
  const bad = (why: string): never => {
    throw new SealtrailError('SINK_PERMANENT', `invalid object name ${JSON.stringify(name)}: ${why}`);
  };
  if (typeof name !== 'string' || name.length === 0) bad('empty');
  if (name.length > 1024) bad('longer than 1024 characters');
  if (name.startsWith('/')) bad('absolute path');
  if (name.includes('\\')) bad('contains a backslash');
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
  if (/[\u0000-\u001f\u007f]/.test(name)) bad('contains a control character');
  for (const seg of name.split('/')) {
    if (seg === '') bad('empty path segment');
    if (seg === '.' || seg === '..') bad(`path segment ${JSON.stringify(seg)}`);
    if (seg.startsWith('.tmp-')) bad('segment uses the reserved ".tmp-" prefix');
  }
}
