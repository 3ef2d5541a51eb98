// Applications instrumented with the real OpenTelemetry SDK send audit and non-audit records to
// the real agent (a child process) over OTLP/gRPC, OTLP/HTTP JSON and OTLP/HTTP protobuf. After a
// graceful stop, the chain holds exactly the audit records, mapped as the OTLP JSON mapping says.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { startAgentWith, tempDir, testConfig } from '../helpers/agent.js';
import { sdkClient, type Transport } from '../helpers/otel.js';
import { allEntries, attr, isOwn } from '../helpers/entries.js';

const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';

for (const transport of ['grpc', 'http-json', 'http-proto'] as Transport[]) {
  describe(`real OTel SDK over ${transport}`, () => {
    it('chains exactly the audit records, with every field preserved', async () => {
      const dir = await tempDir();
      const agent = await startAgentWith(dir, testConfig(dir, { environment: 'staging' }));
      const client = sdkClient(transport, agent, { serviceName: 'billing', scope: 'billing.audit' });
      const spanCtx = trace.setSpanContext(context.active(), { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED });
      const t0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
      for (let i = 0; i < 5; i++) {
        client.logger.emit({
          body: `user ${i} exported the ledger`,
          severityNumber: SeverityNumber.WARN,
          severityText: 'WARN',
          timestamp: t0,
          attributes: { audit: true, 'user.id': `u-${i}`, count: 42, ratio: 0.5, tags: ['a', 'b'] },
          context: spanCtx,
        });
        client.logger.emit({ body: `debug noise ${i}`, severityNumber: SeverityNumber.DEBUG, attributes: { audit: false } });
        client.logger.emit({ eventName: 'audit.login', body: `login ${i}`, attributes: { 'user.id': `e-${i}` } });
        client.logger.emit({ eventName: 'app.click', body: `click ${i}` });
      }
      await client.flush();
      await client.shutdown();
      const m = await agent.metrics();
      assert.equal(m.get('sealtrail_records_accepted_total'), 10);
      assert.equal(m.get('sealtrail_records_filtered_total'), 10);
      assert.equal(await agent.stop(), 0);

      const entries = await allEntries(dir);
      const own = entries.filter(isOwn).map((e) => e.json.record.eventName);
      assert.deepEqual(own, ['sealtrail.genesis', 'sealtrail.start', 'sealtrail.stop']);
      const app = entries.filter((e) => !isOwn(e));
      assert.equal(app.length, 10);
      for (const e of app) {
        assert.equal(e.json.v, 1);
        assert.equal(e.json.env, 'staging');
        assert.match(e.json.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        const svc = e.json.resource.attributes?.find((a) => a.key === 'service.name');
        assert.deepEqual(svc?.value, { stringValue: 'billing' });
        assert.equal(e.json.scope.name, 'billing.audit');
        assert.equal(e.json.scope.version, '1.2.3');
      }
      const exported = app.filter((e) => attr(e, 'audit') === true);
      assert.equal(exported.length, 5);
      const r = exported[0]!.json.record;
      assert.equal(r.timeUnixNano, `${BigInt(t0) * 1_000_000n}`);
      assert.match(r.observedTimeUnixNano ?? '', /^\d+$/);
      assert.equal(r.severityNumber, 13);
      assert.equal(r.severityText, 'WARN');
      assert.deepEqual(r.body, { stringValue: 'user 0 exported the ledger' });
      assert.equal(r.traceId, TRACE_ID);
      assert.equal(r.spanId, SPAN_ID);
      assert.equal(r.flags, 1);
      const byKey = new Map((r.attributes ?? []).map((a) => [a.key, a.value]));
      assert.deepEqual(byKey.get('audit'), { boolValue: true });
      assert.deepEqual(byKey.get('user.id'), { stringValue: 'u-0' });
      assert.deepEqual(byKey.get('count'), { intValue: '42' });
      assert.deepEqual(byKey.get('ratio'), { doubleValue: 0.5 });
      assert.deepEqual(byKey.get('tags'), { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } });
      const logins = app.filter((e) => e.json.record.eventName === 'audit.login');
      assert.deepEqual(
        logins.map((e) => attr(e, 'user.id')),
        ['e-0', 'e-1', 'e-2', 'e-3', 'e-4'],
      );
      assert.equal(
        app.some((e) => String((e.json.record.body as { stringValue?: string })?.stringValue).startsWith('debug noise')),
        false,
      );
      await fs.rm(dir, { recursive: true, force: true });
    });
  });
}
