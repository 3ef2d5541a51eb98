// Forwarding pipelines: an application instrumented with the real OTel SDK sends audit and
// ordinary records to the real agent; the ordinary ones arrive at two real OTLP receivers
// (gRPC and HTTP/protobuf) with their resource/scope grouping and every field intact, while
// the audit ones are archived. With the upstream gone, audit requests keep being acknowledged
// (latency reported, not asserted) and the forwarding drops are counted in /metrics.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as GrpcExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { eventually, startAgentWith, tempDir, testConfig } from '../helpers/agent.js';
import { allEntries, attr, isOwn } from '../helpers/entries.js';
import { encodeRequest, postHttp } from '../helpers/otlp-client.js';
import { startGrpcUpstream, startHttpUpstream, type OtlpRequestObject } from '../helpers/otlp-upstream.js';

function forwardConfig(dir: string, grpcAddr: string, httpAddr: string, queueSize = 100, allAddr: string | null = null): string {
  const fwd = (extra: string) => `    headers: { x-via: sealtrail }
    compression: gzip
    timeout: 2s
    retry_on_failure: { enabled: true, initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 600ms }
    sending_queue: { queue_size: ${queueSize}, num_consumers: 2 }
${extra}`;
  return testConfig(dir, {
    exporters: {
      yaml:
        `  file:\n    directory: ${path.join(dir, 'archive')}\n` +
        `  otlp/upstream:\n    endpoint: ${grpcAddr}\n    tls: { insecure: true }\n${fwd('')}` +
        `  otlphttp/upstream:\n    endpoint: http://${httpAddr}\n${fwd('')}` +
        (allAddr ? `  otlphttp/all:\n    endpoint: http://${allAddr}\n    compression: none\n` : ''),
      ids: ['file'],
    },
    extraProcessorsYaml: '  non_audit:\n',
    extraPipelinesYaml:
      '    logs/other:\n      receivers: [otlp]\n      processors: [non_audit]\n      exporters: [otlp/upstream, otlphttp/upstream]\n' +
      (allAddr ? '    logs/all:\n      receivers: [otlp]\n      processors: []\n      exporters: [otlphttp/all]\n' : ''),
  });
}

const isAuditRecord = (r: Record<string, unknown>): boolean =>
  ((r.attributes as Array<{ key: string; value: { boolValue?: boolean } }> | undefined) ?? []).some(
    (a) => a.key === 'audit' && a.value.boolValue === true,
  );

const ANY_VALUE_KEYS = new Set(['stringValue', 'boolValue', 'intValue', 'doubleValue', 'bytesValue', 'arrayValue', 'kvlistValue']);

/**
 * proto3 gives a field set to its default value the same meaning as an absent one; senders
 * differ in whether they write it (the JS SDK writes droppedAttributesCount: 0). Drop those,
 * except AnyValue's oneof members, where a zero is a value.
 */
function withoutDefaults(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutDefaults);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (!ANY_VALUE_KEYS.has(k) && (x === 0 || x === '' || x === '0' || x === false)) continue;
    out[k] = withoutDefaults(x);
  }
  return out;
}

/** The request as the sender built it, minus the audit records (and any scope left empty). */
function withoutAudit(req: OtlpRequestObject): OtlpRequestObject {
  return {
    resourceLogs: (req.resourceLogs ?? [])
      .map((rl) => ({
        ...rl,
        scopeLogs: (rl.scopeLogs ?? [])
          .map((sl) => ({ ...sl, logRecords: (sl.logRecords ?? []).filter((r) => !isAuditRecord(r)) }))
          .filter((sl) => sl.logRecords.length > 0),
      }))
      .filter((rl) => rl.scopeLogs.length > 0),
  };
}

describe('forwarding non-audit records over OTLP', () => {
  it('ordinary records reach an OTLP/gRPC and an OTLP/HTTP receiver intact; audit records are archived', async (t) => {
    const dir = await tempDir();
    const up = { grpc: await startGrpcUpstream(), http: await startHttpUpstream() };
    const direct = await startGrpcUpstream(); // what the SDK sent, for comparison
    const everything = await startHttpUpstream(); // a logs/all pipeline: audit records too, once durable
    const agent = await startAgentWith(dir, forwardConfig(dir, up.grpc.address, up.http.address, 100, everything.address));
    t.after(() => agent.kill());

    const batch = (url: string) =>
      new BatchLogRecordProcessor({ exporter: new GrpcExporter({ url }), maxExportBatchSize: 512, scheduledDelayMillis: 60_000 });
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'shop', 'service.instance.id': 'i-1', 'host.cpus': 2 }),
      processors: [batch(`http://${agent.grpc}`), batch(`http://${direct.address}`)],
      logRecordLimits: { attributeCountLimit: 6 },
    });
    const web = provider.getLogger('shop.web', '2.0.0');
    const db = provider.getLogger('shop.db');
    const spanCtx = trace.setSpanContext(context.active(), {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
    });
    const t0 = Date.UTC(2026, 2, 3, 4, 5, 6, 789);
    web.emit({
      body: { method: 'GET', path: '/cart', status: 200, timing: { ms: 12.5 }, tags: ['a', 'b'] },
      severityNumber: SeverityNumber.INFO2,
      severityText: 'info',
      timestamp: t0,
      eventName: 'http.request',
      attributes: { 'http.route': '/cart', retries: 3, ratio: 0.25, cached: false, raw: new Uint8Array([0, 1, 254, 255]), list: [1, 2, 3] },
      context: spanCtx,
    });
    web.emit({ body: 'refund issued', attributes: { audit: true, 'user.id': 'u-7' }, severityNumber: SeverityNumber.WARN });
    db.emit({
      body: 'slow query',
      severityNumber: SeverityNumber.WARN3,
      attributes: { a1: 1, a2: 2, a3: 3, a4: 4, a5: 5, a6: 6, a7: 7, a8: 8 },
    });
    web.emit({ body: 'cache miss', severityNumber: SeverityNumber.DEBUG });
    db.emit({ eventName: 'audit.schema_change', body: 'ALTER TABLE', attributes: { 'user.id': 'dba' } });
    db.emit({ body: '', severityNumber: SeverityNumber.UNSPECIFIED });
    await provider.forceFlush();
    await provider.shutdown();

    await eventually(
      () => up.grpc.received.length >= 1 && up.http.received.length >= 1 && everything.received.length >= 1,
      20000,
      'forwarded requests',
    );
    assert.equal(direct.received.length, 1, 'the SDK sent one request');
    const expected = withoutAudit(direct.received[0]!.request);
    // The audit.schema_change record is audit by event name, so it must not be forwarded either.
    const expectedNoEvent = {
      resourceLogs: expected.resourceLogs!.map((rl) => ({
        ...rl,
        scopeLogs: rl.scopeLogs!.map((sl) => ({
          ...sl,
          logRecords: sl.logRecords!.filter((r) => !String((r.eventName ?? '') as string).startsWith('audit.')),
        })),
      })),
    };
    // Sanity of the comparison itself: two scopes, four ordinary records, a dropped attribute count.
    assert.deepEqual(
      expectedNoEvent.resourceLogs.map((rl) => rl.scopeLogs.map((sl) => sl.logRecords.length)),
      [[2, 2]],
    );
    assert.ok(JSON.stringify(expectedNoEvent).includes('"droppedAttributesCount":2'));
    for (const u of [up.grpc, up.http]) {
      assert.equal(u.received.length, 1);
      assert.equal(u.received[0]!.headers['x-via'], 'sealtrail');
      assert.deepEqual(withoutDefaults(u.received[0]!.request), withoutDefaults(expectedNoEvent));
    }

    assert.equal(everything.received.length, 1);
    assert.deepEqual(
      withoutDefaults(everything.received[0]!.request),
      withoutDefaults(direct.received[0]!.request),
      'processors [] forwards every record',
    );

    const m = await agent.metrics();
    assert.equal(m.get('sealtrail_forward_sent_records_total{exporter="otlphttp/all"}'), 6);
    assert.equal(m.get('sealtrail_forward_sent_records_total{exporter="otlp/upstream"}'), 4);
    assert.equal(m.get('sealtrail_forward_sent_records_total{exporter="otlphttp/upstream"}'), 4);
    assert.equal(m.get('sealtrail_records_accepted_total'), 2);
    assert.equal(await agent.stop(), 0);
    const app = (await allEntries(dir)).filter((e) => !isOwn(e));
    assert.deepEqual(
      app.map((e) => attr(e, 'user.id')),
      ['u-7', 'dba'],
    );
    await Promise.all([up.grpc.close(), up.http.close(), direct.close(), everything.close()]);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('with the upstream down the audit path keeps acknowledging, and the drops are counted', async (t) => {
    const dir = await tempDir();
    const up = { grpc: await startGrpcUpstream(), http: await startHttpUpstream() };
    const agent = await startAgentWith(dir, forwardConfig(dir, up.grpc.address, up.http.address, 8));
    t.after(() => agent.kill());
    const ORDINARY = 4;
    const body = (i: number) =>
      encodeRequest([
        { body: `audit ${i}`, attributes: { audit: true } },
        ...Array.from({ length: ORDINARY }, (_, k) => ({ body: `ordinary ${i}.${k}` })),
      ]);
    const phase = async (n: number, from: number): Promise<{ perSecond: number; p50: number; p99: number }> => {
      const lat: number[] = [];
      const start = performance.now();
      for (let i = from; i < from + n; i++) {
        const s = performance.now();
        const res = await postHttp(agent.http, body(i));
        assert.equal(res.status, 200);
        lat.push(performance.now() - s);
      }
      const secs = (performance.now() - start) / 1000;
      lat.sort((a, b) => a - b);
      return { perSecond: n / secs, p50: lat[Math.floor(n * 0.5)]!, p99: lat[Math.floor(n * 0.99)]! };
    };
    const N = 150;
    const upStats = await phase(N, 0);
    await eventually(
      async () => {
        const m = await agent.metrics();
        return ['otlp/upstream', 'otlphttp/upstream'].every(
          (id) => m.get(`sealtrail_forward_sent_records_total{exporter="${id}"}`) === N * ORDINARY,
        );
      },
      20000,
      'all sent',
    );
    await Promise.all([up.grpc.close(), up.http.close()]);
    const downStats = await phase(N, N);
    const fmt = (s: typeof upStats) => `${s.perSecond.toFixed(0)} audit requests/s, p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms`;
    t.diagnostic(`upstream up:   ${fmt(upStats)}`);
    t.diagnostic(`upstream down: ${fmt(downStats)}`);

    for (const id of ['otlp/upstream', 'otlphttp/upstream']) {
      const m = await eventually(
        async () => {
          const m = await agent.metrics();
          const dropped = ['queue_full', 'retries_exhausted', 'rejected', 'shutdown'].reduce(
            (s, r) => s + (m.get(`sealtrail_forward_dropped_total{exporter="${id}",reason="${r}"}`) ?? 0),
            0,
          );
          return dropped === N * ORDINARY ? m : null;
        },
        30000,
        `${id} drops counted`,
      );
      assert.equal(m.get(`sealtrail_forward_sent_records_total{exporter="${id}"}`), N * ORDINARY, 'nothing more was sent');
      assert.ok(
        (m.get(`sealtrail_forward_dropped_total{exporter="${id}",reason="queue_full"}`) ?? 0) > 0,
        'a queue of 8 requests overflowed',
      );
      assert.ok(
        (m.get(`sealtrail_forward_dropped_total{exporter="${id}",reason="retries_exhausted"}`) ?? 0) > 0,
        'queued requests gave up after max_elapsed_time',
      );
      t.diagnostic(
        `${id}: dropped queue_full=${m.get(`sealtrail_forward_dropped_total{exporter="${id}",reason="queue_full"}`)} retries_exhausted=${m.get(`sealtrail_forward_dropped_total{exporter="${id}",reason="retries_exhausted"}`)}`,
      );
    }
    const m = await agent.metrics();
    assert.equal(m.get('sealtrail_records_accepted_total'), 2 * N);
    assert.equal(await agent.stop(), 0);
    const audit = (await allEntries(dir)).filter((e) => !isOwn(e));
    assert.equal(audit.length, 2 * N);
    await fs.rm(dir, { recursive: true, force: true });
  });
});
