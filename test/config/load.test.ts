import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isSealtrailError } from '../../lib/errors.js';
import { DEFAULT_CONFIG_YAML } from '../../config/default.js';
import { EMBEDDED_SOURCE, configDigest, loadConfig, parseConfig, redact } from '../../config/load.js';
import { MAX_ENTRY_LINE_BYTES } from '../../verify/limits.js';
import { DEFAULT_MAX_LINE_BYTES } from '../../verify/lines.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const testdata = path.join(repoRoot, 'config/testdata');
const CWD = '/srv/app';

/** Asserts a CONFIG error whose message is exactly `lines`, one error per line. */
function assertConfigError(fn: () => unknown, lines: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isSealtrailError(err, 'CONFIG'), `expected a CONFIG error, got ${String(err)}`);
    assert.deepEqual(err.message.split('\n'), lines);
    return true;
  });
}

const MINIMAL = `receivers: { otlp: { protocols: { grpc: } } }
processors: { audit_filter: , seal: }
exporters: { file: }
service: { pipelines: { logs: { receivers: [otlp], processors: [audit_filter, seal], exporters: [file] } } }
`;

test('each invalid testdata file fails with the errors named in its "# error:" lines', async () => {
  const files = (await fs.readdir(testdata)).filter((f) => f.startsWith('invalid-')).sort();
  assert.ok(files.length >= 25, `only ${files.length} invalid cases`);
  for (const f of files) {
    const text = await fs.readFile(path.join(testdata, f), 'utf8');
    const expected = [...text.matchAll(/^# error: (.*)$/gm)].map((m) => m[1]!);
    assert.ok(expected.length > 0, `${f} has no "# error:" line`);
    await assert.rejects(loadConfig(path.join(testdata, f), {}, CWD), (err: unknown) => {
      assert.ok(isSealtrailError(err, 'CONFIG'), `${f}: expected CONFIG, got ${String(err)}`);
      assert.deepEqual(err.message.split('\n'), expected, f);
      return true;
    });
  }
});

test('the embedded default resolves to the documented values', async () => {
  const { config, source, digest } = await loadConfig(null, {}, CWD);
  assert.equal(source, EMBEDDED_SOURCE);
  assert.match(digest, /^[0-9a-f]{64}$/);
  assert.deepEqual(config, {
    agent: {
      name: 'sealtrail',
      environment: 'development',
      dataDir: '/srv/app/data',
      signingKey: null,
      shutdownTimeoutMs: 30_000,
      buffer: { maxBytes: 1024 ** 3 },
      telemetry: { endpoint: '127.0.0.1:8888' },
      retry: { initialIntervalMs: 500, maxIntervalMs: 30_000, multiplier: 2 },
    },
    receivers: {
      grpc: { endpoint: '127.0.0.1:4317', maxRecvMsgSize: 4 * 1024 ** 2, readTimeoutMs: 30_000, tls: null, auth: { bearerToken: null } },
      http: {
        endpoint: '127.0.0.1:4318',
        maxRequestBodySize: 4 * 1024 ** 2,
        maxDecompressedSize: 16 * 1024 ** 2,
        readHeaderTimeoutMs: 10_000,
        readTimeoutMs: 30_000,
        tls: null,
        auth: { bearerToken: null },
      },
      maxDepth: 64,
      maxInflightBytes: 64 * 1024 ** 2,
      maxRecordsPerRequest: 10_000,
      maxAttributesPerRecord: 128,
      maxRequestCanonicalSize: 16 * 1024 ** 2,
      maxEntrySize: 1024 ** 2,
    },
    filter: { rules: [{ attribute: { key: 'audit', value: 'true' } }, { eventNamePrefix: 'audit.' }] },
    context: {
      fields: {
        time: { missing: 'count' },
        environment: {
          from: [{ resourceAttribute: 'deployment.environment.name' }, { resourceAttribute: 'deployment.environment' }],
          missing: 'accept',
        },
        service: { from: [{ resourceAttribute: 'service.name' }], missing: 'accept' },
        actor: { from: [{ attribute: 'user.id' }, { attribute: 'enduser.id' }, { attribute: 'actor' }], missing: 'count' },
        action: { from: [{ attribute: 'action' }], missing: 'count' },
        resource: { from: [{ attribute: 'resource' }], missing: 'count' },
        result: { from: [{ attribute: 'result' }], missing: 'count' },
      },
      environmentMismatch: 'count',
    },
    seal: { maxRecords: 10_000, maxBytes: 4 * 1024 ** 2, maxAgeMs: 5000 },
    exporters: [{ type: 'file', id: 'file', directory: '/srv/app/data/archive', compression: 'none', immutable: false }],
    forward: [],
    gateway: null,
  });
});

test('the embedded default takes agent name, environment and data_dir from the environment', async () => {
  const env = { SEALTRAIL_AGENT_NAME: 'edge-7', SEALTRAIL_ENV: 'staging', SEALTRAIL_DATA_DIR: '/var/lib/st' };
  const { config } = await loadConfig(null, env, CWD);
  assert.equal(config.agent.name, 'edge-7');
  assert.equal(config.agent.environment, 'staging');
  assert.equal(config.agent.dataDir, '/var/lib/st');
  assert.equal((config.exporters[0] as { directory: string }).directory, '/var/lib/st/archive');
});

test('config/default.yaml is identical to the embedded DEFAULT_CONFIG_YAML', async () => {
  assert.equal(await fs.readFile(path.join(repoRoot, 'config/default.yaml'), 'utf8'), DEFAULT_CONFIG_YAML);
});

test('a minimal config fills every default; protocols omitted stay off', () => {
  const { config } = parseConfig(MINIMAL, 'minimal', {}, CWD);
  assert.equal(config.receivers.http, null);
  assert.equal(config.receivers.grpc?.endpoint, '127.0.0.1:4317');
  assert.equal(config.agent.dataDir, '/srv/app/data');
  assert.equal(config.filter.rules.length, 2);
  const fromFile = parseConfig(MINIMAL, 'again', {}, CWD);
  assert.equal(fromFile.digest, configDigest(config));
});

test('valid-minimal.yaml loads with the file path as source', async () => {
  const file = path.join(testdata, 'valid-minimal.yaml');
  const loaded = await loadConfig(file, {}, CWD);
  assert.equal(loaded.source, file);
  assert.equal(loaded.config.exporters.length, 1);
});

test('valid-s3-full.yaml resolves every option', async () => {
  const env = { SEALTRAIL_TOKEN: 'tok-123', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret/key' };
  const { config } = await loadConfig(path.join(testdata, 'valid-s3-full.yaml'), env, CWD);
  assert.equal(config.agent.signingKey, '/etc/sealtrail/payments-eu-1.key');
  assert.equal(config.agent.shutdownTimeoutMs, 90_000);
  assert.equal(config.agent.retry.multiplier, 1.5);
  assert.equal(config.agent.retry.maxIntervalMs, 60_000);
  assert.deepEqual(config.receivers.grpc, {
    endpoint: '[::1]:4317',
    maxRecvMsgSize: 8 * 1024 ** 2,
    readTimeoutMs: 20_000,
    tls: { certFile: '/etc/sealtrail/tls.crt', keyFile: '/etc/sealtrail/tls.key', clientCaFile: '/etc/sealtrail/ca.crt' },
    auth: { bearerToken: 'tok-123' },
  });
  assert.equal(config.receivers.http?.maxRequestBodySize, 10_000_000);
  assert.equal(config.receivers.http?.tls?.clientCaFile, null);
  assert.equal(config.receivers.http?.readHeaderTimeoutMs, 5000);
  assert.equal(config.receivers.http?.readTimeoutMs, 60_000);
  assert.equal(config.receivers.maxDepth, 32);
  assert.equal(config.receivers.maxInflightBytes, 128 * 1024 ** 2);
  assert.equal(config.receivers.maxRecordsPerRequest, 4096);
  assert.equal(config.receivers.maxAttributesPerRecord, 256);
  assert.equal(config.receivers.maxRequestCanonicalSize, 16 * 1024 ** 2);
  // The largest value allowed: exactly the verifier's line limit.
  assert.equal(config.receivers.maxEntrySize, MAX_ENTRY_LINE_BYTES);
  assert.deepEqual(config.filter.rules, [
    { attribute: { key: 'audit', value: 'true' } },
    { resourceAttribute: { key: 'service.name', value: 'payments' }, minSeverity: 13 },
    { eventName: 'user.login' },
    { eventNamePrefix: 'audit.' },
    { scopeName: 'com.example.audit' },
    { scopeNamePrefix: 'com.example.' },
    { minSeverity: 19 },
    { attribute: { key: 'tenant', value: null } },
  ]);
  assert.deepEqual(config.seal, { maxRecords: 5000, maxBytes: 1024 ** 2, maxAgeMs: 2000 });
  // Exporters come in pipeline order, not definition order.
  assert.deepEqual(config.exporters, [
    {
      type: 's3',
      id: 's3/archive',
      bucket: 'audit-archive',
      prefix: 'sealtrail/prod/',
      region: 'eu-central-1',
      endpoint: 'https://s3.eu-central-1.amazonaws.com',
      forcePathStyle: true,
      accessKeyId: 'AKIAEXAMPLE',
      secretAccessKey: 'secret/key',
      sessionToken: null,
      compression: 'gzip',
      objectLock: { mode: 'GOVERNANCE', retainDays: 2555 },
      legalHold: true,
    },
    { type: 'file', id: 'file', directory: '/var/lib/sealtrail/archive', compression: 'gzip', immutable: true },
  ]);
});

test('valid-two-file-sinks.yaml: relative paths resolve against cwd, the default archive follows data_dir', async () => {
  const { config } = await loadConfig(path.join(testdata, 'valid-two-file-sinks.yaml'), {}, CWD);
  assert.deepEqual(
    config.exporters.map((e) => [e.id, e.type === 'file' ? e.directory : '', e.compression]),
    [
      ['file', '/srv/app/state/archive', 'none'],
      ['file/backup', '/mnt/backup/sealtrail', 'gzip'],
    ],
  );
});

test('the digest redacts secrets: it changes with settings but not with secret values', async () => {
  const file = path.join(testdata, 'valid-s3-full.yaml');
  const base = { SEALTRAIL_TOKEN: 'a', AWS_ACCESS_KEY_ID: 'AKIA1', AWS_SECRET_ACCESS_KEY: 's1' };
  const a = await loadConfig(file, base, CWD);
  const otherSecrets = await loadConfig(file, { ...base, SEALTRAIL_TOKEN: 'b', AWS_SECRET_ACCESS_KEY: 's2' }, CWD);
  assert.equal(otherSecrets.digest, a.digest);
  // Whether a session token is used is visible; its value is not.
  const t1 = await loadConfig(file, { ...base, AWS_SESSION_TOKEN: 't1' }, CWD);
  const t2 = await loadConfig(file, { ...base, AWS_SESSION_TOKEN: 't2' }, CWD);
  assert.equal(t1.digest, t2.digest);
  assert.notEqual(t1.digest, a.digest);
  // The access key id is an identifier, not a secret.
  assert.notEqual((await loadConfig(file, { ...base, AWS_ACCESS_KEY_ID: 'AKIA2' }, CWD)).digest, a.digest);
  // The returned config itself keeps the real secrets (the sinks need them).
  assert.equal(a.config.receivers.grpc?.auth.bearerToken, 'a');
});

test('env expansion: set values, defaults, empty defaults, set-but-empty, $$ and lone $', () => {
  const yaml = `agent:
  name: \${env:NAME}
  environment: "pre-\${env:ENV:-dev}-$$HOME-a$b-\${env:EMPTY:-fallback}-$"
  signing_key: \${env:KEY:-}
  telemetry: { endpoint: "\${env:TELEMETRY}" }
  buffer:
    max_size: \${env:BUF:-2GiB}
  retry: { multiplier: "\${env:MULT}" }
${MINIMAL}`;
  const { config } = parseConfig(yaml, 't', { NAME: 'n1', EMPTY: '', TELEMETRY: '', MULT: '3' }, CWD);
  assert.equal(config.agent.name, 'n1');
  assert.equal(config.agent.environment, 'pre-dev-$HOME-a$b-fallback-$');
  assert.equal(config.agent.signingKey, null); // empty default -> "" -> not set
  assert.equal(config.agent.telemetry.endpoint, null); // set-but-empty is a value: "" disables
  assert.equal(config.agent.buffer.maxBytes, 2 * 1024 ** 3); // string from env coerced to a size
  assert.equal(config.agent.retry.multiplier, 3); // string from env coerced to a number
});

test('env expansion cannot inject YAML structure', () => {
  const evil = 'x\nexporters: { s3: { bucket: evil } }\n# ';
  const { config } = parseConfig(`agent:\n  environment: \${env:EVIL}\n${MINIMAL}`, 't', { EVIL: evil }, CWD);
  assert.equal(config.agent.environment, evil);
  assert.deepEqual(
    config.exporters.map((e) => e.id),
    ['file'],
  );
  // A value that looks like a flow mapping stays a string, so a string-typed key rejects nothing
  // and a mapping-typed key refuses it.
  assertConfigError(
    () => parseConfig(`agent:\n  buffer: \${env:B}\n${MINIMAL}`, 't', { B: '{ max_size: 1 }' }, CWD),
    ['agent.buffer: must be a mapping'],
  );
});

test('env expansion is a single pass and does not expand keys', () => {
  const { config } = parseConfig(`agent: { environment: "\${env:A}" }\n${MINIMAL}`, 't', { A: '${env:B}', B: 'no' }, CWD);
  assert.equal(config.agent.environment, '${env:B}');
  assertConfigError(
    () => parseConfig(`\${env:A}: 1\n${MINIMAL}`, 't', { A: 'agent' }, CWD),
    ['${env:A}: unknown key (expected one of agent, receivers, processors, exporters, service)'],
  );
});

test('env expansion errors name the key path, list index and variable, all together', () => {
  const yaml = `agent: { name: "\${env:MISSING_ONE}", environment: "\${TYPO}" }
processors:
  audit_filter: { rules: [ { event_name: "\${env:bad-name}" } ] }
  seal:
receivers: { otlp: { protocols: { grpc: { endpoint: "\${env:UNTERMINATED" } } } }
exporters: { file: }
service: { pipelines: { logs: { receivers: [otlp], processors: [audit_filter, seal], exporters: [file] } } }
`;
  assertConfigError(
    () => parseConfig(yaml, 't', {}, CWD),
    [
      'agent.name: environment variable MISSING_ONE is not set (use ${env:MISSING_ONE:-default} to give a default)',
      'agent.environment: unsupported substitution "${TYPO}" (use ${env:VAR} or ${env:VAR:-default}; $$ for a literal $)',
      'processors.audit_filter.rules[0].event_name: invalid environment variable name "bad-name" in "${env:bad-name}"',
      'receivers.otlp.protocols.grpc.endpoint: unterminated "${" (write $$ for a literal $)',
    ],
  );
});

test('sizes, durations and severities accept the documented spellings', () => {
  const cases: Array<[string, string, (c: ReturnType<typeof parseConfig>['config']) => unknown, unknown]> = [
    ['seal', '{ max_bytes: 512KiB }', (c) => c.seal.maxBytes, 512 * 1024],
    ['seal', '{ max_bytes: 10MB }', (c) => c.seal.maxBytes, 10_000_000],
    ['seal', '{ max_bytes: 1000 }', (c) => c.seal.maxBytes, 1000],
    ['seal', '{ max_bytes: "1.5MiB" }', (c) => c.seal.maxBytes, 1.5 * 1024 ** 2],
    ['seal', '{ max_age: 500ms }', (c) => c.seal.maxAgeMs, 500],
    ['seal', '{ max_age: 2m }', (c) => c.seal.maxAgeMs, 120_000],
    ['seal', '{ max_age: 1h }', (c) => c.seal.maxAgeMs, 3_600_000],
    ['seal', '{ max_age: 1m30s }', (c) => c.seal.maxAgeMs, 90_000],
    ['audit_filter', '{ rules: [ { min_severity: INFO } ] }', (c) => c.filter.rules[0]!.minSeverity, 9],
    ['audit_filter', '{ rules: [ { min_severity: warn4 } ] }', (c) => c.filter.rules[0]!.minSeverity, 16],
    ['audit_filter', '{ rules: [ { min_severity: FATAL } ] }', (c) => c.filter.rules[0]!.minSeverity, 21],
    ['audit_filter', '{ rules: [ { min_severity: "7" } ] }', (c) => c.filter.rules[0]!.minSeverity, 7],
    ['audit_filter', '{ rules: [ { attribute: { key: n, value: 5 } } ] }', (c) => c.filter.rules[0]!.attribute, { key: 'n', value: '5' }],
    [
      'audit_filter',
      '{ rules: [ { attribute: { key: n, value: true } } ] }',
      (c) => c.filter.rules[0]!.attribute,
      { key: 'n', value: 'true' },
    ],
  ];
  for (const [proc, body, get, want] of cases) {
    const yaml = MINIMAL.replace(
      proc === 'seal' ? 'seal: }' : 'audit_filter: ,',
      proc === 'seal' ? `seal: ${body} }` : `audit_filter: ${body},`,
    );
    assert.deepEqual(get(parseConfig(yaml, 't', {}, CWD).config), want, body);
  }
});

test('YAML syntax errors and duplicate keys are CONFIG errors naming the source', () => {
  assert.throws(
    () => parseConfig('agent: [\n', 'bad.yaml', {}, CWD),
    (e: unknown) => isSealtrailError(e, 'CONFIG') && e.message.startsWith('bad.yaml: invalid YAML: '),
  );
  assert.throws(
    () => parseConfig(`agent: {}\nagent: {}\n${MINIMAL}`, 'dup.yaml', {}, CWD),
    (e: unknown) => isSealtrailError(e, 'CONFIG') && /^dup\.yaml: invalid YAML: .*unique/i.test(e.message),
  );
  assertConfigError(
    () => parseConfig('', 'empty.yaml', {}, CWD),
    ['<root>: the config must be a mapping with receivers, processors, exporters and service'],
  );
});

test('a missing config file is a CONFIG error naming the path', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sealtrail-'));
  try {
    await assert.rejects(
      loadConfig('nope.yaml', {}, dir),
      (e: unknown) => isSealtrailError(e, 'CONFIG') && e.message.startsWith(`${path.join(dir, 'nope.yaml')}: cannot read config file`),
    );
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('every yaml example in docs/configuration.md is valid, and the default shown is the embedded one', async () => {
  const md = await fs.readFile(path.join(repoRoot, 'docs/configuration.md'), 'utf8');
  const blocks = [...md.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  assert.equal(blocks.length, 3);
  assert.equal(blocks[0], DEFAULT_CONFIG_YAML);
  for (const b of blocks) parseConfig(b, 'docs', { SEALTRAIL_TOKEN: 't' }, CWD);
});

test('hostile YAML: deep nesting and alias bombs are CONFIG errors, not crashes', () => {
  const deep = `agent: ${'['.repeat(20000)}${']'.repeat(20000)}\n`;
  assert.throws(
    () => parseConfig(deep, 'deep.yaml', {}, CWD),
    (e: unknown) => isSealtrailError(e, 'CONFIG') && e.message.startsWith('deep.yaml: '),
  );
  const bomb = [
    'a: &a [x, x, x, x, x, x, x, x, x, x]',
    ...Array.from(
      { length: 8 },
      (_, i) =>
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
          .fill('*' + String.fromCharCode(97 + i))
          .join(', ')}]`,
    ),
  ].join('\n');
  assert.throws(
    () => parseConfig(bomb, 'bomb.yaml', {}, CWD),
    (e: unknown) => isSealtrailError(e, 'CONFIG') && e.message.startsWith('bomb.yaml: '),
  );
});

test("max_entry_size may reach the verifier's line limit, not one byte more", () => {
  // One constant bounds both: the verifier reads every line the agent may write.
  assert.equal(DEFAULT_MAX_LINE_BYTES, MAX_ENTRY_LINE_BYTES);
  const withSize = (n: number) => MINIMAL.replace('otlp: {', `otlp: { max_entry_size: ${n},`);
  assert.equal(parseConfig(withSize(MAX_ENTRY_LINE_BYTES), 'x', {}, CWD).config.receivers.maxEntrySize, MAX_ENTRY_LINE_BYTES);
  assertConfigError(
    () => parseConfig(withSize(MAX_ENTRY_LINE_BYTES + 1), 'x', {}, CWD),
    [`receivers.otlp.max_entry_size: must be at most ${MAX_ENTRY_LINE_BYTES} bytes (64MiB), the longest line the verifier reads`],
  );
});

test('valid-forward.yaml: forwarding pipelines, Collector-shaped exporters, defaults filled in', async () => {
  const { config } = await loadConfig(path.join(testdata, 'valid-forward.yaml'), {}, CWD);
  assert.deepEqual(
    config.exporters.map((e) => e.id),
    ['file'],
  );
  assert.deepEqual(
    config.forward.map((p) => [p.id, p.select, p.exporters.map((e) => e.id)]),
    [
      ['logs/other', 'non_audit', ['otlp/collector', 'otlphttp/vendor']],
      ['logs/all', 'all', ['otlphttp/everything']],
    ],
  );
  const [grpcExp, vendor] = config.forward[0]!.exporters;
  assert.deepEqual(grpcExp, {
    type: 'otlp',
    id: 'otlp/collector',
    endpoint: 'collector.internal:4317',
    tls: { insecure: false, caFile: '/etc/ssl/collector-ca.pem', certFile: null, keyFile: null },
    headers: { 'x-tenant': 'payments' },
    compression: 'gzip',
    encoding: 'proto',
    timeoutMs: 5000,
    retryOnFailure: { enabled: true, initialIntervalMs: 1000, maxIntervalMs: 10000, maxElapsedTimeMs: 60000 },
    sendingQueue: { queueSize: 500, numConsumers: 2 },
  });
  assert.equal(vendor!.endpoint, 'https://otlp.vendor.example/v1/logs');
  assert.equal(vendor!.encoding, 'json');
  assert.deepEqual(vendor!.retryOnFailure, { enabled: true, initialIntervalMs: 5000, maxIntervalMs: 30000, maxElapsedTimeMs: 300000 });
  assert.deepEqual(vendor!.sendingQueue, { queueSize: 200, numConsumers: 4 });
  assert.equal(config.forward[1]!.exporters[0]!.endpoint, 'http://127.0.0.1:14318/custom/logs');
});

test('valid-module-sink.yaml: package and compression are sealtrail keys, the rest goes to the package', async () => {
  const { config } = await loadConfig(path.join(testdata, 'valid-module-sink.yaml'), { GCS_SECRET: 's3cr3t' }, CWD);
  assert.deepEqual(config.exporters[1], {
    type: 'module',
    id: 'module/gcs',
    package: '@acme/sealtrail-sink-gcs',
    resolveFrom: CWD,
    compression: 'gzip',
    options: { bucket: 'audit-archive', retention: { days: 400 }, client_secret: 's3cr3t' },
  });
  assert.equal((redact(config).exporters[1] as { options: Record<string, unknown> }).options.client_secret, '<redacted>');
});
