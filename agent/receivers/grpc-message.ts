// The wire pieces of a unary gRPC call over HTTP/2 that the receiver handles itself
// (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md): the one request message,
// read from hostile DATA chunks, and the status sent back in trailers.
//
// A message is a 5-byte prefix (compressed flag, 4-byte big-endian length) and that many bytes.
// The reader checks the declared length against the limit and asks for it from the in-flight
// budget before allocating anything, then copies each chunk into one buffer of exactly that
// size as it arrives: the message is held once, not as chunks plus their concatenation, and a
// call whose message does not fit is refused at its prefix, before its bytes are read.
import { SealtrailError } from '../../lib/errors.js';
import { GRPC_INTERNAL } from './common.js';

const PREFIX_BYTES = 5;

/** A violation of the gRPC wire protocol, answered with its own status code. */
export class GrpcProtocolError extends Error {
  constructor(
    readonly grpcCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'GrpcProtocolError';
  }
}

export interface GrpcMessage {
  bytes: Buffer;
  compressed: boolean;
}

export class GrpcMessageReader {
  private readonly prefix = Buffer.alloc(PREFIX_BYTES);
  private prefixHave = 0;
  private message: Buffer | null = null;
  private filled = 0;
  private compressed = false;

  /**
   * `maxBytes`: the largest message accepted on the wire. `reserve(n)`: called once with the
   * declared length, before the message is allocated; false refuses the call (it throws what
   * `refused()` returns).
   */
  constructor(
    private readonly maxBytes: number,
    private readonly reserve: (bytes: number) => boolean,
    private readonly refused: () => Error,
  ) {}

  /** Whether the whole message has arrived. */
  get complete(): boolean {
    return this.message !== null && this.filled === this.message.length;
  }

  /** Takes the next DATA chunk. Throws a SealtrailError or GrpcProtocolError for a call to refuse. */
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.message === null) {
        const n = Math.min(PREFIX_BYTES - this.prefixHave, chunk.length - at);
        chunk.copy(this.prefix, this.prefixHave, at, at + n);
        this.prefixHave += n;
        at += n;
        if (this.prefixHave === PREFIX_BYTES) this.start();
        continue;
      }
      if (this.complete) throw new GrpcProtocolError(GRPC_INTERNAL, 'a unary call carries one request message; more data followed it');
      const n = Math.min(this.message.length - this.filled, chunk.length - at);
      chunk.copy(this.message, this.filled, at, at + n);
      this.filled += n;
      at += n;
    }
  }

  /** At the end of the request stream: the message, or why there is none. */
  finish(): GrpcMessage {
    if (this.message === null && this.prefixHave === 0)
      throw new GrpcProtocolError(GRPC_INTERNAL, 'the call ended without a request message');
    if (!this.complete) {
      const want = this.message === null ? PREFIX_BYTES : this.message.length;
      const have = this.message === null ? this.prefixHave : this.filled;
      throw new GrpcProtocolError(GRPC_INTERNAL, `the call ended inside its request message (${have} of ${want} bytes)`);
    }
    return { bytes: this.message!, compressed: this.compressed };
  }

  private start(): void {
    const flag = this.prefix[0]!;
    if (flag > 1) throw new GrpcProtocolError(GRPC_INTERNAL, `invalid compressed flag ${flag} in the message prefix`);
    const length = this.prefix.readUInt32BE(1);
    if (length > this.maxBytes) {
      throw new SealtrailError('TOO_LARGE', `request message of ${length} bytes exceeds max_recv_msg_size (${this.maxBytes})`);
    }
    if (!this.reserve(length)) throw this.refused();
    this.compressed = flag === 1;
    // Memory of its own, so it can be transferred to the decode worker or freed at once.
    this.message = Buffer.allocUnsafeSlow(length);
  }
}

/**
 * grpc-message is percent-encoded: bytes outside printable ASCII, and '%' itself, become %XX
 * of their UTF-8 bytes.
 */
export function percentEncodeGrpcMessage(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = '';
  for (const b of Buffer.from(message, 'utf8')) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Binary (-bin) header values are base64; the protocol asks senders to leave out the padding. */
export function binaryHeaderValue(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}
