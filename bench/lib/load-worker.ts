// The load generator, run in a worker thread so that it never shares an event loop with the
// code that measures. Closed loop: `concurrency` requests always in flight. Open loop: requests
// start on a fixed schedule whatever the answers, and latency counts from the scheduled start
// (no coordinated omission); at most `maxInFlight` outstanding, the rest are counted as skipped.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import { benchBodies } from './requests.js';
import type { LoadSpec, LoadResult } from './load.js';

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const spec = workerData as LoadSpec;
const bodies = benchBodies(spec.distinctBodies ?? 8, spec.recordsPerRequest, spec.shape);

type Send = (body: Buffer) => Promise<number>; // 0 = acknowledged, otherwise a status

function grpcSender(addr: string): { send: Send; close(): void } {
  const client = new grpc.Client(addr, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 64 << 20 });
  const send: Send = (body) =>
    new Promise((resolve) => {
      client.makeUnaryRequest(
        EXPORT_PATH,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        new grpc.Metadata(),
        { deadline: Date.now() + 60000 },
        (err: grpc.ServiceError | null) => resolve(err ? 1000 + err.code : 0),
      );
    });
  return { send, close: () => client.close() };
}

function httpSender(addr: string, sockets: number): { send: Send; close(): void } {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const send: Send = (body) =>
    new Promise((resolve) => {
      const req = http.request(
        {
          host,
          port,
          path: '/v1/logs',
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode === 200 ? 0 : (res.statusCode ?? 599)));
        },
      );
      req.on('error', () => resolve(599));
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}

async function main(): Promise<LoadResult> {
  const sender =
    spec.transport === 'grpc'
      ? grpcSender(spec.addr)
      : httpSender(spec.addr, spec.mode === 'open' ? (spec.maxInFlight ?? 512) : spec.concurrency);
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let okRequests = 0;
  let measuring = false;
  let skipped = 0;
  let next = 0;
  const t0 = performance.now();
  const measureFrom = t0 + spec.warmupMs;
  const end = measureFrom + spec.durationMs;
  let measuredStart = 0;
  const startMeasuring = (): void => {
    if (measuring) return;
    measuring = true;
    measuredStart = performance.now();
    parentPort!.postMessage({ type: 'measure-start' });
  };

  const one = async (scheduled: number): Promise<number> => {
    const body = bodies[next++ % bodies.length]!;
    const status = await sender.send(body);
    const now = performance.now();
    if (scheduled < measureFrom || now > end) return status; // outside the window
    if (status === 0) {
      okRequests++;
      latencies.push(now - scheduled);
    } else errors[String(status)] = (errors[String(status)] ?? 0) + 1;
    return status;
  };

  if (spec.mode === 'closed') {
    const timer = setTimeout(startMeasuring, spec.warmupMs);
    await Promise.all(
      Array.from({ length: spec.concurrency }, async () => {
        while (performance.now() < end) {
          // A refusal (buffer full, shutting down) is retried after a pause, as an exporter would.
          if ((await one(performance.now())) !== 0) await sleep(20);
        }
      }),
    );
    clearTimeout(timer);
  } else {
    const rate = spec.requestsPerSecond!;
    const interval = 1000 / rate;
    const maxInFlight = spec.maxInFlight ?? 512;
    let inFlight = 0;
    const pending = new Set<Promise<unknown>>();
    let i = 0;
    while (performance.now() < end) {
      const now = performance.now();
      if (now >= measureFrom) startMeasuring();
      while (t0 + i * interval <= now) {
        const scheduled = t0 + i * interval;
        i++;
        if (inFlight >= maxInFlight) {
          if (scheduled >= measureFrom) skipped++;
          continue;
        }
        inFlight++;
        const p: Promise<unknown> = one(scheduled).finally(() => {
          inFlight--;
          pending.delete(p);
        });
        pending.add(p);
      }
      await sleep(Math.max(0, Math.min(5, t0 + i * interval - performance.now())));
    }
    await Promise.all(pending);
  }
  const measuredEnd = Math.min(performance.now(), end);
  sender.close();
  return {
    okRequests,
    okRecords: okRequests * spec.recordsPerRequest,
    errors,
    skipped,
    seconds: (measuredEnd - measuredStart) / 1000,
    latenciesMs: Float64Array.from(latencies),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

main().then(
  (r) => parentPort!.postMessage({ type: 'done', result: r }),
  (err: unknown) => parentPort!.postMessage({ type: 'error', error: String((err as Error)?.stack ?? err) }),
);
