// Tampering is evident, against archives written by the real agent: the agent runs
// as a child process with small batches, receives audit records over OTLP/HTTP, and shuts
// down gracefully. Each tamper case (tamper-cases.ts) edits a fresh copy of that archive, then
// `sealtrail verify --json` runs as a child process and must exit 1 naming the problem's
// code, object and seq. The untouched archive verifies clean (exit 0, no warnings).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CLI, startAgentWith, tempDir, testConfig } from '../helpers/agent.js';
import { encodeRequest, postHttp } from '../helpers/otlp-client.js';
import { loadSignerKey, type NoteSigner } from '../../agent/keys/signer.js';
import { TAMPER_CASES, addUnreferenced, copyArchive, scanArchive } from '../verify/tamper-cases.js';
import { newSigner } from '../verify/fixtures.js';
import type { Report } from '../../verify/report.js';

const run = promisify(execFile);

interface Produced {
  archive: string;
  signer: NoteSigner;
  verifierKeyFile: string;
}

let work: string;
let plain: Produced;
let gz: Produced;

/** Runs the agent once and sends `requests` requests of `perRequest` audit records. */
async function produce(compression: 'none' | 'gzip'): Promise<Produced> {
  const dir = path.join(work, compression);
  await fs.mkdir(dir);
  const agent = await startAgentWith(dir, testConfig(dir, { name: 'tamper', compression, maxRecords: 6, maxAge: '50ms' }));
  try {
    for (let r = 0; r < 5; r++) {
      const body = encodeRequest(
        Array.from({ length: 5 }, (_, i) => ({
          body: `user ${r} changed setting ${i}`,
          attributes: { audit: true, 'user.id': `u${r}`, n: i },
        })),
      );
      const res = await postHttp(agent.http, body);
      assert.equal(res.status, 200);
    }
  } finally {
    assert.equal(await agent.stop(), 0);
  }
  return {
    archive: path.join(dir, 'archive'),
    signer: await loadSignerKey(path.join(dir, 'data', 'keys', 'tamper.key')),
    verifierKeyFile: path.join(dir, 'data', 'keys', 'tamper.pub'),
  };
}

async function verify(archive: string, keyFile: string, trusted: string[] = []): Promise<{ code: number; report: Report }> {
  const files: string[] = [];
  for (const [i, note] of trusted.entries()) {
    const f = path.join(path.dirname(archive), `trusted-${i}.checkpoint`);
    await fs.writeFile(f, note);
    files.push('--checkpoint', f);
  }
  try {
    const { stdout } = await run(process.execPath, [CLI, 'verify', archive, '--key', keyFile, '--json', ...files]);
    return { code: 0, report: JSON.parse(stdout) as Report };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    assert.ok(typeof e.code === 'number', String(err));
    return { code: e.code, report: JSON.parse(e.stdout || 'null') as Report };
  }
}

before(async () => {
  work = await tempDir();
  plain = await produce('none');
  gz = await produce('gzip');
});

after(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

test('the real agent wrote several batches (what the cases need)', async () => {
  for (const p of [plain, gz]) {
    const a = await scanArchive(p.archive);
    assert.ok(a.batches.length >= 4, `only ${a.batches.length} batches`);
    assert.ok(a.batches.every((b) => b.entries && b.checkpoint));
    assert.equal(a.batches[0]!.start, 0);
  }
  assert.ok((await scanArchive(gz.archive)).batches.every((b) => b.entries.endsWith('.gz')));
});

test('the untouched archives verify clean: exit 0, no problems, no warnings', async () => {
  for (const p of [plain, gz]) {
    const { code, report } = await verify(p.archive, p.verifierKeyFile);
    assert.equal(code, 0, JSON.stringify(report));
    assert.equal(report.ok, true);
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.warnings, []);
    assert.equal(report.origins.length, 1);
  }
});

for (const c of TAMPER_CASES) {
  test(`tamper: ${c.name}`, async () => {
    const src = c.gzip ? gz : plain;
    const copy = path.join(work, `case-${TAMPER_CASES.indexOf(c)}`, 'archive');
    await copyArchive(src.archive, copy);
    const a = await scanArchive(copy);
    const { expect, trusted } = await c.apply(a, { signer: src.signer, otherSigner: newSigner('intruder') });
    const { code, report } = await verify(copy, src.verifierKeyFile, trusted);
    assert.equal(code, 1, JSON.stringify(report));
    const hit = report.problems.find((p) => p.code === expect.code);
    assert.ok(hit, `expected ${expect.code}; got ${JSON.stringify(report.problems)}`);
    assert.equal(hit.object, expect.object);
    assert.equal(hit.seq, expect.seq);
  });
}

test('tamper: an unreferenced extra file is a warning, not a failure (exit 0)', async () => {
  const copy = path.join(work, 'case-unreferenced', 'archive');
  await copyArchive(plain.archive, copy);
  const name = await addUnreferenced(await scanArchive(copy));
  const { code, report } = await verify(copy, plain.verifierKeyFile);
  assert.equal(code, 0);
  assert.deepEqual(report.problems, []);
  assert.deepEqual(
    report.warnings.map((w) => [w.code, w.object]),
    [['UNREFERENCED_OBJECT', name]],
  );
});
