// The audit_context processor on requests decoded by the real OTLP/JSON decoder: record indices
// across resourceLogs, the time check on canonical text (not fooled by a body that quotes the
// key), the first reject problem wins, counts apply only when stored, and one warning per episode.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuditContextProcessor, EPISODE_QUIET_MS } from '../../../agent/context/audit-context.js';
import { isSealtrailError } from '../../../lib/errors.js';
import { decodeJsonRequest } from '../../../agent/otlp/decode-json.js';
import { auditContextProcessor } from '../../../config/audit-context.js';
import { INVALID, type Ctx } from '../../../config/schema.js';
import type { AuditContextConfig } from '../../../config/types.js';
import type { LogFn } from '../../../lib/log.js';

function config(raw: unknown): AuditContextConfig {
  const ctx: Ctx = { errors: [], cwd: '/' };
  const c = auditContextProcessor(raw, 'processors.audit_context', ctx);
  assert.notEqual(c, INVALID, ctx.errors.join('\n'));
  return c as AuditContextConfig;
}

const s = (key: string, v: string) => ({ key, value: { stringValue: v } });

function request(resourceLogs: Array<{ env?: string; records: Array<Record<string, unknown>> }>) {
  const body = {
    resourceLogs: resourceLogs.map((r) => ({
      resource: { attributes: [s('service.name', 'svc'), ...(r.env ? [s('deployment.environment.name', r.env)] : [])] },
      scopeLogs: [{ scope: { name: 'x' }, logRecords: r.records }],
    })),
  };
  return decodeJsonRequest(new TextEncoder().encode(JSON.stringify(body)));
}

const full = (actor: string) => ({
  timeUnixNano: '1700000000000000000',
  attributes: [s('user.id', actor), s('action', 'a'), s('resource', 'r'), s('result', 'ok')],
});

function rejects(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isSealtrailError(err, 'BAD_REQUEST'), String(err));
    assert.equal(err.message, message);
    return true;
  });
}

test('record indices count every record across resourceLogs; the first reject problem is reported', () => {
  const p = new AuditContextProcessor(config({ fields: { actor: { missing: 'reject' }, result: { missing: 'reject' } } }), 'prod');
  const req = request([
    { env: 'prod', records: [full('u1'), full('u2')] },
    { env: 'prod', records: [{ timeUnixNano: '1', attributes: [s('action', 'a')] }] },
  ]);
  rejects(
    () => p.check(req.records, [0, 1, 2]),
    'audit context: record 2: missing actor (looked for attribute user.id, attribute enduser.id, attribute actor); nothing of this request was stored',
  );
  // Only the audit records are checked: without index 2, the request passes.
  assert.deepEqual(p.check(req.records, [0, 1]).missing.size, 0);
  assert.match(p.renderMetrics(), /^sealtrail_audit_context_rejected_total\{field="actor",reason="missing"\} 1$/m);
  assert.match(p.renderMetrics(), /^sealtrail_audit_context_rejected_total\{field="result",reason="missing"\} 0$/m);
});

test('time: timeUnixNano or observedTimeUnixNano; a body quoting the key does not count', () => {
  const p = new AuditContextProcessor(config({ fields: { time: { missing: 'reject' } } }), 'prod');
  const ok = request([{ records: [{ observedTimeUnixNano: '5', attributes: [] }, { timeUnixNano: '7' }] }]);
  p.check(ok.records, [0, 1]);
  const tricky = request([{ records: [{ body: { stringValue: '"timeUnixNano":"1"' }, attributes: [s('timeUnixNano', '1')] }] }]);
  rejects(
    () => p.check(tricky.records, [0]),
    'audit context: record 0: missing time (neither timeUnixNano nor observedTimeUnixNano is set); nothing of this request was stored',
  );
  const zero = request([{ records: [{ timeUnixNano: '0', observedTimeUnixNano: '0' }] }]);
  assert.throws(
    () => p.check(zero.records, [0]),
    (e: unknown) => isSealtrailError(e, 'BAD_REQUEST'),
  );
});

test('environment: a mismatch is not a missing value, and an absent environment is not a mismatch', () => {
  const p = new AuditContextProcessor(config({ environment_mismatch: 'reject' }), 'prod');
  p.check(request([{ records: [full('u')] }]).records, [0]);
  rejects(
    () => p.check(request([{ env: 'dev', records: [full('u')] }]).records, [0]),
    'audit context: record 0: environment "dev" differs from this agent\'s environment "prod"; nothing of this request was stored',
  );
});

test('count: tallied per request, applied only when stored, logged once per episode', () => {
  let now = 1_000_000;
  const logs: Array<[string, string, Record<string, unknown> | undefined]> = [];
  const log: LogFn = (level, msg, fields) => logs.push([level, msg, fields]);
  const p = new AuditContextProcessor(
    config({ fields: { actor: { missing: 'count' } }, environment_mismatch: 'count' }),
    'prod',
    log,
    () => now,
  );
  const req = request([
    { env: 'dev', records: [full('u1'), { timeUnixNano: '1', attributes: [s('action', 'a'), s('resource', 'r'), s('result', 'ok')] }] },
  ]);
  const tally = p.check(req.records, [0, 1]);
  assert.deepEqual([...tally.missing], [['actor', 1]]);
  assert.equal(tally.mismatched, 2);
  // Not stored (e.g. the buffer was full): nothing counted, nothing logged.
  assert.match(p.renderMetrics(), /^sealtrail_audit_context_missing_total\{field="actor"\} 0$/m);
  assert.equal(logs.length, 0);
  p.stored(tally);
  p.stored(p.check(req.records, [0, 1]));
  now += EPISODE_QUIET_MS; // still the same episode (not more than the quiet time)
  p.stored(p.check(req.records, [0, 1]));
  const metrics = p.renderMetrics();
  assert.match(metrics, /^sealtrail_audit_context_missing_total\{field="actor"\} 3$/m);
  assert.match(metrics, /^sealtrail_audit_context_mismatch_total\{field="environment"\} 6$/m);
  assert.deepEqual(
    logs.map((l) => l[2]?.field ?? 'mismatch'),
    ['actor', 'mismatch'],
  );
  now += EPISODE_QUIET_MS + 1; // a new episode
  p.stored(p.check(req.records, [0, 1]));
  assert.deepEqual(
    logs.map((l) => l[2]?.field ?? 'mismatch'),
    ['actor', 'mismatch', 'actor', 'mismatch'],
  );
  assert.ok(logs.every((l) => l[0] === 'warn'));
});
