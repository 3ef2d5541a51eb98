// sealtrail cat as a child process: the table, --json raw lines, --where and time filters
// (which bound the record's own time: here one hour before the agent received it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { buildArchive, defaultRecord, readLines, tempDir, type Fixture } from '../verify/fixtures.js';
import { parseTime } from '../../cli/cat.js';

let dir: string;
let fx: Fixture;

const cat = (...args: string[]) => runCli(['cat', ...args]);

before(async () => {
  dir = await tempDir();
  // Record seq's own time is 09:00:00 + seq s; the fixture's receive time is 10:00:00 + seq s.
  const own = (seq: number) => String(BigInt(Date.UTC(2026, 10, 27, 9, 0, seq)) * 1_000_000n);
  fx = await buildArchive(path.join(dir, 'archive'), {
    entries: 200,
    batchSize: 30,
    gzip: true,
    record: (seq) => defaultRecord(seq).replace('1764237600000000000', own(seq)),
  });
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('prints a table: a header, then one row per entry in log order', async () => {
  const r = await cat(fx.dir);
  assert.equal(r.code, 0);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 201);
  assert.match(
    lines[0]!,
    /^TIME {2,}ENVIRONMENT {2,}SERVICE {2,}ACTOR {2,}ACTION {2,}RESOURCE {2,}RESULT {2,}EVENT_NAME {2,}ORIGIN {2,}SEQ {2,}BODY$/,
  );
  // The genesis entry carries no time of its own: an empty cell, never a placeholder.
  assert.match(lines[1]!, /^ {26}test {2,}billing {2,}sealtrail\.genesis {2,}sealtrail\/fixture\/[0-9a-f]{32} {2,}0 {2,}chain started$/);
  assert.match(
    lines[6]!,
    /^2026-11-27T09:00:05\.000Z {2}test {2,}billing {2,}u5 {2,}audit\.setting\.changed {2,}sealtrail\/fixture\/[0-9a-f]{32} {2,}5 {2,}user 5 updated setting 5$/,
  );
});

test('--json prints the stored entry lines byte for byte', async () => {
  // Entry 0 has no own time; its receive time (10:00:00) is past --to.
  const r = await cat(fx.dir, '--json', '--to', '2026-11-27T09:00:40Z');
  const stored = [
    ...(await readLines(path.join(fx.dir, fx.batches[0]!.entries))),
    ...(await readLines(path.join(fx.dir, fx.batches[1]!.entries))),
  ];
  assert.equal(
    r.stdout,
    stored
      .slice(1, 41)
      .map((l) => l + '\n')
      .join(''),
  );
  assert.equal((await cat(fx.dir, '--format', 'raw', '--to', '2026-11-27T09:00:40Z')).stdout, r.stdout);
});

test('--where matches record attributes, event_name and severity; --from/--to bound the time', async () => {
  const seqs = async (...args: string[]) => {
    const out = (await cat(fx.dir, '--format', 'json', ...args)).stdout;
    return out === ''
      ? []
      : out
          .trimEnd()
          .split('\n')
          .map((l) => (JSON.parse(l) as { seq: number }).seq);
  };
  assert.deepEqual(await seqs('--where', 'user.id=u5'), [5, 102, 199]); // u5 is every 97th seq
  assert.deepEqual(await seqs('--where', 'event_name=sealtrail.genesis'), [0]);
  assert.deepEqual(
    await seqs(
      '--where',
      'user.id=u5',
      '--where',
      'event_name=audit.setting.changed',
      '--from',
      '2026-11-27T09:01:00Z',
      '--to',
      '2026-11-27T09:03:00Z',
    ),
    [102],
  );
  assert.equal((await seqs('--where', 'severity=info', '--from', '2026-11-27T09:03:00Z', '--to', '2026-11-27T09:03:09Z')).length, 10);
  assert.equal((await cat(fx.dir, '--where', 'nokey')).code, 2);
  assert.equal((await cat(fx.dir, '--from', 'yesterdayish')).code, 2);
});

test('relative and calendar times', () => {
  const now = Date.UTC(2026, 10, 27, 12, 0, 0);
  assert.equal(parseTime('2h', now), now - 2 * 3600e3);
  assert.equal(parseTime('-15m', now), now - 15 * 60e3);
  assert.equal(parseTime('3d ago', now), now - 3 * 86400e3);
  assert.equal(parseTime('today', now), Date.UTC(2026, 10, 27));
  assert.equal(parseTime('2026-11-01', now), Date.UTC(2026, 10, 1));
  assert.equal(parseTime('2026-11-01T10:00:00+01:00', now), Date.UTC(2026, 10, 1, 9));
});
