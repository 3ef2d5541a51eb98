// The cost of the high-water mark (agent/buffer/high-water.ts) on durable throughput: the same
// BufferWriter on real LevelDB, group commits from 16 concurrent appenders of 500-record
// requests (realistic ~400 B parts), with and without the mark, alternated in one run so both
// see the same machine. Prints records/s of each round and the median ratio.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { HighWaterFile } from '../agent/buffer/high-water.js';
import { emptyLedger, openStore } from '../agent/buffer/store.js';
import { BufferWriter } from '../agent/buffer/writer.js';
import { generateKey, NoteSigner } from '../agent/keys/signer.js';
import { parseSignerKey } from '../verify/note.js';
import { tempDir } from '../test/helpers/agent.js';

const key = generateKey('bench');
const signer = new NoteSigner('bench', parseSignerKey(key.signerKey).seed);
const ORIGIN = 'sealtrail/bench/0123456789abcdef0123456789abcdef';
const part = {
  resource: JSON.stringify({ attributes: [{ key: 'service.name', value: { stringValue: 'payments' } }] }),
  scope: JSON.stringify({ name: 'audit', version: '1.0.0' }),
  record: JSON.stringify({
    timeUnixNano: '1764650000000000000',
    severityNumber: 9,
    body: { stringValue: 'x'.repeat(110) },
    attributes: [{ key: 'audit', value: { boolValue: true } }],
  }),
};
const request = Array.from({ length: 500 }, () => part);

async function round(withMark: boolean, ms: number): Promise<number> {
  const dir = await tempDir('sealtrail-hwbench-');
  const store = await openStore(path.join(dir, 'buffer'));
  const hw = withMark ? await HighWaterFile.open(path.join(dir, 'buffer.hwm')) : null;
  const ledger = emptyLedger();
  const w = new BufferWriter({
    db: store.db,
    dir: path.join(dir, 'buffer'),
    chainInfo: {
      origin: ORIGIN,
      agentName: 'bench',
      chainId: '0123456789abcdef0123456789abcdef',
      keyName: 'bench',
      keyId: '00000000',
      createdAt: '',
    },
    ledger,
    cursors: new Map(),
    newChain: true,
    highWater: hw,
    env: 'bench',
    signer,
    seal: { maxRecords: 10000, maxBytes: 4 << 20, maxAgeMs: 5000 },
    maxBufferBytes: 2 ** 40,
  });
  await w.initialize();
  let records = 0;
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < end) {
        await w.append(request);
        records += request.length;
      }
    }),
  );
  const rate = records / (ms / 1000);
  await w.close();
  await hw?.close();
  await fs.rm(dir, { recursive: true, force: true });
  return rate;
}

/** Latency of the mark's own write (256 B pwrite + fdatasync), alone. */
async function markLatency(n: number): Promise<number> {
  const dir = await tempDir('sealtrail-hwbench-');
  const f = await HighWaterFile.open(path.join(dir, 'buffer.hwm'));
  const t0 = performance.now();
  for (let i = 1; i <= n; i++) {
    await f.write({ origin: ORIGIN, committedSize: i, committedRoot: 'ab'.repeat(32), sealedSize: 0, sealedRoot: '', deliveredSize: 0 });
  }
  const us = ((performance.now() - t0) * 1000) / n;
  await f.close();
  await fs.rm(dir, { recursive: true, force: true });
  return us;
}

process.stdout.write(`high-water write alone: ${(await markLatency(2000)).toFixed(0)} us per write (2000 writes)\n`);
const rounds = Number(process.env.ROUNDS ?? 4);
const ratios: number[] = [];
for (let i = 0; i < rounds; i++) {
  const without = await round(false, 3000);
  const withMark = await round(true, 3000);
  ratios.push(withMark / without);
  process.stdout.write(
    `round ${i + 1}: without mark ${Math.round(without)} records/s, with mark ${Math.round(withMark)} records/s, ratio ${(withMark / without).toFixed(3)}\n`,
  );
}
ratios.sort((a, b) => a - b);
process.stdout.write(`median ratio with/without the high-water mark: ${ratios[Math.floor(ratios.length / 2)]!.toFixed(3)}\n`);
