// Splits a byte stream into '\n'-terminated lines without copying when a line lies within one
// chunk. Archive objects are hostile: a line longer than `maxLineBytes` or a missing final
// newline ends the stream with a LineError (after every complete line has been yielded).
import { MAX_ENTRY_LINE_BYTES } from './limits.js';

export class LineError extends Error {
  constructor(
    readonly code: 'LINE_TOO_LONG' | 'NO_FINAL_NEWLINE',
    message: string,
  ) {
    super(message);
    this.name = 'LineError';
  }
}

// The same constant bounds what the agent writes (verify/limits.ts).
export const DEFAULT_MAX_LINE_BYTES = MAX_ENTRY_LINE_BYTES;

/** Yields each line without its '\n'. The yielded array is only valid until the next step. */
export async function* splitLines(src: AsyncIterable<Uint8Array>, maxLineBytes = DEFAULT_MAX_LINE_BYTES): AsyncGenerator<Uint8Array> {
  let carry: Uint8Array[] = [];
  let carryLen = 0;
  for await (const chunk of src) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      if (carryLen === 0) {
        yield chunk.subarray(start, nl);
      } else {
        const line = new Uint8Array(carryLen + nl - start);
        let o = 0;
        for (const c of carry) {
          line.set(c, o);
          o += c.length;
        }
        line.set(chunk.subarray(start, nl), o);
        carry = [];
        carryLen = 0;
        if (line.length > maxLineBytes) throw new LineError('LINE_TOO_LONG', `line longer than ${maxLineBytes} bytes`);
        yield line;
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      // Copy: the source may reuse its chunk buffers.
      carry.push(chunk.slice(start));
      carryLen += chunk.length - start;
      if (carryLen > maxLineBytes) throw new LineError('LINE_TOO_LONG', `line longer than ${maxLineBytes} bytes`);
    }
  }
  if (carryLen > 0) throw new LineError('NO_FINAL_NEWLINE', 'the object does not end with a newline (truncated or appended to)');
}
