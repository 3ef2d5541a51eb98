// Runs the real agent (dist/cli/main.js run) as a child process for tests, on ports chosen
// by the OS, and reads its structured JSON logs from stderr.
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = path.join(REPO_ROOT, 'dist/cli/main.js');

export async function tempDir(prefix = 'sealtrail-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export interface TestConfigOptions {
  name?: string;
  environment?: string;
  maxRecords?: number;
  maxBytes?: string;
  maxAge?: string;
  bufferMaxSize?: string;
  shutdownTimeout?: string;
  /** YAML for the `exporters:` section body (indented two spaces) and the pipeline list. */
  exporters?: { yaml: string; ids: string[] };
  compression?: 'none' | 'gzip';
  retryInitial?: string;
  retryMax?: string;
  extraReceiverYaml?: string;
  /** YAML for more pipelines under service.pipelines (indented four spaces), e.g. logs/other. */
  extraPipelinesYaml?: string;
  /** YAML for more processors (indented two spaces), e.g. non_audit. */
  extraProcessorsYaml?: string;
}

/** A config for tests: both receivers and telemetry on port 0, everything under `dir`. */
export function testConfig(dir: string, o: TestConfigOptions = {}): string {
  const exporters = o.exporters ?? {
    yaml: `  file:\n    directory: ${path.join(dir, 'archive')}\n    compression: ${o.compression ?? 'none'}\n`,
    ids: ['file'],
  };
  return `agent:
  name: ${o.name ?? 'test-agent'}
  environment: ${o.environment ?? 'test'}
  data_dir: ${path.join(dir, 'data')}
  shutdown_timeout: ${o.shutdownTimeout ?? '10s'}
  buffer:
    max_size: ${o.bufferMaxSize ?? '256MiB'}
  telemetry:
    endpoint: 127.0.0.1:0
  retry:
    initial_interval: ${o.retryInitial ?? '50ms'}
    max_interval: ${o.retryMax ?? '500ms'}
    multiplier: 2
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
      http:
        endpoint: 127.0.0.1:0
${o.extraReceiverYaml ?? ''}processors:
  audit_filter:
    rules:
      - attribute: { key: audit, value: "true" }
      - event_name_prefix: "audit."
  seal:
    max_records: ${o.maxRecords ?? 10000}
    max_bytes: ${o.maxBytes ?? '4MiB'}
    max_age: ${o.maxAge ?? '200ms'}
${o.extraProcessorsYaml ?? ''}exporters:
${exporters.yaml}service:
  pipelines:
    logs:
      receivers: [otlp]
      processors: [audit_filter, seal]
      exporters: [${exporters.ids.join(', ')}]
${o.extraPipelinesYaml ?? ''}`;
}

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

export interface AgentProcess {
  proc: ChildProcess;
  grpc: string; // host:port
  http: string;
  telemetry: string;
  origin: string;
  verifierKey: string;
  logs: LogLine[];
  /** Resolves with the first log line matching `pred` (already seen or future). */
  waitForLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM and wait for exit; resolves the exit code, rejects after `timeoutMs` (default 60 s). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** Prometheus metrics as name{labels} -> value. */
  metrics(): Promise<Map<string, number>>;
}

export async function startAgent(opts: {
  configPath: string;
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
}): Promise<AgentProcess> {
  const proc = spawn(process.execPath, [CLI, 'run', '--config', opts.configPath], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, SEALTRAIL_LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const waiters: Array<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  let stderrTail = '';
  let buf = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      stderrTail = (stderrTail + line + '\n').slice(-4000);
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch {
        parsed = { level: 'raw', msg: line };
      }
      logs.push(parsed);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pred(parsed)) {
          waiters[i]!.resolve(parsed);
          waiters.splice(i, 1);
        }
      }
    }
  });
  proc.stdout.resume();
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

  const waitForLog = (pred: (l: LogLine) => boolean, timeoutMs = 30000): Promise<LogLine> => {
    const seen = logs.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for a log line; stderr tail:\n${stderrTail}`)), timeoutMs);
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
    });
  };

  const ready = await Promise.race([
    waitForLog((l) => l.msg === 'ready', opts.timeoutMs ?? 30000),
    exited.then((code) => {
      throw new Error(`agent exited with code ${code} before ready; stderr:\n${stderrTail}`);
    }),
  ]);
  const agent: AgentProcess = {
    proc,
    grpc: String(ready.grpc),
    http: String(ready.http),
    telemetry: String(ready.telemetry),
    origin: String(ready.origin),
    verifierKey: String(ready.verifier_key),
    logs,
    waitForLog,
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 60_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      // A stop that hangs fails the test that asked for it, with the agent's last words.
      let timer: NodeJS.Timeout | undefined;
      const overdue = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          proc.kill('SIGKILL');
          reject(new Error(`the agent did not exit within ${timeoutMs} ms of ${signal}; stderr tail:\n${stderrTail}`));
        }, timeoutMs);
      });
      return Promise.race([exited, overdue]).finally(() => clearTimeout(timer));
    },
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exited;
    },
    async metrics() {
      const res = await fetch(`http://${agent.telemetry}/metrics`);
      const text = await res.text();
      const m = new Map<string, number>();
      for (const line of text.split('\n')) {
        if (line === '' || line.startsWith('#')) continue;
        const sp = line.lastIndexOf(' ');
        m.set(line.slice(0, sp), Number(line.slice(sp + 1)));
      }
      return m;
    },
  };
  return agent;
}

/** Writes `yaml` to <dir>/config.yaml and starts the agent on it. */
export async function startAgentWith(dir: string, yaml: string, env?: Record<string, string>): Promise<AgentProcess> {
  const configPath = path.join(dir, 'config.yaml');
  await fs.writeFile(configPath, yaml);
  return startAgent({ configPath, env });
}

/** Polls `fn` until it returns a truthy value. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 20000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${last instanceof Error ? last.message : JSON.stringify(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
