// sealtrail verify as a child process: exit codes, human and JSON reports, key input forms.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { buildArchive, newSigner, readLines, tempDir, writeLines, type Fixture } from '../verify/fixtures.js';

const cli = (...args: string[]) => runCli(args);

let dir: string;
let fx: Fixture;

before(async () => {
  dir = await tempDir();
  fx = await buildArchive(path.join(dir, 'archive'), { entries: 30, batchSize: 10, stop: true });
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('a valid archive: exit 0 and an OK human report; no progress line when stderr is not a TTY', async () => {
  const r = await cli('verify', fx.dir, '--key', fx.verifierKey);
  assert.equal(r.code, 0);
  assert.match(r.stdout, new RegExp(`origin ${fx.origin}: 30 entries in 3 batches`));
  assert.match(r.stdout, /^OK: the archive verifies/m);
  assert.equal(r.stderr, '');
});

test('a tampered archive: exit 1; the human report names code, object and seq', async () => {
  const copy = path.join(dir, 'tampered');
  await fs.cp(fx.dir, copy, { recursive: true });
  const b = fx.batches[1]!;
  const f = path.join(copy, b.entries);
  const lines = await readLines(f);
  lines.splice(4, 1);
  await writeLines(f, lines);
  const r = await cli('verify', copy, '--key', fx.verifierKey);
  assert.equal(r.code, 1);
  assert.ok(r.stdout.includes(`PROBLEM SEQ_GAP ${b.entries} seq 14: `), r.stdout);
  assert.match(r.stdout, /^FAILED: 1 problem, 0 warnings$/m);
  const j = await cli('verify', copy, '--key', fx.verifierKey, '--json');
  assert.equal(j.code, 1);
  assert.deepEqual(
    JSON.parse(j.stdout).problems.map((p: { code: string; seq: number }) => [p.code, p.seq]),
    [['SEQ_GAP', 14]],
  );
});

test('the wrong key: exit 1 with UNKNOWN_KEY; several --key values are accepted', async () => {
  const other = newSigner('test-key').verifierKey();
  const r = await cli('verify', fx.dir, '--key', other, '--json');
  assert.equal(r.code, 1);
  assert.ok(JSON.parse(r.stdout).problems.every((p: { code: string }) => p.code === 'UNKNOWN_KEY'));
  assert.equal((await cli('verify', fx.dir, '--key', other, '--key', fx.verifierKey)).code, 0);
});

test('usage and I/O errors exit 2', async () => {
  assert.equal((await cli('verify', fx.dir)).code, 2); // no --key
  assert.equal((await cli('verify', '--key', fx.verifierKey)).code, 2); // no ARCHIVE
  assert.equal((await cli('verify', fx.dir, '--key', 'not-a-key')).code, 2);
  assert.equal((await cli('verify', path.join(dir, 'nope'), '--key', fx.verifierKey)).code, 2);
  assert.equal((await cli('verify', fx.dir, '--key', fx.verifierKey, '--checkpoint', path.join(dir, 'nope'))).code, 2);
  assert.equal((await cli('verify', fx.dir, '--key', fx.verifierKey, '--bogus')).code, 2);
  assert.equal((await cli('verify', 's3://bucket/prefix', '--key', fx.verifierKey)).code, 2);
});

test('verify pointed one or more levels into an archive: exit 2 with the archive root as a hint', async () => {
  for (const [sub, levels] of [
    [fx.origin, 3],
    ['sealtrail', 1],
    [path.dirname(fx.origin), 2],
  ] as const) {
    const r = await cli('verify', path.join(fx.dir, sub), '--key', fx.verifierKey);
    assert.equal(r.code, 2, `${sub}: ${r.stdout}`);
    assert.equal(r.stdout, '');
    assert.ok(
      r.stderr.includes(
        `looks like a part of an archive (${levels === 1 ? 'one level' : `${levels} levels`} below its root): point verify at the archive root, e.g. ${fx.dir}\n`,
      ),
      r.stderr,
    );
  }
  const up = await cli('verify', dir, '--key', fx.verifierKey);
  assert.equal(up.code, 2);
  assert.ok(up.stderr.includes(`an archive lies further down: point verify at its root, e.g. ${fx.dir}`), up.stderr);
});

test('an empty directory, or one with no archive objects: exit 2, "no sealtrail archive found"', async () => {
  const empty = path.join(dir, 'empty');
  await fs.mkdir(empty);
  let r = await cli('verify', empty, '--key', fx.verifierKey);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`^sealtrail verify: no sealtrail archive found under ${empty}: .*\\(it is empty\\)$`, 'm'));
  await fs.writeFile(path.join(empty, 'readme.txt'), 'hello\n');
  r = await cli('verify', empty, '--key', fx.verifierKey);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no sealtrail archive found under/);
});

test('the signer key given as --key: exit 2, "this is the signer key; pass the verifier key (.pub)"', async () => {
  const { generateKey } = await import('../../agent/keys/signer.js');
  const k = generateKey('test-key');
  const keyFile = path.join(dir, 'test-key.key');
  await fs.writeFile(keyFile, k.signerKey + '\n');
  let r = await cli('verify', fx.dir, '--key', keyFile);
  assert.equal(r.code, 2);
  assert.ok(
    r.stderr.includes(
      `--key ${keyFile}: this is the signer key (secret); pass the verifier key (.pub) instead, e.g. ${path.join(dir, 'test-key.pub')}`,
    ),
    r.stderr,
  );
  r = await cli('verify', fx.dir, '--key', k.signerKey);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /this is the signer key \(secret\); pass the verifier key \(\.pub\)/);
  assert.ok(!r.stderr.includes(k.signerKey), 'the secret key is not echoed');
});

test('--checkpoint with a later trusted checkpoint catches a truncated tail', async () => {
  const copy = path.join(dir, 'truncated');
  await fs.cp(fx.dir, copy, { recursive: true });
  const last = fx.batches[2]!;
  const trusted = path.join(dir, 'trusted.checkpoint');
  await fs.writeFile(trusted, last.note);
  await fs.rm(path.join(copy, last.entries));
  await fs.rm(path.join(copy, last.checkpoint));
  // Without it, the chain ends without its stop entry; --live (a running agent) accepts that.
  const bare = await cli('verify', copy, '--key', fx.verifierKey, '--json');
  assert.equal(bare.code, 1);
  assert.deepEqual(
    JSON.parse(bare.stdout).problems.map((p: { code: string; seq: number }) => [p.code, p.seq]),
    [['CHAIN_UNTERMINATED', 19]],
  );
  assert.equal((await cli('verify', copy, '--key', fx.verifierKey, '--live')).code, 0);
  const r = await cli('verify', copy, '--key', fx.verifierKey, '--checkpoint', trusted, '--json');
  assert.equal(r.code, 1);
  assert.deepEqual(
    JSON.parse(r.stdout).problems.map((p: { code: string; seq: number }) => [p.code, p.seq]),
    [['TRUNCATED', 20]],
  );
});
