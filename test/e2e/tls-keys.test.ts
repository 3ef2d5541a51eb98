// Transport security and key handling against the real agent: mTLS on both receivers with
// certificates made by openssl in the test, bearer auth on top, and a signer key file that
// others can read being refused at start-up.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startAgentWith, tempDir, testConfig, CLI, REPO_ROOT } from '../helpers/agent.js';
import { encodeRequest } from '../helpers/otlp-client.js';
import { allEntries, attr, isOwn } from '../helpers/entries.js';
import { spawn } from 'node:child_process';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
async function makePki(dir: string): Promise<void> {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=test-ca',
    ],
    dir,
  );
  await fs.writeFile(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const who of ['server', 'client']) {
    openssl(
      [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${who}.key`,
        '-out',
        `${who}.csr`,
        '-subj',
        `/CN=${who}`,
      ],
      dir,
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${who}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${who}.crt`,
        '-days',
        '2',
        ...(who === 'server' ? ['-extfile', 'san.ext'] : []),
      ],
      dir,
    );
  }
}

function httpsPost(addr: string, body: Buffer, opts: { pki: string; clientCert: boolean; token?: string }): Promise<number> {
  const [host, port] = addr.split(':');
  return (async () => {
    const ca = await fs.readFile(path.join(opts.pki, 'ca.crt'));
    const cert = opts.clientCert ? await fs.readFile(path.join(opts.pki, 'client.crt')) : undefined;
    const key = opts.clientCert ? await fs.readFile(path.join(opts.pki, 'client.key')) : undefined;
    return new Promise<number>((resolve, reject) => {
      const req = https.request(
        {
          host,
          port: Number(port),
          path: '/v1/logs',
          method: 'POST',
          ca,
          cert,
          key,
          agent: false,
          headers: { 'content-type': 'application/x-protobuf', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  })();
}

async function grpcExport(addr: string, body: Buffer, pki: string, clientCert: boolean, token: string): Promise<number> {
  const ca = await fs.readFile(path.join(pki, 'ca.crt'));
  const creds = clientCert
    ? grpc.credentials.createSsl(ca, await fs.readFile(path.join(pki, 'client.key')), await fs.readFile(path.join(pki, 'client.crt')))
    : grpc.credentials.createSsl(ca);
  const client = new grpc.Client(addr, creds);
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  try {
    return await new Promise((resolve) => {
      client.makeUnaryRequest(
        '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        md,
        { deadline: Date.now() + 10000 },
        (err) => resolve(err ? err.code : grpc.status.OK),
      );
    });
  } finally {
    client.close();
  }
}

it('mTLS and bearer auth on both receivers: only authenticated clients are chained', async () => {
  const dir = await tempDir();
  const pki = path.join(dir, 'pki');
  await fs.mkdir(pki);
  await makePki(pki);
  const tlsYaml = (indent: string) =>
    `${indent}tls:\n${indent}  cert_file: ${pki}/server.crt\n${indent}  key_file: ${pki}/server.key\n${indent}  client_ca_file: ${pki}/ca.crt\n${indent}auth:\n${indent}  bearer_token: \${env:TEST_TOKEN}\n`;
  const yaml = testConfig(dir)
    .replace('      grpc:\n        endpoint: 127.0.0.1:0\n', `      grpc:\n        endpoint: 127.0.0.1:0\n${tlsYaml('        ')}`)
    .replace('      http:\n        endpoint: 127.0.0.1:0\n', `      http:\n        endpoint: 127.0.0.1:0\n${tlsYaml('        ')}`);
  const agent = await startAgentWith(dir, yaml, { TEST_TOKEN: 's3cret-token' });
  try {
    const req = (id: string) => encodeRequest([{ body: id, attributes: { audit: true, id } }]);
    assert.equal(await httpsPost(agent.http, req('https-ok'), { pki, clientCert: true, token: 's3cret-token' }), 200);
    assert.equal(await httpsPost(agent.http, req('https-bad-token'), { pki, clientCert: true, token: 'wrong' }), 401);
    await assert.rejects(
      httpsPost(agent.http, req('https-no-cert'), { pki, clientCert: false, token: 's3cret-token' }),
      (e: NodeJS.ErrnoException) => /certificate|handshake|socket hang up|ECONNRESET/i.test(`${e.code} ${e.message}`),
    );
    assert.equal(await grpcExport(agent.grpc, req('grpc-ok'), pki, true, 's3cret-token'), grpc.status.OK);
    assert.equal(await grpcExport(agent.grpc, req('grpc-bad-token'), pki, true, 'wrong'), grpc.status.UNAUTHENTICATED);
    assert.equal(await grpcExport(agent.grpc, req('grpc-no-cert'), pki, false, 's3cret-token'), grpc.status.UNAVAILABLE);
    assert.equal(await agent.stop(), 0);
    const ids = (await allEntries(dir)).filter((e) => !isOwn(e)).map((e) => attr(e, 'id'));
    assert.deepEqual(ids.sort(), ['grpc-ok', 'https-ok']);
  } finally {
    await agent.kill();
    await fs.rm(dir, { recursive: true, force: true });
  }
});

it('a signer key file readable by others is refused at start-up', async () => {
  const dir = await tempDir();
  const keys = path.join(dir, 'keys');
  execFileSync(process.execPath, [CLI, 'keygen', '--name', 'loose', '--dir', keys], { stdio: 'pipe' });
  await fs.chmod(path.join(keys, 'loose.key'), 0o644);
  const yaml = testConfig(dir).replace('  shutdown_timeout:', `  signing_key: ${path.join(keys, 'loose.key')}\n  shutdown_timeout:`);
  await fs.writeFile(path.join(dir, 'config.yaml'), yaml);
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [CLI, 'run', '--config', path.join(dir, 'config.yaml')], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    p.on('exit', (c) => resolve({ code: c, stderr: err }));
  });
  assert.equal(code, 1);
  const failure = stderr
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { msg: string; code?: string; error?: string })
    .find((l) => l.msg === 'start-up failed');
  assert.equal(failure?.code, 'KEY');
  assert.match(failure?.error ?? '', /mode 0644/);
  await fs.rm(dir, { recursive: true, force: true });
});
