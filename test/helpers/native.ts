// What the native helpers' tests share: a C compiler to rebuild them, and the check that a
// shipped binary is byte for byte what its source builds (native/build.ts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { binaryOf, buildHelper, type Helper } from '../../native/build.js';
import { REPO_ROOT, tempDir } from './agent.js';

const run = promisify(execFile);

/** Installs Debian's gcc when there is no C compiler (test/setup/native/ensure-cc.sh), then makes a temp dir. */
export async function nativeTestDir(helper: Helper): Promise<string> {
  await run('bash', [path.join(REPO_ROOT, 'test/setup/native/ensure-cc.sh')]);
  return tempDir(`sealtrail-${helper}-`);
}

/** Rebuilds `helper` into `dir` and fails unless the shipped binary has the same bytes. */
export async function assertShippedIsFreshBuild(helper: Helper, dir: string): Promise<void> {
  const fresh = path.join(dir, `${helper}.fresh.node`);
  await buildHelper(helper, fresh);
  const [built, shipped] = await Promise.all([fsp.readFile(fresh), fsp.readFile(binaryOf(helper))]);
  assert.equal(built.length, shipped.length, 'size');
  assert.ok(built.equals(shipped), `${binaryOf(helper)} differs from a fresh build: run npm run build:native`);
}
