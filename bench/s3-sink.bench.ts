// Delivery throughput of the s3 sink against the local Ceph RGW (test/setup/s3), into an
// Object Lock bucket with COMPLIANCE retention, as the forwarder delivers: one batch at a
// time, entries object then checkpoint object (deliverBatch), each put = HeadObject + PutObject.
// Run: npm run build && node dist/bench/s3-sink.bench.js [batchSize ...]
// Records are ~330-byte entry lines, like a typical audit record after chaining.
import { randomBytes } from 'node:crypto';
import { deliverBatch, type SealedBatch } from '../exporters/deliver.js';
import { S3Sink } from '../exporters/s3/index.js';
import { makeOrigin } from '../verify/layout.js';
import { createBucket, ensureS3 } from '../test/setup/s3/server.js';

const enc = new TextEncoder();

function batch(origin: string, start: number, n: number): SealedBatch {
  let text = '';
  for (let seq = start; seq < start + n; seq++) {
    text +=
      JSON.stringify({
        v: 1,
        seq,
        prev: randomBytes(32).toString('hex'),
        time: new Date().toISOString(),
        env: 'bench',
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'billing' } }] },
        scope: { name: 'audit' },
        record: { eventName: 'audit.setting.changed', body: { stringValue: `user u${seq % 97} updated setting ${seq}` } },
      }) + '\n';
  }
  const checkpoint = `${origin}\n${start + n}\n${randomBytes(32).toString('base64')}\n\n— bench ${randomBytes(68).toString('base64')}\n`;
  return { origin, start, end: start + n, lines: enc.encode(text), checkpoint };
}

async function main(): Promise<void> {
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((n) => n > 0);
  const batchSizes = sizes.length ? sizes : [10, 100, 1000, 10000];
  const server = await ensureS3();
  const bucket = await createBucket(server, { objectLock: true, tag: 'bench' });
  const sink = new S3Sink(
    {
      type: 's3',
      id: 's3/bench',
      bucket,
      prefix: 'bench/',
      region: server.region,
      endpoint: server.endpoint,
      forcePathStyle: true,
      accessKeyId: server.accessKeyId,
      secretAccessKey: server.secretAccessKey,
      sessionToken: null,
      compression: 'none',
      objectLock: { mode: 'COMPLIANCE', retainDays: 1 / 24 },
      legalHold: false,
    },
    () => {},
  );
  await sink.start();
  console.log(`s3 sink -> Ceph RGW ${server.endpoint}, bucket ${bucket} (Object Lock, COMPLIANCE), sequential deliverBatch, uncompressed`);
  const results = [];
  for (const size of batchSizes) {
    // 20 to 300 batches: a few seconds each, and enough to average out RGW's jitter.
    const count = Math.min(300, Math.max(20, Math.round(100_000 / size)));
    const origin = makeOrigin('bench', randomBytes(16).toString('hex'));
    const batches = Array.from({ length: count }, (_, i) => batch(origin, i * size, size));
    const bytes = batches.reduce((s, b) => s + b.lines.length, 0);
    await deliverBatch(sink, batch(makeOrigin('warm', randomBytes(16).toString('hex')), 0, size), { gzip: false });
    const t0 = process.hrtime.bigint();
    for (const b of batches) await deliverBatch(sink, b, { gzip: false });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const r = {
      batchSize: size,
      batches: count,
      seconds: +s.toFixed(3),
      batchesPerSec: +(count / s).toFixed(1),
      recordsPerSec: Math.round((count * size) / s),
      mibPerSec: +(bytes / s / 2 ** 20).toFixed(2),
      avgBatchBytes: Math.round(bytes / count),
    };
    results.push(r);
    console.log(
      `batch ${String(size).padStart(5)} records (${(r.avgBatchBytes / 1024).toFixed(0)} KiB): ${r.batchesPerSec} batches/s, ${r.recordsPerSec} records/s, ${r.mibPerSec} MiB/s (${count} batches in ${r.seconds} s)`,
    );
  }
  await sink.close();
  console.log(JSON.stringify(results));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
