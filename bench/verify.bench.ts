// Verify throughput on a generated archive (default 1,000,000 entries of ~250 bytes, batches
// of 10,000, plain and gzip), measured in a child process so that peak RSS is the verifier's
// alone. Also measures node:crypto SHA-256 on the same workload: leaf hashes of ~250-byte lines.
//   node dist/bench/verify.bench.js [entries]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DirArchiveReader } from '../verify/dir-archive.js';
import { nodeGunzip } from '../verify/node-gunzip.js';
import { webGunzip } from '../verify/gunzip.js';
import { parseVerifierKey } from '../verify/note.js';
import { verifyArchive } from '../verify/verifier.js';
import { buildArchive } from '../test/verify/fixtures.js';

const record = (seq: number): string =>
  `{"timeUnixNano":"1764237600000000000","severityNumber":9,"body":{"stringValue":"user u${seq % 97} changed ${seq}"},"attributes":[{"key":"audit","value":{"boolValue":true}}],"eventName":"audit.x"}`;

async function child(dir: string, key: string, gunzip: string): Promise<void> {
  const t0 = performance.now();
  const r = await verifyArchive(new DirArchiveReader(dir), {
    keys: [parseVerifierKey(key)],
    gunzip: gunzip === 'node' ? nodeGunzip : webGunzip,
  });
  const ms = performance.now() - t0;
  if (!r.ok) throw new Error(JSON.stringify(r.problems.slice(0, 3)));
  process.stdout.write(JSON.stringify({ ms, entries: r.origins[0]!.entries, maxRssKiB: process.resourceUsage().maxRSS }));
}

function hashBench(n: number): Record<string, number> {
  const line = new TextEncoder().encode('x'.repeat(250));
  const pre = Uint8Array.of(0);
  const out: Record<string, number> = {};
  for (const [name, fn] of [['node:crypto', (d: Uint8Array) => createHash('sha256').update(pre).update(d).digest()]] as const) {
    for (let i = 0; i < 20000; i++) fn(line); // warm up
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn(line);
    out[name] = Math.round(n / ((performance.now() - t0) / 1000));
  }
  return out;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3]!, process.argv[4]!, process.argv[5]!);
  const n = Number(process.argv[2] ?? 1_000_000);
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sealtrail-bench-'));
  const self = fileURLToPath(import.meta.url);
  try {
    console.log(`SHA-256 leaf hashes/s of 250-byte lines: ${JSON.stringify(hashBench(500_000))}`);
    for (const gzip of [false, true]) {
      const dir = path.join(root, gzip ? 'gz' : 'plain');
      const fx = await buildArchive(dir, {
        entries: n,
        batchSize: 10_000,
        gzip,
        record,
        stop: true,
        resource: '{"attributes":[{"key":"service.name","value":{"stringValue":"billing"}}]}',
      });
      let stored = 0;
      let raw = 0;
      for (const b of fx.batches) stored += (await fs.stat(path.join(dir, b.entries))).size;
      for (const b of fx.batches.slice(0, 1)) raw = (await fs.readFile(path.join(dir, b.entries))).length;
      for (const gunzip of gzip ? ['node', 'web'] : ['node']) {
        const out = JSON.parse(execFileSync(process.execPath, [self, '--child', dir, fx.verifierKey, gunzip], { encoding: 'utf8' }));
        const s = out.ms / 1000;
        console.log(
          `${gzip ? `gzip (${gunzip} gunzip)` : 'plain'}: ${out.entries} entries, ${(stored / 1e6).toFixed(0)} MB stored` +
            `${gzip ? '' : ` (~${Math.round(raw / (fx.batches[0]!.end - fx.batches[0]!.start))} B/entry)`}` +
            ` in ${s.toFixed(2)} s: ${Math.round(out.entries / s)} entries/s, ${(stored / 1e6 / s).toFixed(1)} MB/s stored, peak RSS ${(out.maxRssKiB / 1024).toFixed(0)} MiB`,
        );
      }
      await fs.rm(dir, { recursive: true, force: true });
    }
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

await main();
