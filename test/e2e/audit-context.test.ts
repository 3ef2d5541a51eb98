// The audit_context processor end to end: real OTel SDK clients (gRPC and HTTP/protobuf) send
// complete, incomplete and other-environment records to the real agent under each policy.
// The answers (status, message naming record and field), the archive (checked with `sealtrail
// verify` and read with `sealtrail cat`) and the /metrics counters must match the policy exactly.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { LoggerProvider, BatchLogRecordProcessor, type LogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { AnyValueMap } from '@opentelemetry/api-logs';
import { startAgentWith, tempDir, testConfig, type AgentProcess } from '../helpers/agent.js';
import { makeExporter, type Transport } from '../helpers/otel.js';
import { allEntries, isOwn } from '../helpers/entries.js';
import { runCli } from '../helpers/cli.js';

type Policy = 'reject' | 'count' | 'accept';

/** testConfig with an audit_context processor between the filter and the seal. */
function contextConfig(dir: string, policy: Policy): string {
  const base = testConfig(dir, { environment: 'staging' });
  const processor = `  audit_context:
    fields:
      actor: { missing: ${policy} }
      action: { missing: ${policy} }
      resource: { missing: ${policy} }
      result: { missing: ${policy} }
    environment_mismatch: ${policy}
  seal:
`;
  const out = base
    .replace('  seal:\n', processor)
    .replace('processors: [audit_filter, seal]', 'processors: [audit_filter, audit_context, seal]');
  assert.notEqual(out, base);
  return out;
}

interface Answer {
  code: number; // ExportResultCode: 0 success, 1 failed
  status?: number; // HTTP status or gRPC code of the failure
  message?: string;
}

/** The SDK's real exporter, remembering what each export call answered. */
class AnsweringExporter implements LogRecordExporter {
  readonly answers: Answer[] = [];
  constructor(private readonly inner: LogRecordExporter) {}
  export(records: ReadableLogRecord[], done: Parameters<LogRecordExporter['export']>[1]): void {
    this.inner.export(records, (result) => {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs it: the SDK types the error as Error
      const err = result.error as (Error & { code?: number; data?: string }) | undefined;
      this.answers.push(err ? { code: result.code, status: err.code, message: `${err.message} ${err.data ?? ''}` } : { code: result.code });
      done(result);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** Emits `records` with one SDK client and flushes them as ONE export request; its answer. */
async function sendRequest(
  transport: Transport,
  agent: AgentProcess,
  resource: Record<string, string>,
  records: AnyValueMap[],
): Promise<Answer> {
  const exporter = new AnsweringExporter(makeExporter(transport, agent));
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(resource),
    processors: [new BatchLogRecordProcessor({ exporter, maxExportBatchSize: 512, scheduledDelayMillis: 60_000 })],
  });
  const logger = provider.getLogger('billing.audit');
  for (const attributes of records) logger.emit({ body: 'b', attributes });
  await provider.forceFlush();
  await provider.shutdown();
  assert.equal(exporter.answers.length, 1, 'one export request');
  return exporter.answers[0]!;
}

const STAGING = { 'service.name': 'billing', 'deployment.environment.name': 'staging' };
const complete = (id: string): AnyValueMap => ({
  audit: true,
  id,
  'user.id': `u-${id}`,
  action: 'invoice.update',
  resource: `invoice/${id}`,
  result: 'success',
});
const NOISE: AnyValueMap = { audit: false, id: 'noise' };

/** The four requests each transport sends, in order. */
const REQUESTS = [
  { name: 'complete', resource: STAGING, records: [complete('a'), NOISE] },
  // Record 2 (the non-audit record 1 counts too) has no actor.
  {
    name: 'missing actor',
    resource: STAGING,
    records: [complete('b1'), NOISE, { audit: true, id: 'b2', action: 'invoice.read', resource: 'invoice/b2', result: 'success' }],
  },
  {
    name: 'other environment',
    resource: { 'service.name': 'billing', 'deployment.environment.name': 'production' },
    records: [complete('c')],
  },
  // Older conventions: deployment.environment on the resource, enduser.id for the actor.
  {
    name: 'older conventions',
    resource: { 'service.name': 'billing', 'deployment.environment': 'staging' },
    records: [{ audit: true, id: 'd', 'enduser.id': 'u-d', action: 'x', resource: 'y', result: 'z' }],
  },
];

const GRPC_INVALID_ARGUMENT = 3;

for (const policy of ['reject', 'count', 'accept'] as Policy[]) {
  describe(`audit_context with every policy ${policy}`, () => {
    it('answers, stores and counts exactly as the policy says', async () => {
      const dir = await tempDir();
      const agent = await startAgentWith(dir, contextConfig(dir, policy));
      try {
        const stored: string[] = [];
        for (const transport of ['grpc', 'http-proto'] as Transport[]) {
          for (const req of REQUESTS) {
            const answer = await sendRequest(transport, agent, req.resource, req.records);
            const what = `${transport} ${req.name}`;
            const refused = policy === 'reject' && (req.name === 'missing actor' || req.name === 'other environment');
            if (!refused) {
              assert.deepEqual(answer, { code: 0 }, what);
              for (const r of req.records) if (r.audit === true) stored.push(typeof r.id === 'string' ? r.id : JSON.stringify(r.id));
              continue;
            }
            assert.equal(answer.code, 1, what);
            assert.equal(answer.status, transport === 'grpc' ? GRPC_INVALID_ARGUMENT : 400, what);
            if (req.name === 'missing actor') {
              assert.match(
                answer.message!,
                /audit context: record 2: missing actor \(looked for attribute user\.id, attribute enduser\.id, attribute actor\); nothing of this request was stored/,
                what,
              );
            } else {
              assert.match(
                answer.message!,
                /audit context: record 0: environment "production" differs from this agent's environment "staging"/,
                what,
              );
            }
          }
        }
        const m = await agent.metrics();
        assert.equal(m.get('sealtrail_records_accepted_total'), stored.length);
        assert.equal(m.get('sealtrail_audit_context_missing_total{field="actor"}'), policy === 'count' ? 2 : 0);
        for (const f of ['time', 'environment', 'service', 'action', 'resource', 'result'])
          assert.equal(m.get(`sealtrail_audit_context_missing_total{field="${f}"}`), 0, f);
        assert.equal(m.get('sealtrail_audit_context_mismatch_total{field="environment"}'), policy === 'count' ? 2 : 0);
        assert.equal(m.get('sealtrail_audit_context_rejected_total{field="actor",reason="missing"}'), policy === 'reject' ? 2 : 0);
        assert.equal(m.get('sealtrail_audit_context_rejected_total{field="environment",reason="mismatch"}'), policy === 'reject' ? 2 : 0);
        assert.equal(m.get('sealtrail_requests_rejected_total'), policy === 'reject' ? 4 : 0);
        // Logged once per episode, not once per record or request.
        const warned = (msg: RegExp) => agent.logs.filter((l) => l.level === 'warn' && msg.test(l.msg)).length;
        assert.equal(warned(/^storing audit records that lack a context field/), policy === 'count' ? 1 : 0);
        assert.equal(warned(/^storing audit records from another environment/), policy === 'count' ? 1 : 0);
        assert.equal(warned(/^refusing audit requests/), policy === 'reject' ? 2 : 0); // one per problem
        assert.equal(await agent.stop(), 0);

        const app = (await allEntries(dir)).filter((e) => !isOwn(e));
        const ids = (a: typeof app) => a.map((e) => String(e.json.record.attributes?.find((x) => x.key === 'id')?.value.stringValue));
        assert.deepEqual(ids(app), stored);
        // Every entry keeps the agent's environment; the record keeps its resource as sent.
        for (const e of app) assert.equal(e.json.env, 'staging');
        const foreign = app.filter((e) =>
          e.json.resource.attributes?.some((a) => a.key === 'deployment.environment.name' && a.value.stringValue === 'production'),
        );
        assert.equal(foreign.length, policy === 'reject' ? 0 : 2);

        const archive = path.join(dir, 'archive');
        const keyFile = path.join(dir, 'verifier.key');
        await fs.writeFile(keyFile, `${agent.verifierKey}\n`);
        const verified = await runCli(['verify', archive, '--key', keyFile]);
        assert.equal(verified.code, 0, verified.stdout + verified.stderr);
        const cat = await runCli(['cat', archive, '--format', 'json', '--service', 'billing']);
        assert.equal(cat.code, 0, cat.stderr);
        const rows = cat.stdout
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        assert.deepEqual(
          rows.map((r) => [r.actor, r.environment, r.agent_environment]),
          stored.map((id) => [id === 'b2' ? null : `u-${id}`, id === 'c' ? 'production' : 'staging', 'staging']),
        );
      } finally {
        await agent.kill();
        await fs.rm(dir, { recursive: true, force: true });
      }
    });
  });
}
