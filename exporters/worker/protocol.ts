// Messages between the agent and a sink worker (worker-sink.ts <-> sink-worker.ts).
import type { ExporterConfig } from '../../config/types.js';
import type { ErrorCode } from '../../lib/errors.js';
import type { LogLevel } from '../../lib/log.js';
import type { DeliverOptions, SealedBatch } from '../deliver.js';

export interface WorkerInit {
  cfg: ExporterConfig;
}

export type Call =
  | { id: number; op: 'start' }
  | { id: number; op: 'put'; name: string; body: Uint8Array }
  | { id: number; op: 'get'; name: string }
  | { id: number; op: 'deliver'; batch: SealedBatch; opts: DeliverOptions }
  | { id: number; op: 'close' };

export interface SerializedError {
  code: ErrorCode | null; // a SealtrailError's code, null for anything else
  message: string;
}

export type Reply =
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: SerializedError }
  | { type: 'log'; level: LogLevel; msg: string; fields?: Record<string, unknown> };
