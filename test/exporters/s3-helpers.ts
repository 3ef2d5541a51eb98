// Shared helpers for the s3 sink tests (configs and a log that records warnings).
import { randomBytes } from 'node:crypto';
import type { S3ExporterConfig } from '../../config/types.js';
import type { S3SinkLog } from '../../exporters/s3/index.js';
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

export interface RecordingLog extends S3SinkLog {
  warnings: string[];
}

export function recordingLog(): RecordingLog {
  const warnings: string[] = [];
  return { warnings, warn: (msg) => void warnings.push(msg), info: () => {} };
}
