// Reads an HTTP request body within its size limit. Node's HTTP parser hands each body chunk
// over as a copy of its own (up to 64 KiB), so once the chunks are copied into the body, or
// discarded, they are freed at once (releaseNow) rather than at the main thread's next full
// collection: a 2 MB body arrives in about 32 of them, and under overload the bodies of
// refused requests are read and discarded too. A body of known length (Content-Length) is
// read into one buffer of that size as it arrives, so it is never held twice (chunks, then
// their concatenation), as the gRPC receiver does with its message.
import type http from 'node:http';
import { releaseNow } from '../../lib/own-memory.js';

export type BodyResult = { body: Buffer } | { tooLarge: true; drained: boolean };

/**
 * Reads the body up to `limit` bytes. Past the limit nothing more is kept; the rest is read and
 * discarded until `drainLimit` more bytes, then reading stops (drained: false).
 */
export function readBody(req: http.IncomingMessage, limit: number, drainLimit: number, length: number | null = null): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Node's parser delivers exactly Content-Length bytes; the checks below still hold if not.
    let whole: Buffer | null = length !== null && length > 0 && length <= limit ? Buffer.allocUnsafeSlow(length) : null;
    let over = false;
    let discarded = 0;
    let done = false;
    const finish = (r: BodyResult | Error): void => {
      if (done) return;
      done = true;
      if (r instanceof Error) {
        for (const c of chunks) releaseNow(c); // the client went away mid-body
        if (whole) releaseNow(whole);
      }
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onError);
      req.removeListener('close', onClose);
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const onData = (chunk: Buffer): void => {
      if (over) {
        discarded += chunk.length;
        releaseNow(chunk);
        if (discarded > drainLimit) {
          req.pause();
          finish({ tooLarge: true, drained: false });
        }
        return;
      }
      if (whole && size + chunk.length > whole.length) {
        // More than declared: go on as for a body of unknown length.
        chunks.push(whole.subarray(0, size));
        whole = null;
      }
      if (whole) {
        chunk.copy(whole, size);
        size += chunk.length;
        releaseNow(chunk);
        return;
      }
      size += chunk.length;
      if (size > limit) {
        over = true;
        for (const c of chunks) releaseNow(c);
        chunks.length = 0;
        releaseNow(chunk);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      if (over) return finish({ tooLarge: true, drained: true });
      if (whole) {
        // Fewer bytes than declared: what arrived, as for a body of unknown length.
        finish({ body: size === whole.length ? whole : Buffer.from(whole.subarray(0, size)) });
        return;
      }
      const body = Buffer.concat(chunks, size); // always a copy, so the chunks can go
      for (const c of chunks) releaseNow(c);
      finish({ body });
    };
    const onError = (err: Error): void => finish(err);
    const onClose = (): void => finish(new Error('client closed the connection before the body ended'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
