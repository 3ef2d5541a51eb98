// Maps AWS SDK / S3 failures onto the sink error codes (exporters/sink.ts).
// Retryable (SINK_TRANSIENT): no HTTP response at all (connection refused/reset, DNS, timeouts),
// any 5xx (including 503 SlowDown), 429 and 408, and S3's own "try again" codes that arrive as
// 400 (RequestTimeout). Everything else — 403 AccessDenied/InvalidAccessKeyId/
// SignatureDoesNotMatch, other 400s, 404 NoSuchBucket, 301 wrong region — is SINK_PERMANENT:
// retrying cannot fix it without an operator, so the forwarder retries it loudly and slowly.
import { SealtrailError } from '../../lib/errors.js';

/** Retryable S3 error codes that do not come with a 5xx/429 status. */
const TRANSIENT_CODES = new Set([
  'RequestTimeout',
  'RequestTimeTooSkewed', // clock fixed by NTP later; the request is re-signed on retry
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestThrottled',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  'AbortError',
  // Content-MD5 is computed from the bytes we hold, so a mismatch means corruption in transit.
  'BadDigest',
]);

export interface S3ErrorInfo {
  /** S3 error code ("AccessDenied", "NoSuchBucket", ...) or the SDK error name. */
  name: string;
  /** HTTP status, or undefined when no response was received. */
  status: number | undefined;
}

export function s3ErrorInfo(err: unknown): S3ErrorInfo {
  const e = err as { name?: unknown; Code?: unknown; code?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const name = typeof e?.Code === 'string' ? e.Code : typeof e?.name === 'string' ? e.name : typeof e?.code === 'string' ? e.code : 'Error';
  const status = typeof e?.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  return { name, status };
}

export function isTransientS3Error(err: unknown): boolean {
  const { name, status } = s3ErrorInfo(err);
  if (status === undefined) {
    // No response: network failure, or a credential-provider failure before sending.
    return !/Credentials?ProviderError|CredentialsError/.test(name);
  }
  return status >= 500 || status === 429 || status === 408 || TRANSIENT_CODES.has(name);
}

/** The HTTP status of an S3 error, if it is exactly `status`. */
export function hasStatus(err: unknown, status: number): boolean {
  return s3ErrorInfo(err).status === status;
}

/** Wraps an S3 failure as SINK_TRANSIENT or SINK_PERMANENT with what was being done. */
export function sinkErrorFrom(err: unknown, doing: string): SealtrailError {
  const { name, status } = s3ErrorInfo(err);
  const detail = `${status ?? 'no response'} ${name}: ${err instanceof Error ? err.message : String(err)}`;
  const code = isTransientS3Error(err) ? 'SINK_TRANSIENT' : 'SINK_PERMANENT';
  return new SealtrailError(code, `${doing} failed (${detail})`, { cause: err });
}
