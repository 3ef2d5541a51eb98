// Gateway mode with real processes: three agents deliver their sealed batches through a
// `sealtrail/gw` exporter to a fourth agent running the sealtrail receiver, which verifies each
// batch and stores it in its file sink. The gateway is killed with -9 and restarted mid-way;
// at the end its archive holds every agent's batches byte for byte and `sealtrail verify`
// accepts it with all the keys. Tampered, unknown-key and forked batches are refused with
// their reason, and the fork is counted and logged at error level.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { eventually, startAgentWith, tempDir, testConfig, type AgentProcess } from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';
import { postBatch, startRelay, type RawBatch } from '../helpers/gateway.js';
import { encodeRequest, postHttp } from '../helpers/otlp-client.js';
import { buildArchive, newSigner } from '../verify/fixtures.js';
import { formatCheckpointBody } from '../../verify/note.js';
import { walk } from '../exporters/file-harness.js';

const TOKEN = 'gw-token-' + randomBytes(8).toString('hex');
const AGENTS = ['agent-a', 'agent-b', 'agent-c'];

function gatewayYaml(dir: string, keysDir: string): string {
  const trusted = [
    ...AGENTS.map((n) => [`sealtrail/${n}/`, path.join(keysDir, `${n}.pub`)]),
    ['sealtrail/fixture-ok/', path.join(keysDir, 'fixture.pub')],
  ]
    .map(([p, k]) => `        - { origin_prefix: "${p}", key_file: ${k} }\n`)
    .join('');
  return testConfig(dir, {
    name: 'gateway',
    extraReceiverYaml: `  sealtrail:\n    endpoint: 127.0.0.1:0\n    auth: { bearer_token: ${TOKEN} }\n    trusted_keys:\n${trusted.replace(/^ {6}/gm, '      ')}`,
    extraPipelinesYaml: '    logs/gateway:\n      receivers: [sealtrail]\n      processors: []\n      exporters: [file]\n',
  });
}

function agentYaml(dir: string, name: string, keysDir: string, gw: string): string {
  return testConfig(dir, {
    name,
    maxRecords: 6,
    exporters: {
      yaml: `  file:\n    directory: ${path.join(dir, 'archive')}\n  sealtrail/gw:\n    endpoint: http://${gw}\n    compression: gzip\n    auth: { bearer_token: ${TOKEN} }\n    timeout: 5s\n`,
      ids: ['file', 'sealtrail/gw'],
    },
    retryMax: '300ms',
  }).replace('  shutdown_timeout:', `  signing_key: ${path.join(keysDir, `${name}.key`)}\n  shutdown_timeout:`);
}

const gatewayAddr = (gw: AgentProcess): string => String(gw.logs.find((l) => l.msg === 'ready')!.gateway);

async function send(agent: AgentProcess, round: number): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const res = await postHttp(
      agent.http,
      encodeRequest(Array.from({ length: 5 }, (_, k) => ({ body: `round ${round} req ${i} rec ${k}`, attributes: { audit: true } }))),
    );
    assert.equal(res.status, 200);
  }
}

async function delivered(agent: AgentProcess): Promise<boolean> {
  const m = await agent.metrics();
  return m.get('sealtrail_sink_lag_entries{sink="sealtrail/gw"}') === 0;
}

async function fileMap(root: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const f of (await walk(root)).files) out.set(f, await fs.readFile(path.join(root, f)));
  return out;
}

async function fixtureBatch(
  dir: string,
  signer: ReturnType<typeof newSigner>,
  agentName = 'fixture-ok',
): Promise<{ origin: string; batches: RawBatch[] }> {
  const fx = await buildArchive(dir, { entries: 10, batchSize: 5, agentName, signer, stop: true });
  const batches: RawBatch[] = [];
  for (const b of fx.batches) {
    batches.push({
      origin: fx.origin,
      start: b.start,
      end: b.end,
      gzip: false,
      entries: await fs.readFile(path.join(dir, b.entries)),
      checkpoint: b.note,
    });
  }
  return { origin: fx.origin, batches };
}

describe('gateway', () => {
  it('three agents -> one verifying gateway (killed -9 and restarted) -> one archive that verifies with all keys; bad batches refused', async (t) => {
    const dir = await tempDir();
    const keysDir = path.join(dir, 'keys');
    for (const n of AGENTS) assert.equal((await runCli(['keygen', '--name', n, '--dir', keysDir])).code, 0);
    const fixtureSigner = newSigner('fixture');
    await fs.writeFile(path.join(keysDir, 'fixture.pub'), fixtureSigner.verifierKey() + '\n');

    const gwDir = path.join(dir, 'gateway');
    await fs.mkdir(gwDir);
    let gw = await startAgentWith(gwDir, gatewayYaml(gwDir, keysDir));
    const relay = await startRelay();
    relay.target = gatewayAddr(gw);
    const agents: AgentProcess[] = [];
    t.after(async () => {
      await Promise.all([gw.kill(), ...agents.map((a) => a.kill())]);
      await relay.close();
    });
    for (const n of AGENTS) {
      const d = path.join(dir, n);
      await fs.mkdir(d);
      agents.push(await startAgentWith(d, agentYaml(d, n, keysDir, relay.address)));
    }

    // Round 1, acknowledged by the gateway; then the gateway dies hard.
    await Promise.all(agents.map((a) => send(a, 1)));
    await eventually(async () => (await Promise.all(agents.map(delivered))).every(Boolean), 30000, 'round 1 delivered');
    const told = await fileMap(path.join(gwDir, 'archive'));
    await gw.kill();
    relay.target = null;

    // Round 2 while it is down: the agents keep accepting and retry.
    await Promise.all(agents.map((a) => send(a, 2)));
    gw = await startAgentWith(gwDir, gatewayYaml(gwDir, keysDir));
    relay.target = gatewayAddr(gw);
    await eventually(async () => (await Promise.all(agents.map(delivered))).every(Boolean), 30000, 'round 2 delivered');
    const after = await fileMap(path.join(gwDir, 'archive'));
    for (const [name, bytes] of told) assert.ok(after.get(name)?.equals(bytes), `${name} survived the kill`);

    // Refusals, each with its reason.
    const fx = await fixtureBatch(path.join(dir, 'fx-ok'), fixtureSigner);
    const b0 = fx.batches[0]!;
    const tampered = {
      ...b0,
      entries: Buffer.from(Buffer.from(b0.entries).toString('utf8').replace('updated setting 3', 'updated setting 9')),
    };
    let r = await postBatch(gatewayAddr(gw), tampered, TOKEN);
    assert.deepEqual([r.status, r.body.code], [422, 'TAMPERED']);
    r = await postBatch(gatewayAddr(gw), b0, null);
    assert.deepEqual([r.status, r.body.code], [401, 'UNAUTHENTICATED']);
    r = await postBatch(gatewayAddr(gw), b0, TOKEN);
    assert.deepEqual([r.status, r.body.status], [200, 'stored']);
    r = await postBatch(gatewayAddr(gw), b0, TOKEN);
    assert.deepEqual([r.status, r.body.status], [200, 'duplicate']);
    const forged = { ...b0, checkpoint: fixtureSigner.signNote(formatCheckpointBody(b0.origin, b0.end, randomBytes(32))) };
    r = await postBatch(gatewayAddr(gw), forged, TOKEN);
    assert.deepEqual([r.status, r.body.code], [422, 'FORK']);
    const rogue = await fixtureBatch(path.join(dir, 'fx-rogue'), newSigner('rogue'));
    r = await postBatch(gatewayAddr(gw), rogue.batches[0]!, TOKEN);
    assert.deepEqual([r.status, r.body.code], [422, 'UNKNOWN_KEY']);
    const untrustedOrigin = await fixtureBatch(path.join(dir, 'fx-other'), fixtureSigner, 'other-team');
    r = await postBatch(gatewayAddr(gw), untrustedOrigin.batches[0]!, TOKEN);
    assert.deepEqual([r.status, r.body.code], [422, 'UNKNOWN_KEY']);
    r = await postBatch(gatewayAddr(gw), fx.batches[1]!, TOKEN);
    assert.deepEqual([r.status, r.body.status], [200, 'stored']);
    const m = await gw.metrics();
    assert.equal(m.get('sealtrail_gateway_forks_total'), 1);
    assert.equal(m.get('sealtrail_gateway_refused_total{reason="TAMPERED"}'), 1);
    assert.equal(m.get('sealtrail_gateway_refused_total{reason="UNKNOWN_KEY"}'), 2);
    assert.ok(
      gw.logs.some((l) => l.level === 'error' && /FORK/.test(l.msg)),
      'the fork is logged at error level',
    );

    // Drain everything and compare: every agent object is in the gateway's archive, unchanged.
    for (const a of agents) assert.equal(await a.stop(), 0);
    assert.equal(await gw.stop(), 0);
    const archive = await fileMap(path.join(gwDir, 'archive'));
    let objects = 0;
    for (const n of AGENTS) {
      const local = await fileMap(path.join(dir, n, 'archive'));
      for (const [name, bytes] of local) {
        if (name.endsWith('.checkpoint')) {
          assert.ok(archive.get(name)?.equals(bytes), `${n}: ${name} is in the gateway archive unchanged`);
          objects++;
        }
      }
    }
    t.diagnostic(`gateway archive: ${archive.size} objects, ${objects} agent checkpoints checked`);
    const keys = [
      ...AGENTS.map((n) => path.join(keysDir, `${n}.pub`)),
      path.join(keysDir, 'fixture.pub'),
      path.join(gwDir, 'data', 'keys', 'gateway.pub'),
    ];
    const v = await runCli(['verify', path.join(gwDir, 'archive'), ...keys.flatMap((k) => ['--key', k])]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    await fs.rm(dir, { recursive: true, force: true });
  });
});
