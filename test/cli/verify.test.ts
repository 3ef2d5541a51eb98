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
  assert.deepEqual(JSON.parse(j.stdout).problems.map((p: { code: string; seq: number }) => [p.code, p.seq]), [['SEQ_GAP', 14]]);
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

test('--checkpoint with a later trusted checkpoint catches a truncated tail', async () => {
  const copy = path.join(dir, 'truncated');
  await fs.cp(fx.dir, copy, { recursive: true });
  const last = fx.batches[2]!;
  const trusted = path.join(dir, 'trusted.checkpoint');
  await fs.writeFile(trusted, last.note);
  await fs.rm(path.join(copy, last.entries));
  await fs.rm(path.join(copy, last.checkpoint));
  assert.equal((await cli('verify', copy, '--key', fx.verifierKey)).code, 0);
  const r = await cli('verify', copy, '--key', fx.verifierKey, '--checkpoint', trusted, '--json');
  assert.equal(r.code, 1);
  assert.deepEqual(JSON.parse(r.stdout).problems.map((p: { code: string; seq: number }) => [p.code, p.seq]), [['TRUNCATED', 20]]);
});
