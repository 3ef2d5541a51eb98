// /metrics of the real agent, read by a real Prometheus text-format parser (the one prom2json's
// output is modelled on): every family has a type, counters end in _total and nothing else does,
// the build and process families are there, and the counters count what was sent.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import { REPO_ROOT, startAgentWith, tempDir, testConfig } from '../helpers/agent.js';
import { encodeRequest, postHttp } from '../helpers/otlp-client.js';

const VERSION = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

it('/metrics parses as Prometheus text: typed families, _total counters, build and process metrics', async () => {
  const dir = await tempDir();
  const agent = await startAgentWith(dir, testConfig(dir, { maxRecords: 2 }));
  try {
    const body = encodeRequest([
      { body: 'a', attributes: { audit: true } },
      { body: 'b', attributes: { audit: true } },
      { body: 'c', attributes: { audit: false } },
    ]);
    assert.equal((await postHttp(agent.http, body)).status, 200);

    const res = await fetch(`http://${agent.telemetry}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const families = parsePrometheus(await res.text());
    const byName = new Map(families.map((f) => [f.name, f]));
    assert.equal(byName.size, families.length, 'no family appears twice');

    for (const f of families) {
      assert.ok(f.type === 'COUNTER' || f.type === 'GAUGE', `${f.name} is typed (${f.type})`);
      assert.ok(f.help.length > 0, `${f.name} has help`);
      assert.equal(f.name.endsWith('_total'), f.type === 'COUNTER', `${f.name}: counters and only counters end in _total`);
      for (const s of f.metrics) assert.ok(Number.isFinite(Number(s.value)), `${f.name} has a numeric value (${s.value})`);
    }
    const want: Array<[string, 'COUNTER' | 'GAUGE']> = [
      ['sealtrail_build_info', 'GAUGE'],
      ['sealtrail_records_accepted_total', 'COUNTER'],
      ['sealtrail_records_filtered_total', 'COUNTER'],
      ['sealtrail_batches_sealed_total', 'COUNTER'],
      ['sealtrail_sink_errors_total', 'COUNTER'],
      ['sealtrail_sink_batches_delivered_total', 'COUNTER'],
      ['sealtrail_sink_lag_entries', 'GAUGE'],
      ['sealtrail_buffer_bytes', 'GAUGE'],
      ['process_cpu_seconds_total', 'COUNTER'],
      ['process_resident_memory_bytes', 'GAUGE'],
      ['process_start_time_seconds', 'GAUGE'],
      ['nodejs_heap_size_used_bytes', 'GAUGE'],
      ['nodejs_heap_size_total_bytes', 'GAUGE'],
    ];
    for (const [name, type] of want) assert.equal(byName.get(name)?.type, type, `${name} is a ${type.toLowerCase()}`);

    const one = (name: string) => byName.get(name)!.metrics;
    // The agent runs on this test's own Node binary (process.execPath).
    assert.deepEqual(one('sealtrail_build_info'), [{ value: '1', labels: { version: VERSION, nodejs: process.version } }]);
    assert.equal(one('sealtrail_records_accepted_total')[0]?.value, '2');
    assert.equal(one('sealtrail_records_filtered_total')[0]?.value, '1');
    assert.deepEqual(one('sealtrail_sink_errors_total'), [{ value: '0', labels: { sink: 'file' } }]);
    const start = Number(one('process_start_time_seconds')[0]?.value);
    assert.ok(start <= Date.now() / 1000 && start > Date.now() / 1000 - 3600, `process_start_time_seconds ${start} is a recent unix time`);
    assert.ok(Number(one('process_resident_memory_bytes')[0]?.value) > 1 << 20, 'resident memory is in bytes');

    const head = await fetch(`http://${agent.telemetry}/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.match(head.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    const post = await fetch(`http://${agent.telemetry}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  } finally {
    await agent.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
});
