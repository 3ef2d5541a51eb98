// The `s3` exporter: factory used by the agent's pipeline wiring.
import type { S3ExporterConfig } from '../../config/types.js';
import type { Sink } from '../sink.js';
import { S3Sink, type S3SinkLog } from './s3-sink.js';

export { S3Sink, type S3SinkLog } from './s3-sink.js';

export function createS3Sink(cfg: S3ExporterConfig, log: S3SinkLog): Sink {
  return new S3Sink(cfg, log);
}
