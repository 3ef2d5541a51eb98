// sealtrail verify as a child process on archives that hold more than one chain or stray signed
// notes (issues 9 and 10): a checkpoint signed with the real key anywhere in the archive is
// checked against its chain (FORK, TRUNCATED), chains must end in a stop entry or be named by a
// successor's genesis (CHAIN_UNTERMINATED, --live), and a genesis that records lost entries is
// RECORDED_LOSS. Archives are built in the real format with real keys (test/verify/fixtures.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { buildArchive, newSigner, readLines, tempDir, type Fixture } from '../verify/fixtures.js';
import { formatCheckpointBody, parseCheckpointBody, parseNote } from '../../verify/note.js';
import { leafHash, rootOfLeaves } from '../../verify/merkle.js';
import { pos } from '../../verify/layout.js';
import type { Report } from '../../verify/report.js';

let work: string;
let n = 0;

before(async () => {
  work = await tempDir();
});

after(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

const fresh = (): string => path.join(work, `a${n++}`);

async function verify(dir: string, key: string, ...more: string[]): Promise<{ code: number; report: Report; stderr: string }> {
  const r = await runCli(['verify', dir, '--key', key, '--json', ...more]);
  return { code: r.code, report: JSON.parse(r.stdout || 'null') as Report, stderr: r.stderr };
}

const found = (fs_: Array<{ code: string; object: string; seq?: number }>) => fs_.map((p) => [p.code, p.object, p.seq]);

function otherRoot(note: string): Uint8Array {
  const root = Uint8Array.from(parseCheckpointBody(parseNote(note).text).root);
  root[0] = root[0]! ^ 1;
  return root;
}

// ---- issue 10: signed notes outside the layout ----

test('a checkpoint signed with the real key outside the layout, same size and another root: FORK naming both objects, exit 1', async () => {
  const fx = await buildArchive(fresh(), { entries: 30, batchSize: 10, stop: true });
  const b = fx.batches[1]!;
  const name = 'forks/evil.checkpoint';
  await fs.mkdir(path.join(fx.dir, 'forks'));
  await fs.writeFile(path.join(fx.dir, name), fx.signer.signNote(formatCheckpointBody(fx.origin, b.end, otherRoot(b.note))));
  const { code, report } = await verify(fx.dir, fx.verifierKey);
  assert.equal(code, 1);
  assert.deepEqual(found(report.problems), [['FORK', name, undefined]]);
  assert.ok(report.problems[0]!.message.includes(b.checkpoint), report.problems[0]!.message);
  assert.deepEqual(report.warnings, []); // not also an UNREFERENCED_OBJECT
});

test('a signed note inside an origin directory at a mid-batch size whose root the entries do not give: FORK', async () => {
  const fx = await buildArchive(fresh(), { entries: 30, batchSize: 10, stop: true });
  const name = `${fx.origin}/copy-of-15.checkpoint`;
  await fs.writeFile(path.join(fx.dir, name), fx.signer.signNote(formatCheckpointBody(fx.origin, 15, new Uint8Array(32).fill(9))));
  const { code, report } = await verify(fx.dir, fx.verifierKey);
  assert.equal(code, 1);
  assert.deepEqual(found(report.problems), [['FORK', name, undefined]]);
  assert.ok(report.problems[0]!.message.includes(fx.batches[1]!.entries), report.problems[0]!.message);
});

test('after a missing batch (no recomputed root), a signed note still conflicts with the batch checkpoint of its size: FORK', async () => {
  const fx = await buildArchive(fresh(), { entries: 30, batchSize: 10, stop: true });
  const b = fx.batches[1]!;
  await fs.rm(path.join(fx.dir, fx.batches[0]!.entries));
  await fs.writeFile(path.join(fx.dir, 'other.checkpoint'), fx.signer.signNote(formatCheckpointBody(fx.origin, b.end, otherRoot(b.note))));
  const { code, report } = await verify(fx.dir, fx.verifierKey);
  assert.equal(code, 1);
  assert.deepEqual(found(report.problems), [
    ['MISSING_ENTRIES', fx.batches[0]!.checkpoint, 0],
    ['FORK', 'other.checkpoint', undefined],
  ]);
  assert.ok(report.problems[1]!.message.includes(b.checkpoint), report.problems[1]!.message);
});

test('a signed note that agrees with the chain, and one signed by another key, stay warnings (exit 0)', async () => {
  const fx = await buildArchive(fresh(), { entries: 30, batchSize: 10, stop: true });
  const lines = [
    ...(await readLines(path.join(fx.dir, fx.batches[0]!.entries))),
    ...(await readLines(path.join(fx.dir, fx.batches[1]!.entries))),
  ];
  const root15 = rootOfLeaves(lines.slice(0, 15).map((l) => leafHash(Buffer.from(l, 'utf8'))));
  await fs.writeFile(path.join(fx.dir, 'saved-15.checkpoint'), fx.signer.signNote(formatCheckpointBody(fx.origin, 15, root15)));
  await fs.writeFile(
    path.join(fx.dir, 'stranger.checkpoint'),
    newSigner('stranger').signNote(formatCheckpointBody(fx.origin, 20, new Uint8Array(32))),
  );
  const { code, report } = await verify(fx.dir, fx.verifierKey);
  assert.equal(code, 0, JSON.stringify(report.problems));
  const w = [...report.warnings].sort((a, b) => a.object.localeCompare(b.object));
  assert.deepEqual(found(w), [
    ['UNREFERENCED_OBJECT', 'saved-15.checkpoint', undefined],
    ['UNREFERENCED_OBJECT', 'stranger.checkpoint', undefined],
  ]);
  assert.match(w[0]!.message, /agrees with the archive/);
  assert.match(w[1]!.message, /not signed by any of the given keys/);
});

test('a signed note larger than the archive shows the truncation: TRUNCATED, exit 1', async () => {
  const fx = await buildArchive(fresh(), { entries: 30, batchSize: 10, stop: true });
  const last = fx.batches[2]!;
  await fs.rename(path.join(fx.dir, last.checkpoint), path.join(fx.dir, 'kept.checkpoint'));
  await fs.rm(path.join(fx.dir, last.entries));
  const { code, report } = await verify(fx.dir, fx.verifierKey);
  assert.equal(code, 1);
  assert.deepEqual(found(report.problems), [['TRUNCATED', `${fx.origin}/${pos(20)}-${pos(30)}`, 20]]);
  assert.match(report.problems[0]!.message, /signed checkpoint kept\.checkpoint/);
});

// ---- issue 9: chain continuity ----

test('a chain without a stop entry and without a successor: CHAIN_UNTERMINATED, exit 1; with --live a warning, exit 0', async () => {
  const fx = await buildArchive(fresh(), { entries: 25, batchSize: 10 });
  const last = fx.batches[2]!;
  const r = await verify(fx.dir, fx.verifierKey);
  assert.equal(r.code, 1);
  assert.deepEqual(found(r.report.problems), [['CHAIN_UNTERMINATED', last.entries, 24]]);
  assert.match(r.report.problems[0]!.message, /without a sealtrail\.stop entry.*after seq 24 may be lost/);
  const human = await runCli(['verify', fx.dir, '--key', fx.verifierKey]);
  assert.ok(human.stdout.includes(`PROBLEM CHAIN_UNTERMINATED ${last.entries} seq 24: `), human.stdout);
  const live = await verify(fx.dir, fx.verifierKey, '--live');
  assert.equal(live.code, 0);
  assert.deepEqual(live.report.problems, []);
  assert.deepEqual(found(live.report.warnings), [['CHAIN_UNTERMINATED', last.entries, 24]]);
});

/** A predecessor chain (no stop entry) and a successor whose genesis names it, in one archive. */
async function twoChains(
  genesis: (prev: Fixture) => Record<string, string | number>,
  prevEntries = 30,
): Promise<{ prev: Fixture; next: Fixture; dir: string }> {
  const dir = fresh();
  const signer = newSigner();
  const prev = await buildArchive(dir, { entries: prevEntries, batchSize: 10, signer, agentName: 'box' });
  const next = await buildArchive(dir, { entries: 12, batchSize: 10, signer, agentName: 'box', stop: true, genesis: genesis(prev) });
  return { prev, next, dir };
}

test('a successor whose genesis names the previous chain and its last checkpoint, nothing lost: exit 0, no problems', async () => {
  const { prev, next, dir } = await twoChains((p) => ({
    'sealtrail.previous_origin': p.origin,
    'sealtrail.previous_checkpoint': p.batches[p.batches.length - 1]!.note,
    'sealtrail.lost_from': 30,
    'sealtrail.lost_to': 30,
    'sealtrail.quarantine_reason': 'buffer behind its high-water mark',
    'sealtrail.quarantined_buffer': '/var/lib/sealtrail/buffer.quarantined-1',
  }));
  const { code, report } = await verify(dir, next.verifierKey);
  assert.equal(code, 0, JSON.stringify(report.problems));
  assert.deepEqual(report.warnings, []);
  assert.deepEqual(report.origins.map((o) => o.origin).sort(), [prev.origin, next.origin].sort());
});

test('a genesis recording lost entries the archive does not hold: RECORDED_LOSS naming the previous chain and range, exit 1', async () => {
  // The previous agent signed up to 30 but delivered only 20 before its buffer was lost.
  const { prev, next, dir } = await twoChains((p) => ({
    'sealtrail.previous_origin': p.origin,
    'sealtrail.previous_checkpoint': p.batches[2]!.note,
    'sealtrail.lost_from': 18,
    'sealtrail.lost_to': 30,
    'sealtrail.quarantine_reason': 'log file truncated',
    'sealtrail.quarantined_buffer': '/data/buffer.quarantined-7',
  }));
  await fs.rm(path.join(dir, prev.batches[2]!.entries));
  await fs.rm(path.join(dir, prev.batches[2]!.checkpoint));
  const { code, report } = await verify(dir, next.verifierKey);
  assert.equal(code, 1);
  // Not also TRUNCATED (the loss is the recorded one) nor CHAIN_UNTERMINATED (the successor records the end).
  assert.deepEqual(found(report.problems), [['RECORDED_LOSS', next.batches[0]!.entries, 0]]);
  const m = report.problems[0]!.message;
  assert.ok(m.includes(prev.origin), m);
  assert.match(m, /entries \[18, 30\).*log file truncated.*buffer\.quarantined-7.*up to 20, so entries \[20, 30\) are lost/);
});

test('a genesis recording a loss of entries the archive holds anyway: no problem', async () => {
  const { next, dir } = await twoChains((p) => ({
    'sealtrail.previous_origin': p.origin,
    'sealtrail.lost_from': 0,
    'sealtrail.lost_to': 30,
  }));
  const { code, report } = await verify(dir, next.verifierKey);
  assert.equal(code, 0, JSON.stringify(report.problems));
});

test("a genesis whose previous checkpoint conflicts with the previous chain's: FORK at the genesis, exit 1", async () => {
  const { prev, next, dir } = await twoChains((p) => ({
    'sealtrail.previous_origin': p.origin,
    'sealtrail.previous_checkpoint': p.signer.signNote(formatCheckpointBody(p.origin, 20, otherRoot(p.batches[1]!.note))),
  }));
  const { code, report } = await verify(dir, next.verifierKey);
  assert.equal(code, 1);
  assert.deepEqual(found(report.problems), [['FORK', next.batches[0]!.entries, 0]]);
  assert.ok(report.problems[0]!.message.includes(prev.batches[1]!.checkpoint), report.problems[0]!.message);
});

test('a genesis whose previous checkpoint is larger than the archive, with no loss recorded: TRUNCATED', async () => {
  const { prev, next, dir } = await twoChains((p) => ({
    'sealtrail.previous_origin': p.origin,
    'sealtrail.previous_checkpoint': p.batches[2]!.note,
  }));
  await fs.rm(path.join(dir, prev.batches[2]!.entries));
  await fs.rm(path.join(dir, prev.batches[2]!.checkpoint));
  const { code, report } = await verify(dir, next.verifierKey);
  assert.equal(code, 1);
  assert.deepEqual(found(report.problems), [['TRUNCATED', `${prev.origin}/${pos(20)}-${pos(30)}`, 20]]);
});

test('a genesis naming a previous chain this archive does not hold: PREVIOUS_ORIGIN_MISSING warning, exit 0', async () => {
  const dir = fresh();
  const gone = 'sealtrail/box/' + 'c'.repeat(32);
  const fx = await buildArchive(dir, { entries: 12, batchSize: 10, stop: true, genesis: { 'sealtrail.previous_origin': gone } });
  const { code, report } = await verify(dir, fx.verifierKey);
  assert.equal(code, 0, JSON.stringify(report.problems));
  assert.deepEqual(found(report.warnings), [['PREVIOUS_ORIGIN_MISSING', fx.batches[0]!.entries, 0]]);
  assert.ok(report.warnings[0]!.message.includes(gone));
});
