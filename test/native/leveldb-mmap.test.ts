// The LevelDB mmap helper (native/leveldb-mmap.c): the shipped binary is what its source
// builds, it loads here, and a process whose databases open through openDb reads LevelDB's
// tables without mapping them, where a process that opens classic-level directly maps them
// (the control that shows the check can fail). Mappings are read from /proc/<pid>/maps of
// fresh child processes: LevelDB takes the limit once per process. Rebuilding needs a C
// compiler (see page-cache.test.ts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { classicLevelBinary, unmapTableReads } from '../../agent/buffer/leveldb-mmap.js';
import { binaryOf } from '../../native/build.js';
import { REPO_ROOT } from '../helpers/agent.js';
import { assertShippedIsFreshBuild, nativeTestDir } from '../helpers/native.js';

const run = promisify(execFile);
const BINARY = binaryOf('leveldb-mmap');

/**
 * Runs a fresh Node that opens a database in `dir` (through openDb, or classic-level directly),
 * writes 8 MiB in 256 KiB values, compacts them into tables, reads every value back and
 * prints how many of its mappings are table files (.ldb) and how many table files exist.
 */
async function tableMappings(dir: string, via: 'openDb' | 'classic-level'): Promise<{ mapped: number; tables: number; read: number }> {
  const store = pathToFileURL(path.join(REPO_ROOT, 'dist/agent/buffer/store.js')).href;
  const script = `
    import { readFileSync, readdirSync } from 'node:fs';
    const dir = ${JSON.stringify(dir)};
    let db;
    if (${JSON.stringify(via)} === 'openDb') {
      db = await (await import(${JSON.stringify(store)})).openDb(dir);
    } else {
      const { ClassicLevel } = await import('classic-level');
      db = new ClassicLevel(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer', maxOpenFiles: 32 });
      await db.open();
    }
    for (let i = 0; i < 32; i++) {
      const v = Buffer.alloc(256 * 1024);
      for (let j = 0; j < v.length; j += 4) v.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ j) >>> 0, j);
      await db.put('e!' + String(i).padStart(4, '0'), v);
    }
    await db.compactRange('e!', 'e~');
    let read = 0;
    for await (const [, v] of db.iterator()) read += v.length;
    const mapped = readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith('.ldb')).length;
    const tables = readdirSync(dir).filter((f) => f.endsWith('.ldb')).length;
    await db.close();
    console.log(JSON.stringify({ mapped, tables, read }));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT });
  return JSON.parse(stdout) as { mapped: number; tables: number; read: number };
}

describe('leveldb-mmap helper', () => {
  let dir: string;
  before(async () => {
    dir = await nativeTestDir('leveldb-mmap');
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it('the shipped binary is byte for byte what leveldb-mmap.c builds to', async () => {
    await assertShippedIsFreshBuild('leveldb-mmap', dir);
  });

  it('loads on this platform and finds classic-level in it', () => {
    assert.equal(`${process.platform}-${process.arch}`, 'linux-x64', 'the tests run where a binary ships');
    assert.equal(unmapTableReads(), '');
  });

  it('databases opened through openDb read their tables unmapped; classic-level alone maps them', async () => {
    const unmapped = await tableMappings(path.join(dir, 'unmapped'), 'openDb');
    const mapped = await tableMappings(path.join(dir, 'mapped'), 'classic-level');
    for (const r of [unmapped, mapped]) {
      assert.ok(r.tables >= 1, `tables were written: ${JSON.stringify(r)}`);
      assert.equal(r.read, 32 * 256 * 1024, 'every value read back');
    }
    assert.ok(mapped.mapped >= 1, `the control maps its tables: ${JSON.stringify(mapped)}`);
    assert.equal(unmapped.mapped, 0, `no table mapped through openDb: ${JSON.stringify(unmapped)}`);
  });

  it('names why not for a binary that is not loaded or has no limit to set, and refuses wrong arguments', () => {
    const binding = createRequire(import.meta.url)(BINARY) as { setTableMmapLimit(binary: unknown, limit: unknown): string };
    assert.equal(binding.setTableMmapLimit(path.join(dir, 'absent.node'), 0), 'that binary is not loaded');
    // The page-cache helper: loaded (required here), but not LevelDB.
    const pageCache = binaryOf('page-cache');
    createRequire(import.meta.url)(pageCache);
    assert.equal(binding.setTableMmapLimit(pageCache, 0), 'that binary has no SetReadOnlyMMapLimit');
    assert.throws(() => binding.setTableMmapLimit(42, 0), { name: 'TypeError', message: /needs a binary's path/ });
    assert.throws(() => binding.setTableMmapLimit('', 0), { name: 'TypeError' });
    assert.throws(() => binding.setTableMmapLimit(pageCache, -1), { name: 'TypeError' });
  });

  it("finds classic-level's binary, glibc or musl, among a process's mappings", () => {
    const line = (p: string): string => `7f0000000000-7f0000001000 r-xp 00000000 08:01 1234      ${p}`;
    const glibc = '/opt/app/node_modules/classic-level/prebuilds/linux-x64/classic-level.node';
    const musl = '/app/node_modules/classic-level/prebuilds/linux-x64/classic-level.musl.node';
    assert.equal(classicLevelBinary([line('/usr/lib/libc.so.6'), line(glibc), ''].join('\n')), glibc);
    assert.equal(classicLevelBinary(line(musl)), musl);
    assert.equal(classicLevelBinary([line('/usr/lib/libc.so.6'), '7f00-7f01 rw-p 00000000 00:00 0 [heap]'].join('\n')), null);
    assert.equal(classicLevelBinary(line('/tmp/not-classic-level.node.bak')), null);
  });
});
