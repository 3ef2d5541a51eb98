// Shared by every part of sealtrail (lib/ imports nothing else from the project).
// One error base class with codes. Callers and tests branch on `code`, never on the message.
// `retryable` decides what a client sees: retryable -> gRPC UNAVAILABLE / HTTP 503 (or 429);
// permanent -> gRPC INVALID_ARGUMENT / HTTP 400 (or the specific 4xx in `httpStatus`).

export type ErrorCode =
  | 'BAD_REQUEST' // malformed protobuf/JSON, invalid UTF-8, bad field types
  | 'TOO_LARGE' // body or decompressed payload over the configured limit
  | 'TOO_DEEP' // AnyValue nesting over the limit
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'UNAUTHENTICATED'
  | 'BUFFER_FULL' // retryable: the buffer is at its size limit
  | 'OVERLOADED' // retryable: too many decoded records are waiting for the disk
  | 'SHUTTING_DOWN' // retryable: the agent is stopping
  | 'STORAGE' // retryable: the buffer write failed; nothing was acknowledged
  | 'CONFIG'
  | 'KEY'
  | 'BUFFER_CORRUPT'
  | 'DATA_DIR_IN_USE' // another agent holds the data directory
  | 'SINK_CONFLICT'
  | 'SINK_PERMANENT'
  | 'SINK_TRANSIENT';

const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['BUFFER_FULL', 'OVERLOADED', 'SHUTTING_DOWN', 'STORAGE', 'SINK_TRANSIENT']);

export class SealtrailError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** Seconds a client should wait before retrying (only for retryable errors). */
  readonly retryAfterSeconds?: number;

  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SealtrailError';
    this.code = code;
    this.retryable = RETRYABLE.has(code);
    if (opts.retryAfterSeconds !== undefined) this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

export function isSealtrailError(err: unknown, code?: ErrorCode): err is SealtrailError {
  return err instanceof SealtrailError && (code === undefined || err.code === code);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
