// Builds the configured sinks. Every sink type lives in its own folder with the same shape.
import type { ExporterConfig } from '../config/types.js';
import type { LogFn } from '../agent/telemetry/log.js';
import type { Sink } from './sink.js';
import { FileSink } from './file/file-sink.js';
import { createS3Sink } from './s3/index.js';

export function createSink(cfg: ExporterConfig, log: LogFn): Sink {
  switch (cfg.type) {
    case 'file':
      return new FileSink(cfg, log);
    case 's3':
      return createS3Sink(cfg, log);
    default:
      throw new Error(`exporter type ${(cfg as { type: string }).type} is not available`);
  }
}
