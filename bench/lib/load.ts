// Runs one load (load-worker.ts) in a worker thread. `onMeasureStart` fires when the warm-up
// ends, so the caller can take its /proc readings at the edges of the measured window.
import type { RecordShape } from './requests.js';
import { Worker } from 'node:worker_threads';

export interface LoadSpec {
  transport: 'grpc' | 'http';
  addr: string;
  mode: 'closed' | 'open';
  concurrency: number; // closed loop
  requestsPerSecond?: number; // open loop
  maxInFlight?: number; // open loop
  recordsPerRequest: number;
  shape: RecordShape;
  warmupMs: number;
  durationMs: number;
  distinctBodies?: number;
}

export interface LoadResult {
  okRequests: number;
  okRecords: number;
  errors: Record<string, number>; // status (HTTP, or 1000 + gRPC code) -> count
  skipped: number;
  seconds: number;
  latenciesMs: Float64Array;
}

export function runLoad(spec: LoadSpec, hooks: { onMeasureStart?: () => void } = {}): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: spec });
    w.on('message', (m: { type: string; result?: LoadResult; error?: string }) => {
      if (m.type === 'measure-start') hooks.onMeasureStart?.();
      else if (m.type === 'done') resolve(m.result!);
      else if (m.type === 'error') reject(new Error(m.error));
    });
    w.on('error', reject);
    w.on('exit', (code) => {
      if (code !== 0) reject(new Error(`load worker exited with ${code}`));
    });
  });
}
