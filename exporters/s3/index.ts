// The `s3` exporter: factory used by the agent's pipeline wiring.
import type { S3ExporterConfig } from '../../config/types.js';
import type { Sink } from '../sink.js';
import type { LogFn } from '../../lib/log.js';
import { S3Sink } from './s3-sink.js';

export { S3Sink } from './s3-sink.js';

export function createS3Sink(cfg: S3ExporterConfig, log: LogFn): Sink {
  return new S3Sink(cfg, log);
}
