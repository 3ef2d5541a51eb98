import assert from 'node:assert/strict';
import { runCli as runCliProcess } from '../helpers/cli.js';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isSealtrailError } from '../../lib/errors.js';
import { loadSignerKey } from '../../agent/keys/signer.js';
import { parseSignerKey, parseVerifierKey, verifyNote, parseNote } from '../../verify/note.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The command through the real CLI, with an environment holding only PATH (no SEALTRAIL_* leaks in). */
const runCli = (fn: 'validateCommand' | 'keygenCommand', args: readonly string[], cwd = repoRoot) =>
  runCliProcess([fn === 'validateCommand' ? 'validate' : 'keygen', ...args], { cwd, env: { PATH: process.env.PATH ?? '' } });

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sealtrail-'));
  try {
    await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

test('keygen writes a 0600 signer key and a verifier key that parse and agree', () =>
  withTmp(async (tmp) => {
    const dir = path.join(tmp, 'keys');
    const r = await runCli('keygenCommand', ['--name', 'agent-1', '--dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    const keyPath = path.join(dir, 'agent-1.key');
    const pubPath = path.join(dir, 'agent-1.pub');
    assert.equal((await fs.stat(keyPath)).mode & 0o777, 0o600);
    assert.equal((await fs.stat(pubPath)).mode & 0o777, 0o644);

    const signerText = await fs.readFile(keyPath, 'utf8');
    const pubText = await fs.readFile(pubPath, 'utf8');
    assert.match(signerText, /^PRIVATE\+KEY\+agent-1\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*\n$/);
    const sk = parseSignerKey(signerText);
    const vk = parseVerifierKey(pubText);
    assert.equal(sk.name, 'agent-1');
    assert.equal(vk.name, 'agent-1');
    assert.equal(sk.keyId, vk.keyId);

    // stdout names both files and prints the verifier key line itself.
    const lines = r.stdout.trimEnd().split('\n');
    assert.ok(lines[0]!.includes(keyPath));
    assert.ok(lines[1]!.includes(pubPath));
    assert.equal(lines[2], pubText.trim());

    // The loaded signer's id matches, and what it signs verifies with the written .pub.
    const signer = await loadSignerKey(keyPath);
    assert.equal(signer.keyId, vk.keyId);
    const note = signer.signNote('sealtrail/agent-1/x\n1\nAAAA\n');
    assert.equal(verifyNote(parseNote(note), [vk]).keyId, vk.keyId);
  }));

test('keygen refuses to overwrite an existing key or pub file (exit 1, files untouched)', () =>
  withTmp(async (dir) => {
    assert.equal((await runCli('keygenCommand', ['--name', 'a', '--dir', dir])).code, 0);
    const before = await fs.readFile(path.join(dir, 'a.key'), 'utf8');
    const again = await runCli('keygenCommand', ['--name=a', `--dir=${dir}`]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /a\.key already exists; refusing to overwrite/);
    assert.equal(await fs.readFile(path.join(dir, 'a.key'), 'utf8'), before);

    // Only the .pub exists: still refused, and no orphan .key is left behind.
    await fs.writeFile(path.join(dir, 'b.pub'), 'x\n');
    const pubOnly = await runCli('keygenCommand', ['--name', 'b', '--dir', dir]);
    assert.equal(pubOnly.code, 1);
    await assert.rejects(fs.stat(path.join(dir, 'b.key')), { code: 'ENOENT' });
  }));

test('keygen usage errors return 2', async () => {
  for (const argv of [
    [],
    ['--name'],
    ['--name', 'has space'],
    ['--name', 'a+b'],
    ['--name', '../escape'],
    ['--name', 'a', 'extra'],
    ['--bogus'],
  ]) {
    const r = await runCli('keygenCommand', argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.stderr, /usage: sealtrail keygen/);
  }
});

test('loadSignerKey refuses a generated key once it is made 0644 (code KEY)', () =>
  withTmp(async (dir) => {
    assert.equal((await runCli('keygenCommand', ['--name', 'k', '--dir', dir])).code, 0);
    const keyPath = path.join(dir, 'k.key');
    await fs.chmod(keyPath, 0o644);
    await assert.rejects(loadSignerKey(keyPath), (e: unknown) => isSealtrailError(e, 'KEY') && /mode 0644/.test(e.message));
  }));
