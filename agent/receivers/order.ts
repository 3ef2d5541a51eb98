// HTTP/1.1 answers in request order on a pipelined connection (RFC 9112 section 9.3.2).
//
// Node queues the responses of the requests it parsed in order by itself. A parse error is
// different: Node hands the bare socket to 'clientError', and an answer written there at once
// overtakes the responses still being produced for earlier requests on the connection. The
// client then reads the 400 as the answer to its valid export and never sees the 200, though
// the records were stored, and a retry duplicates them.
//
// So the error answer waits: every earlier request that arrived whole is answered first, then
// the error status goes out and the connection is closed. A request whose body was still
// arriving when the error (or a timeout) hit cannot be completed; the error answer is its
// answer, and nothing of it was ingested.
import type { Duplex } from 'node:stream';
import type http from 'node:http';
import type { LogFn } from '../../lib/log.js';

/** Status lines for the errors Node's parser and deadlines report (as Node answers them itself). */
function statusLine(code: string | undefined): string {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return '431 Request Header Fields Too Large';
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return '413 Payload Too Large';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return '408 Request Timeout';
    default:
      return '400 Bad Request';
  }
}

/** How long a closed-for-error connection may stay half-open before it is dropped. */
const LINGER_MS = 5000;

interface SocketState {
  /** Responses not yet finished, in arrival order. */
  open: Set<http.ServerResponse>;
  /** The error answer waiting for `open` to empty; set once. */
  answer: string | null;
}

export class ResponseOrder {
  private readonly sockets = new WeakMap<Duplex, SocketState>();

  constructor(private readonly log: LogFn) {}

  private state(socket: Duplex): SocketState {
    let s = this.sockets.get(socket);
    if (!s) {
      s = { open: new Set(), answer: null };
      this.sockets.set(socket, s);
    }
    return s;
  }

  /** Call for every request as it arrives (before anything is written for it). */
  track(req: http.IncomingMessage, res: http.ServerResponse): void {
    // req.socket, not res.socket: a pipelined response waiting its turn has no socket yet.
    const socket = req.socket;
    const s = this.state(socket);
    s.open.add(res);
    res.once('close', () => {
      s.open.delete(res);
      this.flush(socket, s);
    });
  }

  /** The server's 'clientError' handler: answer after the earlier responses, then close. */
  clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    const s = this.state(socket);
    if (s.answer !== null) return; // the parser reports again for every later chunk
    this.log('debug', 'otlp/http: client error', { error: err.message, code: err.code });
    if (err.code === 'ECONNRESET' || !socket.writable) {
      s.answer = '';
      socket.destroy();
      return;
    }
    s.answer = `HTTP/1.1 ${statusLine(err.code)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
    // A request still receiving its body will never complete: this answer is its answer.
    for (const res of s.open) if (!res.req.complete) s.open.delete(res);
    this.flush(socket, s);
  }

  private flush(socket: Duplex, s: SocketState): void {
    if (s.answer === null || s.open.size > 0 || socket.destroyed) return;
    const answer = s.answer;
    s.answer = '';
    if (answer === '') return;
    socket.end(answer);
    // Close fully once the client has read it; a client that never closes its side is cut.
    const t = setTimeout(() => socket.destroy(), LINGER_MS);
    t.unref();
    socket.once('close', () => clearTimeout(t));
  }
}
