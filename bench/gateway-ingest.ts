// Gateway ingest rate: how many sealed batches (and entries) per second one gateway verifies
// (signature, chain links, Merkle root, consistency), stores in its file sink (write-once,
// fsync) and acknowledges (per-origin state fsync'd first).
//   node dist/bench/gateway-ingest.js [--origins 4] [--batches 10] [--batch-size 1000]
// Batches are prepared beforehand in the real format (test/verify/fixtures.ts); each origin
// posts its batches in order, the origins in parallel, to a real gateway child process.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { startAgentWith, tempDir, testConfig } from '../test/helpers/agent.js';
import { postBatch, type RawBatch } from '../test/helpers/gateway.js';
import { buildArchive, newSigner } from '../test/verify/fixtures.js';

const flag = (n: string, d: number): number => {
  const i = process.argv.indexOf(`--${n}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const origins = flag('origins', 4);
const batchesPerOrigin = flag('batches', 10);
const batchSize = flag('batch-size', 1000);

const dir = await tempDir('sealtrail-gwbench-');
try {
  const signer = newSigner('bench');
  await fs.writeFile(path.join(dir, 'bench.pub'), signer.verifierKey() + '\n');
  const work: RawBatch[][] = [];
  for (let o = 0; o < origins; o++) {
    const fxDir = path.join(dir, `fx-${o}`);
    const fx = await buildArchive(fxDir, { entries: batchesPerOrigin * batchSize, batchSize, agentName: `bench-${o}`, signer });
    work.push(
      await Promise.all(
        fx.batches.map(async (b) => ({
          origin: fx.origin,
          start: b.start,
          end: b.end,
          gzip: false,
          entries: await fs.readFile(path.join(fxDir, b.entries)),
          checkpoint: b.note,
        })),
      ),
    );
  }
  const gwDir = path.join(dir, 'gw');
  await fs.mkdir(gwDir);
  const gw = await startAgentWith(
    gwDir,
    testConfig(gwDir, {
      name: 'gateway',
      extraReceiverYaml: `  sealtrail:\n    endpoint: 127.0.0.1:0\n    trusted_keys:\n      - { origin_prefix: "sealtrail/bench-", key_file: ${path.join(dir, 'bench.pub')} }\n`,
      extraPipelinesYaml: '    logs/gateway:\n      receivers: [sealtrail]\n      processors: []\n      exporters: [file]\n',
    }),
  );
  const addr = String(gw.logs.find((l) => l.msg === 'ready')!.gateway);
  const bytes = work.flat().reduce((s, b) => s + b.entries.length, 0);
  const t0 = performance.now();
  await Promise.all(
    work.map(async (batches) => {
      for (const b of batches) {
        const r = await postBatch(addr, b, null);
        if (r.status !== 200) throw new Error(`batch refused: ${r.status} ${JSON.stringify(r.body)}`);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const n = origins * batchesPerOrigin;
  console.log(
    `gateway ingest: ${n} batches of ${batchSize} entries from ${origins} origins (${(bytes / 1048576).toFixed(1)} MiB) in ${secs.toFixed(2)} s`,
  );
  console.log(
    `  ${(n / secs).toFixed(1)} batches/s, ${((n * batchSize) / secs).toFixed(0)} records/s, ${(bytes / 1048576 / secs).toFixed(1)} MiB/s`,
  );
  await gw.stop();
} finally {
  await fs.rm(dir, { recursive: true, force: true });
}
