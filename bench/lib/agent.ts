// The agent under test for benches and soaks: the real CLI as a child process (through the
// test helper), on the embedded default settings except ports (0) and directories (a temp dir).
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { startAgentWith, tempDir, type AgentProcess } from '../../test/helpers/agent.js';

export interface BenchAgentOptions {
  bufferMaxSize?: string; // default 1GiB, as the embedded default
  retryInitial?: string; // default 500ms
  retryMax?: string; // default 30s
  shutdownTimeout?: string; // default 30s
  env?: Record<string, string>;
}

/** config/default.yaml with ports 0 and everything under `dir`. */
export function benchConfig(dir: string, o: BenchAgentOptions = {}): string {
  return `agent:
  name: bench
  environment: bench
  data_dir: ${path.join(dir, 'data')}
  shutdown_timeout: ${o.shutdownTimeout ?? '30s'}
  buffer:
    max_size: ${o.bufferMaxSize ?? '1GiB'}
  telemetry:
    endpoint: 127.0.0.1:0
  retry:
    initial_interval: ${o.retryInitial ?? '500ms'}
    max_interval: ${o.retryMax ?? '30s'}
    multiplier: 2
receivers:
  otlp:
    max_depth: 64
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
        max_recv_msg_size: 4MiB
      http:
        endpoint: 127.0.0.1:0
        max_request_body_size: 4MiB
        max_decompressed_size: 16MiB
processors:
  audit_filter:
    rules:
      - attribute: { key: audit, value: "true" }
      - event_name_prefix: "audit."
  seal:
    max_records: 10000
    max_bytes: 4MiB
    max_age: 5s
exporters:
  file:
    directory: ${path.join(dir, 'archive')}
    compression: none
    immutable: false
service:
  pipelines:
    logs:
      receivers: [otlp]
      processors: [audit_filter, seal]
      exporters: [file]
`;
}

export interface BenchAgent {
  dir: string;
  archiveDir: string;
  bufferDir: string;
  agent: AgentProcess;
  /** Starts the agent again on the same directory (after a kill or stop). */
  restart(): Promise<AgentProcess>;
  remove(): Promise<void>;
}

export async function startBenchAgent(o: BenchAgentOptions = {}, dir?: string): Promise<BenchAgent> {
  const d = dir ?? (await tempDir('sealtrail-bench-'));
  const yaml = benchConfig(d, o);
  const b: BenchAgent = {
    dir: d,
    archiveDir: path.join(d, 'archive'),
    bufferDir: path.join(d, 'data', 'buffer'),
    agent: await startAgentWith(d, yaml, o.env),
    async restart() {
      b.agent = await startAgentWith(d, yaml, o.env);
      return b.agent;
    },
    async remove() {
      await b.agent.kill();
      await fs.rm(d, { recursive: true, force: true });
    },
  };
  return b;
}
