// verifyArchive on fixture archives written in the real format (fixtures.ts): a clean archive
// verifies; every tamper case is found and located; edge cases of hostile objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DirArchiveReader } from '../../verify/dir-archive.js';
import { parseVerifierKey } from '../../verify/note.js';
import { verifyArchive } from '../../verify/verifier.js';
import { nodeGunzip } from '../../verify/node-gunzip.js';
import { buildArchive, newSigner, readLines, tempDir, writeLines, type Fixture } from './fixtures.js';
import { TAMPER_CASES, addUnreferenced, scanArchive } from './tamper-cases.js';
import type { Report } from '../../verify/report.js';
import { isVerifyError } from '../../verify/errors.js';

async function withArchive(
  opts: { gzip?: boolean; entries?: number; batchSize?: number },
  fn: (fx: Fixture) => Promise<void>,
): Promise<void> {
  const dir = await tempDir();
  try {
    const fx = await buildArchive(dir, { entries: opts.entries ?? 40, batchSize: opts.batchSize ?? 10, gzip: opts.gzip, stop: true });
    await fn(fx);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function verify(fx: Fixture, trusted?: string[], keys = [fx.verifierKey]): Promise<Report> {
  return verifyArchive(new DirArchiveReader(fx.dir), { keys: keys.map(parseVerifierKey), trusted });
}

function codes(r: Report): string[] {
  return r.problems.map((p) => p.code);
}

test('a clean archive verifies with no problems and no warnings, and reports its root', async () => {
  await withArchive({}, async (fx) => {
    const r = await verify(fx);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.ok, true);
    const last = fx.batches[fx.batches.length - 1]!;
    assert.deepEqual(r.origins, [{ origin: fx.origin, size: 40, root: last.note.split('\n')[2], batches: 4, entries: 40 }]);
  });
});

test('a clean gzip archive verifies, with the web and the zlib decompressor', async () => {
  await withArchive({ gzip: true, entries: 33, batchSize: 8 }, async (fx) => {
    const r1 = await verify(fx);
    assert.deepEqual(r1.problems, []);
    const r2 = await verifyArchive(new DirArchiveReader(fx.dir), { keys: [parseVerifierKey(fx.verifierKey)], gunzip: nodeGunzip });
    assert.deepEqual(r2.problems, []);
    assert.equal(r2.origins[0]!.size, 33);
  });
});

test('a trusted checkpoint at a batch boundary, mid-batch, or equal to the archive verifies', async () => {
  await withArchive({}, async (fx) => {
    const { rootOfLeaves, leafHash } = await import('../../verify/merkle.js');
    const { formatCheckpointBody } = await import('../../verify/note.js');
    const lines = [
      ...(await readLines(path.join(fx.dir, fx.batches[0]!.entries))),
      ...(await readLines(path.join(fx.dir, fx.batches[1]!.entries))),
    ];
    const root15 = rootOfLeaves(lines.slice(0, 15).map((l) => leafHash(Buffer.from(l, 'utf8'))));
    const mid = fx.signer.signNote(formatCheckpointBody(fx.origin, 15, root15));
    const r = await verify(fx, [fx.batches[1]!.note, mid, fx.batches[3]!.note]);
    assert.deepEqual(r.problems, []);
  });
});

for (const c of TAMPER_CASES) {
  test(`tamper: ${c.name} -> ${c.gzip ? 'gzip ' : ''}archive reports it`, async () => {
    await withArchive({ gzip: c.gzip }, async (fx) => {
      const a = await scanArchive(fx.dir);
      const { expect, trusted } = await c.apply(a, { signer: fx.signer, otherSigner: newSigner('intruder') });
      const r = await verify(fx, trusted);
      assert.equal(r.ok, false);
      const hit = r.problems.find((p) => p.code === expect.code);
      assert.ok(hit, `expected ${expect.code}, got ${JSON.stringify(r.problems, null, 1)}`);
      assert.equal(hit.object, expect.object);
      assert.equal(hit.seq, expect.seq);
    });
  });
}

test('tamper: without a trusted checkpoint, tail truncation shows as a chain without its stop entry (a warning with live)', async () => {
  await withArchive({}, async (fx) => {
    const last = fx.batches[3]!;
    await fs.rm(path.join(fx.dir, last.entries));
    await fs.rm(path.join(fx.dir, last.checkpoint));
    const r = await verify(fx);
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.object, p.seq]),
      [['CHAIN_UNTERMINATED', fx.batches[2]!.entries, 29]],
    );
    assert.equal(r.origins[0]!.size, 30);
    const live = await verifyArchive(new DirArchiveReader(fx.dir), { keys: [parseVerifierKey(fx.verifierKey)], live: true });
    assert.equal(live.ok, true);
    assert.deepEqual(
      live.warnings.map((w) => [w.code, w.object, w.seq]),
      [['CHAIN_UNTERMINATED', fx.batches[2]!.entries, 29]],
    );
  });
});

test('an unreferenced extra file is a warning, not a failure', async () => {
  await withArchive({}, async (fx) => {
    const name = await addUnreferenced(await scanArchive(fx.dir));
    const r = await verify(fx);
    assert.equal(r.ok, true);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(
      r.warnings.map((w) => [w.code, w.object]),
      [['UNREFERENCED_OBJECT', name]],
    );
  });
});

test('an edited body is located once: its entry, then the checkpoint root of its batch', async () => {
  await withArchive({}, async (fx) => {
    await TAMPER_CASES[0]!.apply(await scanArchive(fx.dir), { signer: fx.signer, otherSigner: newSigner('x') });
    const r = await verify(fx);
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.object, p.seq]),
      [
        ['ENTRY_HASH_MISMATCH', fx.batches[1]!.entries, 11],
        ['ROOT_MISMATCH', fx.batches[1]!.checkpoint, 10],
      ],
    );
  });
});

test('a trusted checkpoint with a different root at a mid-batch size is a fork', async () => {
  await withArchive({}, async (fx) => {
    const { formatCheckpointBody } = await import('../../verify/note.js');
    const forged = fx.signer.signNote(formatCheckpointBody(fx.origin, 15, new Uint8Array(32).fill(7)));
    const r = await verify(fx, [forged]);
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.object, p.seq]),
      [['FORK', fx.batches[1]!.entries, 14]],
    );
  });
});

test('a trusted checkpoint not signed by the given keys is reported, not trusted', async () => {
  await withArchive({}, async (fx) => {
    const note = newSigner('stranger').signNote(fx.batches[3]!.note.split('\n\n')[0]! + '\n');
    const r = await verify(fx, [note]);
    assert.deepEqual(codes(r), ['UNKNOWN_KEY']);
    assert.equal(r.problems[0]!.object, 'trusted checkpoint #1');
  });
});

test('verifying with the wrong key reports every checkpoint as UNKNOWN_KEY', async () => {
  await withArchive({}, async (fx) => {
    const r = await verify(fx, undefined, [newSigner('test-key').verifierKey()]);
    assert.deepEqual(codes(r), ['UNKNOWN_KEY', 'UNKNOWN_KEY', 'UNKNOWN_KEY', 'UNKNOWN_KEY']);
  });
});

test('hostile lines: garbage, a missing final newline, a line that is not an object', async () => {
  await withArchive({}, async (fx) => {
    const b = fx.batches[1]!;
    const f = path.join(fx.dir, b.entries);
    const lines = await readLines(f);
    lines[3] = '\u0000\u00ff{not json';
    await writeLines(f, lines);
    let r = await verify(fx);
    assert.deepEqual(
      r.problems.slice(0, 1).map((p) => [p.code, p.object, p.seq]),
      [['MALFORMED_ENTRY', b.entries, 13]],
    );

    await fs.writeFile(f, lines.join('\n')); // no final newline
    r = await verify(fx);
    assert.ok(r.problems.some((p) => p.code === 'MALFORMED_ENTRY' && p.object === b.entries));

    await writeLines(f, ['[1,2,3]']);
    r = await verify(fx);
    assert.deepEqual(
      r.problems.slice(0, 1).map((p) => [p.code, p.seq]),
      [['MALFORMED_ENTRY', 10]],
    );
  });
});

test('the last line of a batch deleted: the batch is short by that seq', async () => {
  await withArchive({}, async (fx) => {
    const b = fx.batches[1]!;
    const f = path.join(fx.dir, b.entries);
    await writeLines(f, (await readLines(f)).slice(0, -1));
    const r = await verify(fx);
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.object, p.seq]),
      [['BATCH_LENGTH_MISMATCH', b.entries, 19]],
    );
  });
});

test('entry 0 must be a genesis entry with a zero prev', async () => {
  await withArchive({}, async (fx) => {
    const b = fx.batches[0]!;
    const f = path.join(fx.dir, b.entries);
    const lines = await readLines(f);
    lines[0] = lines[0]!.replace('sealtrail.genesis', 'audit.genesis').replace(/"prev":"0/, '"prev":"1');
    await writeLines(f, lines);
    const r = await verify(fx);
    assert.deepEqual(
      r.problems.slice(0, 2).map((p) => [p.code, p.seq]),
      [
        ['PREV_MISMATCH', 0],
        ['GENESIS_MISSING', 0],
      ],
    );
  });
});

test('a checkpoint whose origin or size disagrees with its object name', async () => {
  await withArchive({}, async (fx) => {
    const { formatCheckpointBody } = await import('../../verify/note.js');
    const b = fx.batches[2]!;
    await fs.writeFile(path.join(fx.dir, b.checkpoint), fx.signer.signNote(formatCheckpointBody(fx.origin, 25, new Uint8Array(32))));
    const b1 = fx.batches[1]!;
    await fs.writeFile(
      path.join(fx.dir, b1.checkpoint),
      fx.signer.signNote(formatCheckpointBody('sealtrail/other/' + '0'.repeat(32), 20, new Uint8Array(32))),
    );
    const r = await verify(fx);
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.object]),
      [
        ['ORIGIN_MISMATCH', b1.checkpoint],
        ['CHECKPOINT_SIZE_MISMATCH', b.checkpoint],
      ],
    );
  });
});

test('a checkpoint that is not a signed note is MALFORMED_CHECKPOINT', async () => {
  await withArchive({}, async (fx) => {
    const b = fx.batches[2]!;
    await fs.writeFile(path.join(fx.dir, b.checkpoint), Buffer.from([0xff, 0xfe, 0x0a]));
    const r = await verify(fx);
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.object, p.seq]),
      [['MALFORMED_CHECKPOINT', b.checkpoint, 20]],
    );
  });
});

test('one root holding two origins verifies each chain separately', async () => {
  const dir = await tempDir();
  try {
    const signer = newSigner();
    const a = await buildArchive(dir, { entries: 12, batchSize: 5, signer, agentName: 'a', stop: true });
    const b = await buildArchive(dir, { entries: 7, batchSize: 3, signer, agentName: 'b', stop: true });
    const r = await verifyArchive(new DirArchiveReader(dir), { keys: [parseVerifierKey(signer.verifierKey())] });
    assert.deepEqual(r.problems, []);
    assert.deepEqual(
      r.origins.map((o) => [o.origin, o.size, o.batches]),
      [
        [a.origin, 12, 3],
        [b.origin, 7, 3],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('an empty archive is a NOT_FOUND error (a path mistake), unless a trusted checkpoint says entries belong there', async () => {
  const dir = await tempDir();
  try {
    const signer = newSigner();
    const keys = [parseVerifierKey(signer.verifierKey())];
    await assert.rejects(
      verifyArchive(new DirArchiveReader(dir), { keys }),
      (e) => isVerifyError(e, 'NOT_FOUND') && /no sealtrail archive found under .*\(it is empty\)/.test(e.message),
    );
    const { formatCheckpointBody } = await import('../../verify/note.js');
    const origin = 'sealtrail/gone/' + 'a'.repeat(32);
    const r = await verifyArchive(new DirArchiveReader(dir), {
      keys,
      trusted: [signer.signNote(formatCheckpointBody(origin, 5, new Uint8Array(32)))],
    });
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.object]),
      [['TRUNCATED', `${origin}/${'0'.repeat(16)}-${'5'.padStart(16, '0')}`]],
    );
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('both a plain and a gzip entries object for one batch is DUPLICATE_OBJECT', async () => {
  await withArchive({}, async (fx) => {
    const b = fx.batches[1]!;
    const { gzipSync } = await import('node:zlib');
    await fs.writeFile(path.join(fx.dir, b.entries + '.gz'), gzipSync(await fs.readFile(path.join(fx.dir, b.entries))));
    const r = await verify(fx);
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.object]),
      [['DUPLICATE_OBJECT', b.entries + '.gz']],
    );
  });
});

test('progress is reported with growing entry counts', async () => {
  await withArchive({}, async (fx) => {
    const seen: number[] = [];
    await verifyArchive(new DirArchiveReader(fx.dir), {
      keys: [parseVerifierKey(fx.verifierKey)],
      onProgress: (p) => seen.push(p.entries),
    });
    assert.ok(seen.length >= 4);
    assert.equal(seen[seen.length - 1], 40);
  });
});

test('a chain relabelled under another origin, even re-signed with the key, is caught at its genesis entry', async () => {
  await withArchive({}, async (fx) => {
    const { formatCheckpointBody, parseNote, parseCheckpointBody } = await import('../../verify/note.js');
    const other = fx.origin.replace(/[0-9a-f]{32}$/, 'f'.repeat(32));
    await fs.mkdir(path.join(fx.dir, other), { recursive: true });
    for (const b of fx.batches) {
      await fs.rename(path.join(fx.dir, b.entries), path.join(fx.dir, b.entries.replace(fx.origin, other)));
      const cp = parseCheckpointBody(parseNote(await fs.readFile(path.join(fx.dir, b.checkpoint), 'utf8')).text);
      await fs.rm(path.join(fx.dir, b.checkpoint));
      await fs.writeFile(
        path.join(fx.dir, b.checkpoint.replace(fx.origin, other)),
        fx.signer.signNote(formatCheckpointBody(other, cp.size, cp.root)),
      );
    }
    const r = await verify(fx);
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.seq]),
      [['GENESIS_MISSING', 0]],
    );
    assert.match(r.problems[0]!.message, /records origin/);
  });
});

test('suggestArchiveRoot: object names from a path inside an archive, or above one, point at its root', async () => {
  const { suggestArchiveRoot } = await import('../../verify/locate.js');
  const file = `${'0'.repeat(16)}-${'0'.repeat(15)}5.checkpoint`;
  const chain = 'ab'.repeat(16);
  assert.match(
    suggestArchiveRoot('s3://b/pre/sealtrail/agent-1/', [`${chain}/${file}`])!,
    /2 levels below its root\): point verify at the archive root, e\.g\. s3:\/\/b\/pre\/$/,
  );
  assert.match(
    suggestArchiveRoot('/x/arch/sealtrail', [`agent-1/${chain}/${file}`])!,
    /one level below its root\): point verify at the archive root, e\.g\. \/x\/arch$/,
  );
  assert.match(
    suggestArchiveRoot('s3://b/', [`a/b/sealtrail/agent-1/${chain}/${file}`])!,
    /further down: point verify at its root, e\.g\. s3:\/\/b\/a\/b\/$/,
  );
  assert.equal(suggestArchiveRoot('/x', ['notes.txt', `agent-1/${chain}/readme`]), null);
});
