// Continuous load for the soaks: `n` concurrent senders (alternating gRPC and HTTP) against
// one agent run, each request carrying fresh unique ids. An id is recorded as acknowledged only
// on gRPC OK / HTTP 200. A refused or failed request is not resent with the same ids, so an id
// can reach the archive twice only if the agent itself wrote it twice.
import { GrpcLogsClient, postHttp } from '../../test/helpers/otlp-client.js';
import type { AgentProcess } from '../../test/helpers/agent.js';
import { idBody } from '../lib/requests.js';
import type { IdSet } from './ids.js';

export interface IdSource {
  next: number;
}

export interface SenderStats {
  requests: number;
  acked: number;
  refused: number; // answered with a retryable refusal (UNAVAILABLE / 503 / 429)
  failed: number; // no answer (connection reset by a kill, deadline)
  inFlight: number;
}

export interface RunningLoad {
  stats: SenderStats;
  /** Stops sending new requests and waits for the outstanding ones to settle. */
  stop(): Promise<void>;
}

export function startSenders(
  agent: AgentProcess,
  o: { senders: number; recordsPerRequest: number; recordBytes: number; ids: IdSource; acked: IdSet; pauseOnRefusalMs?: number },
): RunningLoad {
  const grpc = new GrpcLogsClient(agent.grpc);
  const stats: SenderStats = { requests: 0, acked: 0, refused: 0, failed: 0, inFlight: 0 };
  let stopping = false;
  const one = async (useGrpc: boolean): Promise<void> => {
    while (!stopping) {
      const first = o.ids.next;
      o.ids.next += o.recordsPerRequest;
      const body = idBody(first, o.recordsPerRequest, o.recordBytes);
      stats.requests++;
      stats.inFlight++;
      let status: 'ok' | 'refused' | 'failed';
      try {
        if (useGrpc) {
          const r = await grpc.export(body, 10000);
          status = r.code === 0 ? 'ok' : r.code === 14 || r.code === 8 ? 'refused' : 'failed';
        } else {
          const r = await postHttp(agent.http, body);
          status = r.status === 200 ? 'ok' : r.status === 503 || r.status === 429 ? 'refused' : 'failed';
        }
      } catch {
        status = 'failed';
      }
      stats.inFlight--;
      if (status === 'ok') {
        for (let id = first; id < first + o.recordsPerRequest; id++) o.acked.add(id);
        stats.acked += o.recordsPerRequest;
      } else {
        stats[status]++;
        await new Promise((r) => setTimeout(r, o.pauseOnRefusalMs ?? 50));
      }
    }
  };
  const all = Promise.all(Array.from({ length: o.senders }, (_, i) => one(i % 2 === 0)));
  return {
    stats,
    async stop() {
      stopping = true;
      await all;
      grpc.close();
    },
  };
}
