// Builds the S3 client for the sink from its resolved config.
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { S3ExporterConfig } from '../../config/types.js';

/** Client timeouts: a hung server must surface as a transient error, not a stuck forwarder. */
export const CONNECT_TIMEOUT_MS = 5_000;
export const REQUEST_TIMEOUT_MS = 60_000;

export function makeS3Client(cfg: S3ExporterConfig): S3Client {
  const opts: S3ClientConfig = {
    region: cfg.region,
    forcePathStyle: cfg.forcePathStyle,
    // The SDK's default CRC32 trailing checksums are refused by S3-compatible servers such as
    // Ceph RGW 16 (411 MissingContentLength); we always send Content-MD5 instead, which AWS
    // accepts for Object Lock puts and which RGW verifies (400 BadDigest on mismatch).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // The forwarder owns retries (forever, with backoff); one SDK retry smooths over blips.
    maxAttempts: 2,
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
  };
  if (cfg.endpoint) opts.endpoint = cfg.endpoint;
  if (cfg.accessKeyId && cfg.secretAccessKey) {
    opts.credentials = {
      accessKeyId: cfg.accessKeyId,
      secretAccessKey: cfg.secretAccessKey,
      ...(cfg.sessionToken ? { sessionToken: cfg.sessionToken } : {}),
    };
  } // else: the SDK's default chain (env, shared files, SSO, web identity, IMDS/ECS).
  return new S3Client(opts);
}
