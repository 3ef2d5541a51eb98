// The LevelDB CRC-32C helper (native/leveldb-crc32c.c): the shipped binary is what its source
// builds; both of its paths compute CRC-32C (RFC 3720's examples, and an independent bitwise
// implementation here on every length and alignment); classic-level's LevelDB binds to it when
// it is loaded first, and not when it is loaded the ordinary way (the control); and databases
// written with it are what stock LevelDB reads, and the other way round. The table check parses
// every block of every table file and recomputes its checksum here, since LevelDB does not
// verify table blocks on reads by default. Rebuilding needs a C compiler (see page-cache.test.ts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { crc32cHelper, crc32cUnavailable } from '../../agent/buffer/leveldb-crc32c.js';
import { openDb } from '../../agent/buffer/store.js';
import { binaryOf } from '../../native/build.js';
import { REPO_ROOT } from '../helpers/agent.js';
import { assertShippedIsFreshBuild, nativeTestDir } from '../helpers/native.js';

const run = promisify(execFile);

/** CRC-32C bit by bit (reflected polynomial 0x82f63b78), in LevelDB's Extend convention. */
function referenceExtend(init: number, bytes: Uint8Array): number {
  let crc = ~init >>> 0;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

/** LevelDB's stored form of a CRC (util/crc32c.h Mask). */
function mask(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

function varint(buf: Buffer, at: number): [number, number] {
  let v = 0;
  for (let shift = 0; ; shift += 7) {
    const b = buf[at++];
    assert.ok(b !== undefined && shift < 35, 'varint runs off the block');
    v += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [v, at];
  }
}

/** Snappy's raw format, decoded (LevelDB compresses an index block when that saves an eighth). */
function unsnappy(src: Buffer): Buffer {
  const [length, start] = varint(src, 0);
  const out = Buffer.alloc(length);
  let o = 0;
  for (let p = start; p < src.length;) {
    const tag = src[p++]!;
    if ((tag & 3) === 0) {
      let len = tag >> 2;
      if (len >= 60) {
        const bytes = len - 59;
        len = src.readUIntLE(p, bytes);
        p += bytes;
      }
      o += src.copy(out, o, p, p + len + 1);
      p += len + 1;
      continue;
    }
    let len: number, offset: number;
    if ((tag & 3) === 1) {
      len = ((tag >> 2) & 7) + 4;
      offset = ((tag >> 5) << 8) | src[p++]!;
    } else {
      len = (tag >> 2) + 1;
      offset = (tag & 3) === 2 ? src.readUInt16LE(p) : src.readUInt32LE(p);
      p += (tag & 3) === 2 ? 2 : 4;
    }
    assert.ok(offset > 0 && offset <= o && o + len <= length, 'snappy copy out of range');
    for (let i = 0; i < len; i++, o++) out[o] = out[o - offset]!;
  }
  assert.equal(o, length, 'snappy length');
  return out;
}

/** Checks one block's trailer (type byte, masked CRC of contents and type); returns its contents. */
function checkedBlock(file: Buffer, offset: number, size: number, name: string): Buffer {
  assert.ok(offset + size + 5 <= file.length, `${name}: block past the end`);
  const stored = file.readUInt32LE(offset + size + 1);
  const computed = mask(referenceExtend(0, file.subarray(offset, offset + size + 1)));
  assert.equal(stored, computed, `${name}: block at ${offset} has a checksum LevelDB would reject`);
  const contents = file.subarray(offset, offset + size);
  const type = file[offset + size];
  assert.ok(type === 0 || type === 1, `${name}: block type ${type}`);
  return type === 1 ? unsnappy(contents) : contents;
}

/** Verifies every block of a LevelDB table file (index, its data blocks, metaindex); returns how many. */
function checkTable(file: Buffer, name: string): number {
  const footer = file.subarray(file.length - 48);
  assert.equal(footer.readBigUInt64LE(40), 0xdb4775248b80fb57n, `${name}: table magic`);
  const [metaOff, a] = varint(footer, 0);
  const [metaSize, b] = varint(footer, a);
  const [indexOff, c] = varint(footer, b);
  const [indexSize] = varint(footer, c);
  checkedBlock(file, metaOff, metaSize, name);
  const index = checkedBlock(file, indexOff, indexSize, name);
  const restarts = index.readUInt32LE(index.length - 4);
  const end = index.length - 4 - 4 * restarts;
  let blocks = 2;
  for (let p = 0; p < end;) {
    let nonShared: number, valueLen: number;
    [, p] = varint(index, p); // shared key bytes
    [nonShared, p] = varint(index, p);
    [valueLen, p] = varint(index, p);
    p += nonShared;
    const [off, q] = varint(index, p);
    const [size] = varint(index, q);
    p += valueLen;
    checkedBlock(file, off, size, name);
    blocks++;
  }
  return blocks;
}

const LEVEL_URL = pathToFileURL(path.join(REPO_ROOT, 'dist/agent/buffer/level.js')).href;
const CRC_URL = pathToFileURL(path.join(REPO_ROOT, 'dist/agent/buffer/leveldb-crc32c.js')).href;
/** The bytes at j of value i, as the writer makes them and the reader checks them. */
const PATTERN = '(Math.imul(i + 1, 2654435761) ^ j) >>> 0';

/**
 * Runs `body` (it sees `db`) in a fresh Node on a database in `dir`, opened through level.ts
 * (the helper first) or through classic-level alone; returns what `body` returns and the
 * helper's Extend calls in that process (0 for stock).
 */
async function inFreshNode<T>(dir: string, via: 'helper' | 'stock', body: string): Promise<{ result: T; calls: number }> {
  const script = `
    const { ClassicLevel } = await import(${JSON.stringify(via === 'helper' ? LEVEL_URL : 'classic-level')});
    const db = new ClassicLevel(${JSON.stringify(dir)}, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    await db.open();
    const result = await (async () => { ${body} })();
    await db.close();
    const calls = ${JSON.stringify(via === 'helper')} ? (await import(${JSON.stringify(CRC_URL)})).crc32cHelper.state().calls : 0;
    console.log(JSON.stringify({ result, calls }));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT });
  return JSON.parse(stdout) as { result: T; calls: number };
}

/** Writes 6 MiB (two table files and a log) with or without the helper; returns the helper's calls. */
async function writeDb(dir: string, via: 'helper' | 'stock'): Promise<number> {
  const body = `
    for (let i = 0; i < 96; i++) {
      const v = Buffer.alloc(64 * 1024);
      for (let j = 0; j < v.length; j += 4) v.writeUInt32LE(${PATTERN}, j);
      await db.put('e!' + String(i).padStart(4, '0'), v, { sync: i % 8 === 0 });
    }
    return null;
  `;
  return (await inFreshNode<null>(dir, via, body)).calls;
}

/** Opens `dir` (replaying its log), reads every value back and checks its bytes. */
async function readDb(dir: string, via: 'helper' | 'stock'): Promise<{ values: number; calls: number }> {
  const body = `
    let values = 0;
    for await (const [k, v] of db.iterator()) {
      const i = Number(k.slice(2));
      for (let j = 0; j < v.length; j += 4) if (v.readUInt32LE(j) !== (${PATTERN})) throw new Error('value ' + k + ' differs');
      values++;
    }
    return values;
  `;
  const { result, calls } = await inFreshNode<number>(dir, via, body);
  return { values: result, calls };
}

async function checkTables(dir: string): Promise<{ tables: number; blocks: number }> {
  const names = (await fsp.readdir(dir)).filter((f) => f.endsWith('.ldb'));
  let blocks = 0;
  for (const f of names) blocks += checkTable(await fsp.readFile(path.join(dir, f)), f);
  return { tables: names.length, blocks };
}

describe('leveldb-crc32c helper', () => {
  let dir: string;
  before(async () => {
    dir = await nativeTestDir('leveldb-crc32c');
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it('the shipped binary is byte for byte what leveldb-crc32c.c builds to', async () => {
    await assertShippedIsFreshBuild('leveldb-crc32c', dir);
  });

  it('loads on this platform, uses the CPU instruction, and the buffer LevelDB binds to it', async () => {
    assert.equal(`${process.platform}-${process.arch}`, 'linux-x64', 'the tests run where a binary ships');
    assert.ok(crc32cHelper !== null, 'the helper loaded');
    assert.equal(crc32cHelper.state().hardware, true, "this machine's CPU has SSE 4.2");
    const db = await openDb(path.join(dir, 'in-process'));
    const before = crc32cHelper.state().calls;
    await db.put('k', Buffer.alloc(1000, 7), { sync: true });
    assert.ok(crc32cHelper.state().calls > before, 'a write checksums through the helper');
    await db.close();
    assert.equal(crc32cUnavailable(), '');
  });

  it("computes RFC 3720's CRC-32C examples on both paths", () => {
    assert.ok(crc32cHelper !== null);
    const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    const cases: [Buffer, number][] = [
      [Buffer.alloc(32, 0x00), 0x8a9136aa],
      [Buffer.alloc(32, 0xff), 0x62a8ab43],
      [ascending, 0x46dd794e],
      [Buffer.from(ascending).reverse(), 0x113fdb5c],
      [Buffer.from('123456789'), 0xe3069283],
      [Buffer.alloc(0), 0],
    ];
    for (const [bytes, expected] of cases) {
      for (const hw of [true, false]) assert.equal(crc32cHelper.crc32c(bytes, 0, hw), expected, `${bytes.toString('hex')} hardware=${hw}`);
      assert.equal(referenceExtend(0, bytes), expected, 'the reference implementation agrees');
    }
  });

  it('matches a bitwise CRC-32C on every length to 1100 at every alignment, and extends in parts', () => {
    assert.ok(crc32cHelper !== null);
    const pool = Buffer.alloc(1200);
    for (let i = 0; i < pool.length; i++) pool[i] = (Math.imul(i + 7, 2654435761) >>> 13) & 0xff;
    for (let len = 0; len <= 1100; len++) {
      for (let offset = 0; offset < 8; offset++) {
        const bytes = pool.subarray(offset, offset + len);
        const expected = referenceExtend(0, bytes);
        assert.equal(crc32cHelper.crc32c(bytes, 0, true), expected, `hardware, length ${len} at offset ${offset}`);
        assert.equal(crc32cHelper.crc32c(bytes, 0, false), expected, `table, length ${len} at offset ${offset}`);
        const cut = len >> 1;
        for (const hw of [true, false]) {
          const first = crc32cHelper.crc32c(bytes.subarray(0, cut), 0, hw);
          assert.equal(crc32cHelper.crc32c(bytes.subarray(cut), first, hw), expected, `extended at ${cut} of ${len}, hardware=${hw}`);
        }
      }
    }
  });

  it('classic-level binds to it when loaded first, and not when the helper is loaded the ordinary way', async () => {
    const written = await writeDb(path.join(dir, 'bound'), 'helper');
    assert.ok(written > 0, `LevelDB called the helper: ${written} calls`);
    const helper = binaryOf('leveldb-crc32c');
    const control = `
      import { createRequire } from 'node:module';
      const m = createRequire(import.meta.url)(${JSON.stringify(helper)});
      const { ClassicLevel } = await import('classic-level');
      const db = new ClassicLevel(${JSON.stringify(path.join(dir, 'unbound'))}, { valueEncoding: 'buffer' });
      await db.open();
      await db.put('k', Buffer.alloc(1000, 1), { sync: true });
      await db.close();
      console.log(JSON.stringify(m.state().calls));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', control], { cwd: REPO_ROOT });
    assert.equal(JSON.parse(stdout), 0, 'loaded without RTLD_GLOBAL, the helper is not what LevelDB calls');
  });

  it('a database written with it is what stock LevelDB reads, log and tables, and the other way round', async () => {
    const withHelper = path.join(dir, 'with-helper');
    assert.ok((await writeDb(withHelper, 'helper')) > 0);
    const tables = await checkTables(withHelper);
    assert.ok(tables.tables >= 1 && tables.blocks > 10, `tables were written and checked: ${JSON.stringify(tables)}`);
    assert.ok(
      (await fsp.readdir(withHelper)).some((f) => f.endsWith('.log')),
      'a log is left to replay',
    );
    assert.deepEqual(await readDb(withHelper, 'stock'), { values: 96, calls: 0 });

    const stock = path.join(dir, 'stock');
    assert.equal(await writeDb(stock, 'stock'), 0);
    const stockTables = await checkTables(stock);
    assert.ok(stockTables.tables >= 1, 'stock LevelDB wrote tables: the parser here reads its format');
    const read = await readDb(stock, 'helper');
    assert.equal(read.values, 96);
    assert.ok(read.calls > 0, 'the reading process checksummed with the helper');
  });
});
