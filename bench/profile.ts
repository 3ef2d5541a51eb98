// CPU profile of the agent's hot path: the agent runs with --cpu-prof (via NODE_OPTIONS) under
// the reference closed-loop gRPC load, stops gracefully (which writes the profile), and the
// top functions by self time are printed. The .cpuprofile is kept for Chrome DevTools.
//   node dist/bench/profile.js [--transport grpc|http] [--shape audit|<bytes>] [--records 500] [--duration 10] [--out DIR]
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI, tempDir } from '../test/helpers/agent.js';
import { benchConfig } from './lib/agent.js';
import { runLoad } from './lib/load.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const flag = (n: string, d: string): string => {
  const i = process.argv.indexOf(`--${n}`);
  return i >= 0 ? process.argv[i + 1]! : d;
};

async function main(): Promise<void> {
  const transport = flag('transport', 'grpc') as 'grpc' | 'http';
  const outDir = path.resolve(flag('out', path.join(process.cwd(), 'bench-profile')));
  await fs.mkdir(outDir, { recursive: true });
  const before = new Set(await fs.readdir(outDir));
  // --cpu-prof is not allowed in NODE_OPTIONS, so this spawns the CLI itself (same config).
  const dir = await tempDir('sealtrail-bench-');
  const configPath = path.join(dir, 'config.yaml');
  await fs.writeFile(configPath, benchConfig(dir));
  const agent = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${outDir}`, CLI, 'run', '--config', configPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise((r) => agent.once('exit', r));
  const ready = await new Promise<{ grpc: string; http: string }>((resolve, reject) => {
    const rl = createInterface({ input: agent.stderr });
    rl.on('line', (l) => {
      try {
        const j = JSON.parse(l) as { msg: string; grpc: string; http: string };
        if (j.msg === 'ready') resolve(j);
      } catch {
        /* not JSON */
      }
    });
    agent.once('exit', (c) => reject(new Error(`agent exited with ${c} before ready`)));
  });
  const r = await runLoad({
    transport,
    addr: ready[transport],
    mode: 'closed',
    concurrency: 16,
    recordsPerRequest: Number(flag('records', '500')),
    shape: flag('shape', 'audit') === 'audit' ? 'audit' : Number(flag('shape', 'audit')),
    warmupMs: 2000,
    durationMs: Number(flag('duration', '10')) * 1000,
  });
  console.log(`${transport}: ${Math.round(r.okRecords / r.seconds)} records/s during the profile`);
  agent.kill('SIGTERM');
  await exited;
  await fs.rm(dir, { recursive: true, force: true });
  // The main thread's profile (thread 0; sink workers write their own), the largest one: the
  // process re-executes itself at start (cli/process-tuning.ts), which leaves a short profile too.
  const sizes = await Promise.all(
    (await fs.readdir(outDir))
      .filter((f) => !before.has(f) && /\.0\.\d+\.cpuprofile$/.test(f))
      .map(async (f) => ({ f, size: (await fs.stat(path.join(outDir, f))).size })),
  );
  const file = sizes.sort((a, b) => b.size - a.size)[0]?.f;
  if (!file) throw new Error(`no profile written to ${outDir}`);
  const prof = JSON.parse(await fs.readFile(path.join(outDir, file), 'utf8')) as Profile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const n = byId.get(id)!;
    const f = n.callFrame;
    const where = f.url ? `${f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    const dt = prof.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  console.log(`profile ${path.join(outDir, file)}: ${(total / 1e6).toFixed(1)} s sampled`);
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(flag('top', '25')));
  for (const [k, us] of top) console.log(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1e3).toFixed(0).padStart(6)} ms  ${k}`);
}

await main();
