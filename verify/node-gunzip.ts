// zlib-based gunzip for Node callers (measured slower than DecompressionStream on Node 20 in
// bench/verify.bench.ts, so the commands use the web one; kept as an injectable option). Like the web
// one it rejects trailing bytes after the single gzip member: the agent writes exactly one.
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import type { Decompressor } from './gunzip.js';

export const nodeGunzip: Decompressor = async function* (src) {
  const gunzip = createGunzip();
  const input = Readable.from(src, { objectMode: false });
  input.on('error', (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  for await (const chunk of gunzip) yield chunk as Uint8Array;
};
