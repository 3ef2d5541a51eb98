// The file sink on a real temp directory: the shared conformance suite, then what only a
// directory has (modes, temp files, paths, chattr). Faults are real: `chattr +i` on the
// directories when root (root ignores modes), chmod 0555 otherwise.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { FileExporterConfig } from '../../config/types.js';
import { deliverBatch } from '../../exporters/deliver.js';
import { FileSink } from '../../exporters/file/file-sink.js';
import { checkpointObjectName, entriesObjectName } from '../../verify/layout.js';
import { assertRejectsCode, freshOrigin, makeTestBatch, sinkConformanceSuite } from './conformance.js';
import { isRoot, makeFileHarness, walk, type FileHarness } from './file-harness.js';

const run = promisify(execFile);
const enc = new TextEncoder();

async function withFileSink(fn: (h: FileHarness) => Promise<void>, overrides: Partial<FileExporterConfig> = {}): Promise<void> {
  const h = await makeFileHarness(overrides);
  try {
    await h.sink.start();
    await fn(h);
  } finally {
    await h.sink.close();
    await h.cleanup();
  }
}

sinkConformanceSuite({ name: 'file', makeSink: () => makeFileHarness() });

describe('file sink', () => {
  it('writes files with mode 0444 and leaves no temporary files behind', () =>
    withFileSink(async (h) => {
      const origin = freshOrigin();
      const b = makeTestBatch(origin, 0, 4);
      await deliverBatch(h.sink, b, { gzip: false });
      await deliverBatch(h.sink, b, { gzip: false }); // exists path
      await assertRejectsCode(h.sink.put(checkpointObjectName(origin, 0, 4), enc.encode('other')), 'SINK_CONFLICT');
      await h.injectTransientFault();
      await assertRejectsCode(deliverBatch(h.sink, makeTestBatch(origin, 4, 8), { gzip: true }), 'SINK_TRANSIENT');
      await h.healFault();
      await deliverBatch(h.sink, makeTestBatch(origin, 4, 8), { gzip: true });
      const files = (await walk(h.root)).files;
      assert.equal(files.length, 4);
      assert.deepEqual(
        files.filter((f) => path.basename(f).startsWith('.tmp-')),
        [],
      );
      for (const f of files) assert.equal((await fsp.stat(path.join(h.root, f))).mode & 0o777, 0o444, f);
    }));

  it('start() removes stale temporary files from a crash and nothing else', async () => {
    const h = await makeFileHarness();
    try {
      const dir = path.join(h.root, 'sealtrail', 'a', '0'.repeat(32));
      await fsp.mkdir(dir, { recursive: true });
      await fsp.writeFile(path.join(dir, '.tmp-x.checkpoint-abc'), 'partial');
      await fsp.writeFile(path.join(h.root, '.tmp-probe-123'), '');
      await fsp.writeFile(path.join(dir, 'keep.txt'), 'keep');
      await h.sink.start();
      assert.deepEqual((await walk(h.root)).files, [`sealtrail/a/${'0'.repeat(32)}/keep.txt`]);
    } finally {
      await h.cleanup();
    }
  });

  it('rejects names with "..", absolute paths, empty segments and backslashes with SINK_PERMANENT', () =>
    withFileSink(async (h) => {
      const parent = path.dirname(h.root);
      for (const name of ['../escape', 'a/../../escape', '..', '/tmp/escape', 'a//b', 'a\\..\\escape', 'a/.tmp-x']) {
        await assertRejectsCode(h.sink.put(name, enc.encode('x')), 'SINK_PERMANENT');
      }
      assert.deepEqual((await fsp.readdir(parent)).sort(), ['archive']);
      assert.deepEqual((await walk(h.root)).files, []);
    }));

  it('a pre-existing different file under a batch name is a SINK_CONFLICT and is never overwritten', () =>
    withFileSink(async (h) => {
      const b = makeTestBatch(freshOrigin(), 0, 3);
      const name = entriesObjectName(b.origin, 0, 3, false);
      const p = path.join(h.root, ...name.split('/'));
      await fsp.mkdir(path.dirname(p), { recursive: true });
      await fsp.writeFile(p, 'planted by someone else\n', { mode: 0o644 });
      const st0 = await fsp.stat(p);
      await assertRejectsCode(deliverBatch(h.sink, b, { gzip: false }), 'SINK_CONFLICT');
      const st1 = await fsp.stat(p);
      assert.equal(await fsp.readFile(p, 'utf8'), 'planted by someone else\n');
      assert.equal(st1.ino, st0.ino);
      assert.equal(st1.mode & 0o777, 0o644);
      assert.equal(st1.mtimeMs, st0.mtimeMs);
      assert.equal(await h.readBack(checkpointObjectName(b.origin, 0, 3)), null);
    }));

  it('a directory occupying an object name is a SINK_CONFLICT', () =>
    withFileSink(async (h) => {
      const name = checkpointObjectName(freshOrigin(), 0, 1);
      await fsp.mkdir(path.join(h.root, ...name.split('/')), { recursive: true });
      await assertRejectsCode(h.sink.put(name, enc.encode('cp')), 'SINK_CONFLICT');
    }));

  it('start() creates a missing nested directory, and fails with SINK_PERMANENT when it cannot', async () => {
    const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sealtrail-'));
    try {
      const nested = path.join(tmp, 'a', 'b', 'archive');
      const ok = new FileSink({ type: 'file', id: 'file', directory: nested, compression: 'none', immutable: false });
      await ok.start();
      assert.ok((await fsp.stat(nested)).isDirectory());
      await fsp.writeFile(path.join(tmp, 'plain-file'), 'x');
      const bad = new FileSink({
        type: 'file',
        id: 'file/bad',
        directory: path.join(tmp, 'plain-file', 'archive'),
        compression: 'none',
        immutable: false,
      });
      await assertRejectsCode(bad.start(), 'SINK_PERMANENT');
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  });

  it('start() on an unwritable directory warns instead of failing, and puts retry as SINK_TRANSIENT', async () => {
    const h = await makeFileHarness();
    try {
      await fsp.mkdir(h.root);
      await h.injectTransientFault();
      await h.sink.start();
      assert.ok(h.logs.some((l) => l.level === 'warn' && l.msg.includes('not writable')));
      await assertRejectsCode(h.sink.put(checkpointObjectName(freshOrigin(), 0, 1), enc.encode('cp')), 'SINK_TRANSIENT');
    } finally {
      await h.cleanup();
    }
  });

  it(`immutable: true ${isRoot ? 'sets the i attribute (lsattr)' : 'warns once when not root and still writes 0444 files'}`, () =>
    withFileSink(
      async (h) => {
        const b = makeTestBatch(freshOrigin(), 0, 2);
        await deliverBatch(h.sink, b, { gzip: false });
        await deliverBatch(h.sink, b, { gzip: false });
        for (const name of [entriesObjectName(b.origin, 0, 2, false), checkpointObjectName(b.origin, 0, 2)]) {
          const p = path.join(h.root, ...name.split('/'));
          assert.equal((await fsp.stat(p)).mode & 0o777, 0o444);
          if (isRoot) {
            const { stdout } = await run('lsattr', [p]);
            assert.match(stdout.split(/\s+/)[0]!, /i/, stdout);
            await assert.rejects(fsp.unlink(p), { code: 'EPERM' });
          }
        }
        const warnings = h.logs.filter((l) => l.level === 'warn');
        assert.equal(warnings.length, isRoot ? 0 : 1, JSON.stringify(warnings));
      },
      { immutable: true },
    ));
});
