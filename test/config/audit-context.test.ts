// The audit_context processor's schema: defaults, the three spellings of a source, errors that
// name the key path, its place in the pipeline, and the section read alone for `sealtrail cat`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSealtrailError } from '../../lib/errors.js';
import { mappingFromConfigText } from '../../config/audit-context.js';
import { parseConfig } from '../../config/load.js';
import { DEFAULT_MAPPING, formatNanos, recordTimeNanos, resolveField } from '../../verify/context.js';

const withContext = (
  processor: string,
  processors = '[audit_filter, audit_context, seal]',
) => `receivers: { otlp: { protocols: { grpc: } } }
processors:
  audit_filter:
  seal:
${processor}
exporters: { file: }
service: { pipelines: { logs: { receivers: [otlp], processors: ${processors}, exporters: [file] } } }
`;

function configErrors(yaml: string): string[] {
  try {
    parseConfig(yaml, 't', {}, '/srv');
  } catch (err) {
    assert.ok(isSealtrailError(err, 'CONFIG'), String(err));
    return err.message.split('\n');
  }
  assert.fail('expected a CONFIG error');
}

test('listed without settings: the default mapping, count for actor/action/resource/result/time, accept for environment/service', () => {
  const { config } = parseConfig(withContext('  audit_context:'), 't', {}, '/srv');
  const c = config.context!;
  assert.equal(c.environmentMismatch, 'count');
  assert.deepEqual(c.fields.time, { missing: 'count' });
  for (const f of ['actor', 'action', 'resource', 'result'] as const)
    assert.deepEqual(c.fields[f], { from: DEFAULT_MAPPING[f], missing: 'count' });
  for (const f of ['environment', 'service'] as const) assert.deepEqual(c.fields[f], { from: DEFAULT_MAPPING[f], missing: 'accept' });
});

test('not listed: no processor (nothing checked)', () => {
  const yaml = withContext('').replace('[audit_filter, audit_context, seal]', '[audit_filter, seal]');
  assert.equal(parseConfig(yaml, 't', {}, '/srv').config.context, null);
});

test('sources: a bare key is a record attribute; attribute and resource_attribute mappings', () => {
  const { config } = parseConfig(
    withContext(
      `  audit_context/strict:
    fields:
      actor: { from: [principal, { attribute: user.id }, { resource_attribute: service.account }], missing: reject }
    environment_mismatch: reject`,
      '[audit_filter, audit_context/strict, seal]',
    ),
    't',
    {},
    '/srv',
  );
  assert.deepEqual(config.context!.fields.actor, {
    from: [{ attribute: 'principal' }, { attribute: 'user.id' }, { resourceAttribute: 'service.account' }],
    missing: 'reject',
  });
  assert.equal(config.context!.environmentMismatch, 'reject');
});

test('errors name the key path', () => {
  assert.deepEqual(
    configErrors(
      withContext(`  audit_context:
    fields:
      actor: { from: [], missing: drop }
      who: { missing: reject }
      action: { from: [ { attribute: a, resource_attribute: b }, 7, "" ] }
      time: { from: [x] }
    environment_mismatch: warn`),
    ),
    [
      'processors.audit_context.fields.who: unknown key (expected one of time, environment, service, actor, action, resource, result)',
      'processors.audit_context.fields.time.from: unknown key (expected one of missing)',
      'processors.audit_context.fields.actor.from: must list at least 1 item(s)',
      'processors.audit_context.fields.actor.missing: must be one of reject, count, accept',
      'processors.audit_context.fields.action.from[0]: needs exactly one of attribute, resource_attribute',
      'processors.audit_context.fields.action.from[1]: must be an attribute key, { attribute: KEY } or { resource_attribute: KEY }',
      'processors.audit_context.fields.action.from[2]: must not be empty',
      'processors.audit_context.environment_mismatch: must be one of reject, count, accept',
    ],
  );
});

test('audit_context goes between audit_filter and seal', () => {
  assert.deepEqual(configErrors(withContext('  audit_context:', '[audit_context, audit_filter, seal]')), [
    'service.pipelines.logs.processors: must be an audit_filter processor, optionally an audit_context processor, then a seal processor, e.g. [audit_filter, audit_context, seal]',
  ]);
});

test('cat reads the mapping alone: default without the processor, the listed one of several, errors with paths', () => {
  assert.equal((mappingFromConfigText('agent: { name: x }\n', {}) as { mapping: unknown }).mapping, DEFAULT_MAPPING);
  const two = `processors:
  audit_context/a: { fields: { actor: { from: [a] } } }
  audit_context/b: { fields: { actor: { from: ["\${env:ACTOR_KEY}"] } } }
service: { pipelines: { logs: { processors: [audit_filter, audit_context/b, seal] } } }
`;
  const r = mappingFromConfigText(two, { ACTOR_KEY: 'b' });
  assert.ok('mapping' in r);
  assert.deepEqual(r.mapping.actor, [{ attribute: 'b' }]);
  assert.deepEqual(r.mapping.service, DEFAULT_MAPPING.service);
  assert.deepEqual(mappingFromConfigText('processors: { audit_context: { fields: { actor: { from: [""] } } } }', {}), {
    errors: ['processors.audit_context.fields.actor.from[0]: must not be empty'],
  });
});

test('resolveField takes the first non-empty scalar in priority order', () => {
  const rec = new Map<string, string | null>([
    ['user.id', ''],
    ['enduser.id', 'u-old'],
    ['actor', 'u-plain'],
    ['tags', null],
  ]);
  const res = new Map<string, string | null>([['deployment.environment', 'staging']]);
  const get = (m: Map<string, string | null>) => (k: string) => m.get(k);
  assert.equal(resolveField(DEFAULT_MAPPING.actor, get(rec), get(res)), 'u-old');
  assert.equal(resolveField(DEFAULT_MAPPING.environment, get(rec), get(res)), 'staging');
  assert.equal(resolveField([{ attribute: 'tags' }], get(rec), get(res)), null);
  assert.equal(resolveField(DEFAULT_MAPPING.result, get(rec), get(res)), null);
});

test('record time: timeUnixNano, else observedTimeUnixNano; "0" is unset; RFC 3339 output', () => {
  assert.equal(recordTimeNanos({ timeUnixNano: '1700000000123456789', observedTimeUnixNano: '1' }), '1700000000123456789');
  assert.equal(recordTimeNanos({ timeUnixNano: '0', observedTimeUnixNano: '1700000001000000000' }), '1700000001000000000');
  assert.equal(recordTimeNanos({}), null);
  assert.equal(recordTimeNanos({ timeUnixNano: 'x' }), null);
  assert.equal(formatNanos('1700000000123456789'), '2023-11-14T22:13:20.123456789Z');
  assert.equal(formatNanos('1700000000123000000'), '2023-11-14T22:13:20.123Z');
  assert.equal(formatNanos('5'), '1970-01-01T00:00:00.000000005Z');
  assert.equal(formatNanos('99999999999999999999999'), '99999999999999999999999ns');
});
