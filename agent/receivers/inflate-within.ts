// Inflates a compressed request body (HTTP's Content-Encoding: gzip, gRPC's gzip or deflate
// messages) within two bounds: at most `maxOutput` bytes come out, and each piece grows the
// request's in-flight lease as it comes out, so a decompression bomb stops at the first bound
// it passes instead of at the end of its output.
import zlib from 'node:zlib';
import { SealtrailError } from '../../lib/errors.js';
import { overBudget, type Lease } from './inflight.js';

export type Compression = 'gzip' | 'deflate';

export function inflateWithin(body: Buffer, format: Compression, maxOutput: number, lease: Lease, budgetMax: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const z = format === 'gzip' ? zlib.createGunzip({ chunkSize: 64 * 1024 }) : zlib.createInflate({ chunkSize: 64 * 1024 });
    const parts: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (err: SealtrailError): void => {
      if (failed) return;
      failed = true;
      parts.length = 0;
      z.destroy();
      reject(err);
    };
    z.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxOutput) return fail(new SealtrailError('TOO_LARGE', `decompressed body exceeds ${maxOutput} bytes`));
      if (!lease.grow(chunk.length)) return fail(overBudget(budgetMax));
      parts.push(chunk);
    });
    z.on('error', (err) => fail(new SealtrailError('BAD_REQUEST', `invalid ${format} body: ${err.message}`)));
    z.on('end', () => {
      if (!failed) resolve(Buffer.concat(parts, size));
    });
    z.end(body);
  });
}
