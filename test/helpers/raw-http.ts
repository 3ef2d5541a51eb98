// A raw HTTP/1.1 connection over node:net for tests that need the exact bytes on the wire:
// pipelined requests, Expect: 100-continue, slow senders. Everything the server sends is kept.
import net from 'node:net';

export interface RawResponse {
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: Buffer;
}

export class RawConnection {
  private chunks: Buffer[] = [];
  private waiters: Array<() => void> = [];
  /** Resolves when the server closed the connection (or it was reset). */
  readonly closed: Promise<void>;
  /** The socket error, if the connection ended with one (ECONNRESET, EPIPE). */
  error: NodeJS.ErrnoException | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.wake();
    });
    socket.on('error', (err) => {
      this.error = err;
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.wake();
        resolve();
      }),
    );
  }

  static connect(address: string): Promise<RawConnection> {
    const i = address.lastIndexOf(':');
    const socket = net.connect(Number(address.slice(i + 1)), address.slice(0, i));
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Everything received so far. */
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get text(): string {
    return this.bytes.toString('latin1');
  }

  get isClosed(): boolean {
    return this.socket.destroyed;
  }

  /** Writes; a write the server no longer reads is not an error here (see `error`). */
  write(data: Buffer | string): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.write(data, () => resolve());
    });
  }

  /** Waits until `pred` holds for the received text, or the connection closed (then checks once more). */
  async waitFor(pred: (text: string) => boolean, timeoutMs = 30000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (pred(this.text)) return true;
      if (this.socket.destroyed) return pred(this.text);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting on a raw connection; received: ${JSON.stringify(this.text.slice(0, 500))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * Splits the bytes of consecutive HTTP/1.1 responses (1xx without a body, others framed by
 * Content-Length). Throws on anything else, so a test sees malformed framing as a failure.
 */
export function parseResponses(bytes: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', at, 'latin1');
    if (end < 0) throw new Error(`incomplete response head at byte ${at}: ${JSON.stringify(bytes.subarray(at).toString('latin1'))}`);
    const [statusLine, ...lines] = bytes.subarray(at, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine!);
    if (!m) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const c = l.indexOf(':');
      headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
    }
    const status = Number(m[1]);
    const length = status < 200 ? 0 : Number(headers['content-length'] ?? NaN);
    if (!Number.isInteger(length)) throw new Error(`response ${status} has no Content-Length`);
    if (end + 4 + length > bytes.length) throw new Error(`response ${status} body truncated`);
    out.push({ status, headers, body: bytes.subarray(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return out;
}

/** The head of a POST /v1/logs request with a protobuf body of `length` bytes. */
export function postHead(length: number, extra: Record<string, string> = {}): string {
  const headers = { Host: 'sealtrail.test', 'Content-Type': 'application/x-protobuf', 'Content-Length': String(length), ...extra };
  return `POST /v1/logs HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}
