// `sealtrail cat` throughput on a generated archive (default 1,000,000 entries in batches of
// 10,000, records carrying actor, action, resource and result), per output format. Each run is
// a child process with stdout on /dev/null, so its peak RSS is cat's alone.
//   node dist/bench/cat.bench.js [entries]
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { catCommand } from '../cli/cat.js';
import { buildArchive } from '../test/verify/fixtures.js';

const ACTIONS = ['read', 'update', 'delete', 'export'];
const record = (seq: number): string =>
  `{"timeUnixNano":"${1764237600000000000n + BigInt(seq) * 1_000_000n}","severityNumber":9,"body":{"stringValue":"user u${seq % 97} changed ${seq}"},` +
  `"attributes":[{"key":"audit","value":{"boolValue":true}},{"key":"user.id","value":{"stringValue":"u${seq % 97}"}},` +
  `{"key":"action","value":{"stringValue":"${ACTIONS[seq % 4]}"}},{"key":"resource","value":{"stringValue":"invoice/${seq % 1000}"}},` +
  `{"key":"result","value":{"stringValue":"${seq % 10 === 0 ? 'denied' : 'success'}"}}],"eventName":"audit.x"}`;

async function child(args: string[]): Promise<void> {
  const t0 = performance.now();
  const code = await catCommand(args);
  const ms = performance.now() - t0;
  const u = process.resourceUsage();
  process.stderr.write(`${JSON.stringify({ code, ms, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssKiB: u.maxRSS })}\n`);
}

async function main(): Promise<void> {
  const entries = Number(process.argv[2] ?? 1_000_000);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sealtrail-cat-bench-'));
  try {
    const resource =
      '{"attributes":[{"key":"service.name","value":{"stringValue":"billing"}},{"key":"deployment.environment.name","value":{"stringValue":"test"}}]}';
    await buildArchive(dir, { entries, batchSize: 10_000, record, resource });
    const self = fileURLToPath(import.meta.url);
    const runs: Array<[string, string[]]> = [
      ['table', []],
      ['csv', ['--format', 'csv']],
      ['json', ['--format', 'json']],
      ['raw', ['--format', 'raw']],
      ['csv, --actor u5 (1 in 97 match)', ['--format', 'csv', '--actor', 'u5']],
    ];
    console.log(`cat on ${entries} entries (${os.cpus().length} CPUs, node ${process.version})`);
    // CPU time too: on a shared machine the wall clock mostly measures the neighbours.
    console.log('| format | wall s | entries/s (wall) | CPU s | entries per CPU-second | peak RSS (MiB) |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const [label, args] of runs) {
      const out = spawnSync(process.execPath, [self, '--child', dir, ...args], {
        stdio: ['ignore', 'ignore', 'pipe'],
        encoding: 'utf8',
      }).stderr;
      const r = JSON.parse(out.trim().split('\n').pop()!) as { code: number; ms: number; cpuMs: number; maxRssKiB: number };
      if (r.code !== 0) throw new Error(`cat exited ${r.code}`);
      const rate = (ms: number) => Math.round(entries / (ms / 1000));
      console.log(
        `| ${label} | ${(r.ms / 1000).toFixed(2)} | ${rate(r.ms)} | ${(r.cpuMs / 1000).toFixed(2)} | ${rate(r.cpuMs)} | ${(r.maxRssKiB / 1024).toFixed(0)} |`,
      );
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv.slice(3));
else await main();
