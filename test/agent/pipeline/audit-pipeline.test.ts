// The Ingestor behind the receivers, on a real LevelDB buffer: filtering, the cap on decoded
// bytes waiting for the disk, and freeing a request's entry tails once they are copied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { AuditPipeline } from '../../../agent/pipeline/audit-pipeline.js';
import { compileFilter, DEFAULT_RULES } from '../../../agent/filter/audit-filter.js';
import { Metrics } from '../../../agent/telemetry/metrics.js';
import { isSealtrailError } from '../../../lib/errors.js';
import type { DecodedRecord } from '../../../agent/otlp/model.js';
import { prepareRequest } from '../../../agent/pipeline/prepare.js';
import type { BatchRecord } from '../../../agent/buffer/store.js';
import { spansOwnMemory } from '../../../lib/own-memory.js';
import { tempDir } from '../../helpers/agent.js';
import { openTestWriter } from '../../helpers/writer.js';

const record = (audit: boolean, body: string): DecodedRecord => ({
  resource: '{}',
  scope: '{}',
  record: JSON.stringify({ body: { stringValue: body } }),
  view: {
    eventName: '',
    severityNumber: 0,
    severityText: '',
    scopeName: '',
    attributes: new Map([['audit', audit ? 'true' : 'false']]),
    resourceAttributes: new Map(),
  },
});

async function setup(maxPendingBytes?: number, logs: string[] = []) {
  const dir = await tempDir();
  const { writer, close } = await openTestWriter(dir);
  const metrics = new Metrics();
  const pipeline = new AuditPipeline(compileFilter(DEFAULT_RULES), writer, metrics, maxPendingBytes, (level, msg) =>
    logs.push(`${level}: ${msg}`),
  );
  return {
    pipeline,
    writer,
    metrics,
    close: async () => {
      await close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

test('only audit records are chained; the rest are counted as filtered', async () => {
  const s = await setup();
  const r = await s.pipeline.ingest({ records: [record(true, 'a'), record(false, 'b'), record(true, 'c')] });
  assert.deepEqual(r, { accepted: 2, filtered: 1 });
  assert.equal(s.writer.state().chain.size, 2);
  assert.equal(s.metrics.recordsFiltered, 1);
  await s.close();
});

test('records beyond the pending-bytes cap are refused as OVERLOADED and never chained', async () => {
  const logs: string[] = [];
  const s = await setup(100, logs);
  const big = Array.from({ length: 3 }, (_, i) => record(true, `first-${i}`)); // ~150 bytes pending
  const first = s.pipeline.ingest({ records: big }); // waits for the disk
  await assert.rejects(s.pipeline.ingest({ records: [record(true, 'second')] }), (e) => isSealtrailError(e, 'OVERLOADED') && e.retryable);
  await assert.rejects(s.pipeline.ingest({ records: [record(true, 'second again')] }), (e) => isSealtrailError(e, 'OVERLOADED'));
  assert.deepEqual(await first, { accepted: 3, filtered: 0 });
  // Once the first write is on disk, the cap is free again.
  assert.deepEqual(await s.pipeline.ingest({ records: [record(true, 'third')] }), { accepted: 1, filtered: 0 });
  assert.equal(s.writer.state().chain.size, 4);
  assert.equal(s.metrics.recordsRefused, 2);
  // One warning per episode of refusals, not one per request, and a line when it clears.
  assert.deepEqual(logs, ['warn: refusing audit records with a retryable error until this clears', 'info: accepting audit records again']);
  await s.close();
});

test("a request's entry tails are freed once the writer has copied them, and the stored entries are intact", async () => {
  const s = await setup();
  const bodies = Array.from({ length: 400 }, (_, i) => `record ${i} ${'x'.repeat(200)}`);
  const req = { records: bodies.map((b) => record(true, b)) };
  const prepared = prepareRequest(req, compileFilter(DEFAULT_RULES), null);
  const tails = prepared.tails!;
  assert.ok(spansOwnMemory(tails.bytes), `tails of ${tails.bytes.byteLength} bytes have memory of their own`);
  const sealed = new Promise<BatchRecord>((resolve) => s.writer.once('sealed', resolve));
  assert.deepEqual(await s.pipeline.ingest({ ...req, prepared }), { accepted: 400, filtered: 0 });
  // Freed where the runtime can (ArrayBuffer.prototype.transfer, Node >= 22); on Node 20 kept.
  const canFree = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';
  assert.equal(tails.bytes.byteLength === 0, canFree);
  assert.ok(await s.writer.sealNow());
  const { lines } = await s.writer.readStoredLines(await sealed);
  const stored = lines
    .toString('utf8')
    .trimEnd()
    .split('\n')
    .map((l) => (JSON.parse(l) as { record: { body: { stringValue: string } } }).record.body.stringValue);
  assert.deepEqual(stored, bodies);
  await s.close();
});
