// Shared helpers for the s3 sink tests (configs and a log that records warnings).
import { randomBytes } from 'node:crypto';
import type { S3ExporterConfig } from '../../config/types.js';
import type { LogFn } from '../../lib/log.js';
import type { S3Server } from '../setup/s3/server.js';

/** A short COMPLIANCE retention (seconds, as a fraction of a day) so test objects expire soon. */
export function retainSeconds(s: number): number {
  return s / 86_400;
}

export function s3Config(server: S3Server, over: Partial<S3ExporterConfig> & { bucket: string }): S3ExporterConfig {
  return {
    type: 's3',
    id: 's3/test',
    prefix: `run-${randomBytes(4).toString('hex')}/`,
    region: server.region,
    endpoint: server.endpoint,
    forcePathStyle: true,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    sessionToken: null,
    compression: 'none',
    objectLock: { mode: 'COMPLIANCE', retainDays: retainSeconds(120) },
    legalHold: false,
    ...over,
  };
}

export type RecordingLog = LogFn & { warnings: string[] };

/** A LogFn that keeps warn/error messages for assertions. */
export function recordingLog(): RecordingLog {
  const warnings: string[] = [];
  const fn: LogFn = (level, msg) => {
    if (level === 'warn' || level === 'error') warnings.push(msg);
  };
  return Object.assign(fn, { warnings });
}
