// `sealtrail cat` as one uniform view: two real agents (staging and production) archive into one
// directory records from real OTel SDK clients using current semantic conventions, older ones
// and plain attribute names. Every format shows the same rows (the table sliced by its header,
// CSV through a real CSV parser), and each filter returns exactly the matching records.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { AnyValueMap } from '@opentelemetry/api-logs';
import { startAgentWith, tempDir, testConfig, type AgentProcess } from '../helpers/agent.js';
import { makeExporter } from '../helpers/otel.js';
import { runCli } from '../helpers/cli.js';

type Row = Record<string, string | number | null>;

let dir: string;
let archive: string;
/** The application rows we expect, in archive order (origin agent-a first, then agent-b). */
const expected: Row[] = [];

const T0 = Date.UTC(2025, 0, 1, 0, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

async function send(
  agent: AgentProcess,
  resource: Record<string, string>,
  records: Array<{ at: number; attributes: AnyValueMap; body: string }>,
): Promise<void> {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(resource),
    processors: [
      new BatchLogRecordProcessor({ exporter: makeExporter('http-proto', agent), maxExportBatchSize: 512, scheduledDelayMillis: 60_000 }),
    ],
  });
  const logger = provider.getLogger('audit');
  for (const r of records) logger.emit({ timestamp: r.at, body: r.body, attributes: { audit: true, ...r.attributes } });
  await provider.forceFlush();
  await provider.shutdown();
}

before(async () => {
  dir = await tempDir();
  archive = path.join(dir, 'archive');
  const agents: AgentProcess[] = [];
  try {
    for (const [name, env] of [
      ['agent-a', 'staging'],
      ['agent-b', 'production'],
    ] as const) {
      const d = path.join(dir, name);
      await fs.mkdir(d);
      const yaml = testConfig(d, {
        name,
        environment: env,
        exporters: { yaml: `  file:\n    directory: ${archive}\n`, ids: ['file'] },
      });
      agents.push(await startAgentWith(d, yaml));
    }
    const [a, b] = agents as [AgentProcess, AgentProcess];
    // Current conventions.
    await send(a, { 'service.name': 'billing', 'deployment.environment.name': 'staging' }, [
      {
        at: T0 + 1000,
        body: 'updated',
        attributes: { 'user.id': 'u-1', action: 'invoice.update', resource: 'invoice/1', result: 'success' },
      },
      {
        at: T0 + 2000,
        body: 'denied',
        attributes: { 'user.id': 'u-2', action: 'invoice.delete', resource: 'invoice/2', result: 'denied' },
      },
    ]);
    // Older conventions: deployment.environment, enduser.id.
    await send(a, { 'service.name': 'auth', 'deployment.environment': 'staging' }, [
      { at: T0 + 3000, body: 'login', attributes: { 'enduser.id': 'u-1', action: 'login', resource: 'session', result: 'success' } },
    ]);
    // Plain names; one record without result; one with CSV-hostile text; one naming its actor
    // in a custom attribute that only a --config mapping knows.
    await send(b, { 'service.name': 'shop', 'deployment.environment.name': 'production' }, [
      { at: T0 + 4000, body: 'read', attributes: { actor: 'u-3', action: 'invoice.read', resource: 'invoice/1' } },
      {
        at: T0 + 5000,
        body: 'multi\nline',
        attributes: { actor: 'u-2', action: 'invoice.update', resource: 'invoice "7", copy\r\nB', result: 'success' },
      },
      {
        at: T0 + 6000,
        body: 'batch',
        attributes: { principal: 'svc-batch', action: 'invoice.export', resource: 'invoice/*', result: 'success' },
      },
    ]);
    for (const ag of agents) assert.equal(await ag.stop(), 0);
  } finally {
    for (const ag of agents) await ag.kill();
  }
  const row = (
    sec: number,
    environment: string,
    service: string,
    actor: string | null,
    action: string,
    resource: string,
    result: string | null,
    body: string,
  ): Row => ({
    time: iso(T0 + sec * 1000),
    environment,
    service,
    actor,
    action,
    resource,
    result,
    body,
  });
  expected.push(
    row(1, 'staging', 'billing', 'u-1', 'invoice.update', 'invoice/1', 'success', 'updated'),
    row(2, 'staging', 'billing', 'u-2', 'invoice.delete', 'invoice/2', 'denied', 'denied'),
    row(3, 'staging', 'auth', 'u-1', 'login', 'session', 'success', 'login'),
    row(4, 'production', 'shop', 'u-3', 'invoice.read', 'invoice/1', null, 'read'),
    row(5, 'production', 'shop', 'u-2', 'invoice.update', 'invoice "7", copy\r\nB', 'success', 'multi\nline'),
    row(6, 'production', 'shop', null, 'invoice.export', 'invoice/*', 'success', 'batch'),
  );
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const KEYS = ['time', 'environment', 'service', 'actor', 'action', 'resource', 'result', 'body'] as const;
const pick = (r: Row): Row => Object.fromEntries(KEYS.map((k) => [k, r[k] ?? null]));
const isApp = (r: Row) => r.service !== 'sealtrail';

async function json(...args: string[]): Promise<Row[]> {
  const r = await runCli(['cat', archive, '--format', 'json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout === ''
    ? []
    : r.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Row);
}

test('json: one uniform row per record across origins, environments and naming conventions', async () => {
  const rows = await json();
  assert.deepEqual(rows.filter(isApp).map(pick), expected);
  // Both origins, each with its own events (genesis, start, stop) in log order.
  const origins = [...new Set(rows.map((r) => String(r.origin)))];
  assert.equal(origins.length, 2);
  assert.match(origins[0]!, /^sealtrail\/agent-a\//);
  assert.match(origins[1]!, /^sealtrail\/agent-b\//);
  for (const o of origins) {
    const own = rows.filter((r) => r.origin === o && !isApp(r));
    assert.deepEqual(
      own.map((r) => r.event_name),
      ['sealtrail.genesis', 'sealtrail.start', 'sealtrail.stop'],
    );
    assert.deepEqual(
      rows.filter((r) => r.origin === o).map((r) => r.seq),
      [...Array(rows.filter((r) => r.origin === o).length).keys()],
    );
  }
  // A missing value is null, never a placeholder.
  assert.equal(rows.filter(isApp)[3]!.result, null);
});

test('csv parses with a real CSV parser into the same rows (RFC 4180 quoting)', async () => {
  const r = await runCli(['cat', archive, '--format', 'csv']);
  assert.equal(r.code, 0, r.stderr);
  const parsed = parse<Record<string, string>>(r.stdout, { columns: true, record_delimiter: '\r\n' });
  const all = await json();
  assert.equal(parsed.length, all.length);
  assert.deepEqual(
    parsed.map((p) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v]))),
    all.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? '' : String(v)]))),
  );
  assert.ok(r.stdout.includes('"invoice ""7"", copy\r\nB"'));
});

test('table: a header and one line per record; cells sliced by the header match the json rows', async () => {
  const r = await runCli(['cat', archive]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  const header = lines[0]!;
  assert.match(header, /^TIME +ENVIRONMENT +SERVICE +ACTOR +ACTION +RESOURCE +RESULT +EVENT_NAME +ORIGIN +SEQ +BODY$/);
  const names = header.split(/ +/);
  const starts = names.map((n) => header.indexOf(n));
  const all = await json();
  assert.equal(lines.length, all.length + 1);
  const cells = lines
    .slice(1)
    .map((l) =>
      Object.fromEntries(
        names.map((n, i) => [n.toLowerCase(), l.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : undefined).trim()]),
      ),
    );
  assert.deepEqual(
    cells,
    all.map((row) =>
      Object.fromEntries(
        names.map((n) => [n.toLowerCase(), row[n.toLowerCase()] === null ? '' : String(row[n.toLowerCase()]).replace(/\s+/g, ' ')]),
      ),
    ),
  );
  assert.equal(r.stdout.includes('- -:'), false);
});

test('each filter returns exactly the matching records', async () => {
  const app = async (...args: string[]) => (await json(...args)).filter(isApp).map(pick);
  const where = (f: (r: Row) => boolean) => expected.filter(f);
  assert.deepEqual(
    await app('--actor', 'u-1'),
    where((r) => r.actor === 'u-1'),
  );
  assert.deepEqual(
    await app('--action', 'invoice.update'),
    where((r) => r.action === 'invoice.update'),
  );
  assert.deepEqual(
    await app('--env', 'production'),
    where((r) => r.environment === 'production'),
  );
  assert.deepEqual(
    await app('--result', 'denied'),
    where((r) => r.result === 'denied'),
  );
  assert.deepEqual(
    await app('--resource', 'invoice/1'),
    where((r) => r.resource === 'invoice/1'),
  );
  assert.deepEqual(
    await app('--service', 'auth'),
    where((r) => r.service === 'auth'),
  );
  assert.deepEqual(
    await app('--actor', 'u-2', '--env', 'production'),
    where((r) => r.actor === 'u-2' && r.environment === 'production'),
  );
  assert.deepEqual(await app('--actor', 'nobody'), []);
  // --from/--to bound the record's own time (2025), not the receive time (today).
  const range = await json('--from', iso(T0 + 2000), '--to', iso(T0 + 4000));
  assert.deepEqual(
    range.map(pick),
    where((r) => r.time! >= iso(T0 + 2000) && r.time! <= iso(T0 + 4000)),
  );
  // --where still matches raw attributes, whatever the mapping.
  assert.deepEqual(
    await app('--where', 'enduser.id=u-1'),
    where((r) => r.service === 'auth'),
  );
  // Raw lines honour the same filters.
  const raw = await runCli(['cat', archive, '--format', 'raw', '--actor', 'u-3']);
  assert.equal(raw.stdout.trimEnd().split('\n').length, 1);
  assert.equal((JSON.parse(raw.stdout) as { env: string }).env, 'production');
});

test('--receive-time adds the agent receive time; --config resolves through its audit_context mapping', async () => {
  const rows = (await json('--receive-time')).filter(isApp);
  for (const r of rows) assert.match(String(r.received), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(rows.every((r) => String(r.received) > String(r.time)));
  const cfg = path.join(dir, 'cat-config.yaml');
  await fs.writeFile(
    cfg,
    `processors:
  audit_context:
    fields:
      actor:
        from: [user.id, enduser.id, actor, principal]
`,
  );
  assert.deepEqual(
    (await json('--config', cfg, '--actor', 'svc-batch')).map(pick),
    expected.filter((r) => r.body === 'batch').map((r) => ({ ...r, actor: 'svc-batch' })),
  );
  await fs.writeFile(
    cfg,
    'processors:\n  audit_context:\n    fields:\n      actor: { from: [ { resource_attribute: a, attribute: b } ] }\n',
  );
  const bad = await runCli(['cat', archive, '--config', cfg]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /processors\.audit_context\.fields\.actor\.from\[0\]: needs exactly one of attribute, resource_attribute/);
  assert.equal((await runCli(['cat', archive, '--format', 'yaml'])).code, 2);
});
