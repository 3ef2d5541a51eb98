// The page-cache helper (native/page-cache.c): the shipped binary is what its source builds,
// it loads here, and the file sink's objects leave the page cache after their fsync. Residency
// is read with util-linux's fincore, independent of the helper; a file written without it is
// the control that shows the check can fail. The rebuild needs a C compiler: the setup script
// installs Debian's gcc when there is none.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { FileSink } from '../../exporters/file/file-sink.js';
import { dropCache, pageCacheUnavailable } from '../../exporters/file/page-cache.js';
import { binaryOf } from '../../native/build.js';
import { entriesObjectName, makeOrigin } from '../../verify/layout.js';
import { assertShippedIsFreshBuild, nativeTestDir } from '../helpers/native.js';

const run = promisify(execFile);
const BINARY = binaryOf('page-cache');

/** Bytes of `file` resident in the page cache, by fincore. */
async function residentBytes(file: string): Promise<number> {
  const { stdout } = await run('fincore', ['--bytes', '--noheadings', '--output', 'RES', file]);
  const n = Number(stdout.trim());
  assert.ok(Number.isInteger(n), `fincore printed ${JSON.stringify(stdout)}`);
  return n;
}

describe('page-cache helper', () => {
  let dir: string;
  before(async () => {
    // Under the OS temp dir: tmpfs would keep every page (they are its storage), so the sink's
    // directory must be a disk filesystem, as /tmp is here.
    dir = await nativeTestDir('page-cache');
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it('the shipped binary is byte for byte what page-cache.c builds to', async () => {
    await assertShippedIsFreshBuild('page-cache', dir);
  });

  it('loads on this platform', () => {
    assert.equal(`${process.platform}-${process.arch}`, 'linux-x64', 'the tests run where a binary ships');
    assert.equal(pageCacheUnavailable, '');
  });

  it('reports EBADF for a closed descriptor and rejects a non-number', async () => {
    const fh = await fsp.open(path.join(dir, 'closed'), 'w');
    const fd = fh.fd;
    await fh.close();
    assert.equal(dropCache(fd), os.constants.errno.EBADF);
    const binding = createRequire(import.meta.url)(BINARY) as { dropCache(fd: unknown): number };
    assert.throws(() => binding.dropCache('3'), { name: 'TypeError', message: 'dropCache needs a file descriptor' });
    assert.throws(() => binding.dropCache(-1), { name: 'TypeError', message: 'dropCache needs a file descriptor' });
  });

  it("the file sink's objects leave the page cache after fsync, and read back intact", async () => {
    const body = randomBytes(2 << 20);
    // Control: the same bytes written and fsynced without the helper stay cached.
    const control = path.join(dir, 'control');
    const fh = await fsp.open(control, 'w');
    await fh.writeFile(body);
    await fh.sync();
    await fh.close();
    assert.ok((await residentBytes(control)) >= body.length / 2, 'a freshly written file is cached');

    const sink = new FileSink({ type: 'file', id: 'file', directory: path.join(dir, 'archive'), compression: 'none', immutable: false });
    await sink.start();
    const name = entriesObjectName(makeOrigin('t', 'ab'.repeat(16)), 0, 4, false);
    assert.equal(await sink.put(name, body), 'written');
    const file = path.join(dir, 'archive', ...name.split('/'));
    assert.equal(await residentBytes(file), 0);
    assert.ok(Buffer.from((await sink.get(name))!).equals(body), 'content read back from disk');
    await sink.close();
  });
});
