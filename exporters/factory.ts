// Builds the configured sinks. Every sink type lives in its own folder with the same shape.
import type { ExporterConfig } from '../config/types.js';
import type { LogFn } from '../lib/log.js';
import type { Sink } from './sink.js';
import { FileSink } from './file/file-sink.js';
import { WorkerSink } from './worker/worker-sink.js';
import { ModuleSink } from './module/module-sink.js';
import { GatewaySink } from './gateway/gateway-sink.js';

/** Builds a sink that runs on the calling thread (used inside a sink worker, and in tests). */
export async function createDirectSink(cfg: ExporterConfig, log: LogFn): Promise<Sink> {
  switch (cfg.type) {
    case 'file':
      return new FileSink(cfg, log);
    case 's3':
      // Loaded on demand: the AWS SDK costs seconds of start-up and memory, so only an s3 sink loads it.
      return (await import('./s3/index.js')).createS3Sink(cfg, log);
    case 'module':
      return new ModuleSink(cfg, log);
    case 'sealtrail':
      return new GatewaySink(cfg, log);
    default:
      throw new Error(`exporter type ${(cfg as { type: string }).type} is not available`);
  }
}

/** The agent's sinks: each runs in its own worker thread, off the busy main thread. */
export function createSink(cfg: ExporterConfig, log: LogFn): Sink {
  return new WorkerSink(cfg, log);
}
