// zlib-based gunzip for Node callers (faster than DecompressionStream on Node). Like the web
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
