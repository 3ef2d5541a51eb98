// A child process whose stderr carries the agent's JSON log lines, for agents started the way
// users start them (an installed `sealtrail`, `npm start`) rather than by test/helpers/agent.ts.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promises as fs } from 'node:fs';

export interface Spawned {
  proc: ChildProcess;
  logs: Array<Record<string, unknown>>;
  waitForMsg(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderrTail(): string;
}

export function spawnLogged(cmd: string, args: readonly string[], opts: SpawnOptions): Spawned {
  const proc = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  let tail = '';
  let buf = '';
  proc.stdout.resume();
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-6000);
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // npm's own output and compiler messages are not log lines
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitForMsg = async (msg: string, timeoutMs = 120_000): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + timeoutMs;
    let done = false;
    void exited.then(() => (done = true));
    for (;;) {
      const l = logs.find((x) => x.msg === msg);
      if (l) return l;
      if (done || Date.now() > deadline) throw new Error(`no "${msg}" log line (exited: ${done}); stderr tail:\n${tail}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { proc, logs, waitForMsg, exited, stderrTail: () => tail };
}

/** Pids of live processes whose command line contains `needle`. */
export async function pidsWith(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await fs.readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').some((a) => a.includes(needle))) pids.push(Number(name));
  }
  return pids;
}
