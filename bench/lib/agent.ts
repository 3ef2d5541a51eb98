// The agent under test for benches and soaks: the real CLI as a child process (through the
// test helper), on the embedded default settings except ports (0) and directories (a temp dir).
import path from 'node:path';
import { promises as fs, rmSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { startAgentWith, tempDir, type AgentProcess } from '../../test/helpers/agent.js';
import { DEFAULT_CONFIG_YAML } from '../../config/default.js';

export interface BenchAgentOptions {
  bufferMaxSize?: string; // default 1GiB, as the embedded default
  retryInitial?: string; // default: the embedded default's
  retryMax?: string;
  shutdownTimeout?: string; // default 30s
  env?: Record<string, string>;
}

/** The embedded default config (config/default.yaml) with ports 0 and everything under `dir`. */
export function benchConfig(dir: string, o: BenchAgentOptions = {}): string {
  const doc = parseDocument(DEFAULT_CONFIG_YAML);
  const set = (keys: string[], value: unknown): void => {
    doc.setIn(keys, value);
  };
  set(['agent', 'name'], 'bench');
  set(['agent', 'environment'], 'bench');
  set(['agent', 'data_dir'], path.join(dir, 'data'));
  set(['agent', 'shutdown_timeout'], o.shutdownTimeout ?? '30s');
  set(['agent', 'buffer', 'max_size'], o.bufferMaxSize ?? '1GiB');
  set(['agent', 'telemetry', 'endpoint'], '127.0.0.1:0');
  if (o.retryInitial) set(['agent', 'retry', 'initial_interval'], o.retryInitial);
  if (o.retryMax) set(['agent', 'retry', 'max_interval'], o.retryMax);
  set(['receivers', 'otlp', 'protocols', 'grpc', 'endpoint'], '127.0.0.1:0');
  set(['receivers', 'otlp', 'protocols', 'http', 'endpoint'], '127.0.0.1:0');
  set(['exporters', 'file', 'directory'], path.join(dir, 'archive'));
  return doc.toString();
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

// The directories and agents of this bench process. A bench stopped by SIGINT or SIGTERM kills
// its agents and removes their directories: they hold up to a gigabyte of buffer and archive
// each, and a few killed runs once left 4.7 GB in the temp dir.
const live = new Map<string, () => AgentProcess>();
let trapped = false;

function removeOnSignal(dir: string, agent: () => AgentProcess): void {
  live.set(dir, agent);
  if (trapped) return;
  trapped = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      const exited: Array<Promise<unknown>> = [];
      for (const a of live.values()) {
        const proc = a().proc;
        // Only a child still running: an exited one's pid may belong to someone else by now.
        if (proc.exitCode !== null || proc.signalCode !== null) continue;
        exited.push(new Promise((r) => proc.once('exit', r)));
        proc.kill('SIGKILL');
      }
      // The directories go once the agents are gone (a dying agent may still create files).
      void Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, 3000))]).then(() => {
        for (const d of live.keys()) rmSync(d, { recursive: true, force: true });
        process.exit(sig === 'SIGINT' ? 130 : 143);
      });
    });
  }
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
      live.delete(d);
    },
  };
  removeOnSignal(d, () => b.agent);
  return b;
}
