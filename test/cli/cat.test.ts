// sealtrail cat as a child process: readable lines, --json raw lines, --where and time filters.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { buildArchive, readLines, tempDir, type Fixture } from '../verify/fixtures.js';
import { parseTime } from '../../cli/cat.js';

let dir: string;
let fx: Fixture;

const cat = (...args: string[]) => runCli(['cat', ...args]);

before(async () => {
  dir = await tempDir();
  fx = await buildArchive(path.join(dir, 'archive'), { entries: 200, batchSize: 30, gzip: true });
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('prints one readable line per entry, in log order', async () => {
  const r = await cat(fx.dir);
  assert.equal(r.code, 0);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 200);
  assert.match(lines[0]!, /^2026-11-27T10:00:00\.000Z #0 - sealtrail\.genesis: chain started {2}\[sealtrail\.origin=/);
  assert.equal(lines[5], '2026-11-27T10:00:05.000Z #5 INFO audit.setting.changed: user 5 updated setting 5  [audit=true user.id=u5]');
});

test('--json prints the stored entry lines byte for byte', async () => {
  const r = await cat(fx.dir, '--json', '--to', '2026-11-27T10:00:40Z');
  const stored = [...(await readLines(path.join(fx.dir, fx.batches[0]!.entries))), ...(await readLines(path.join(fx.dir, fx.batches[1]!.entries)))];
  assert.equal(r.stdout, stored.slice(0, 41).map((l) => l + '\n').join(''));
});

test('--where matches record attributes, event_name and severity; --from/--to bound the time', async () => {
  const byUser = (await cat(fx.dir, '--where', 'user.id=u5')).stdout.trimEnd().split('\n');
  assert.deepEqual(byUser.map((l) => Number(/#(\d+)/.exec(l)![1])), [5, 102, 199]); // u5 is every 97th seq
  assert.equal((await cat(fx.dir, '--where', 'event_name=sealtrail.genesis')).stdout.split('\n').length, 2);
  const both = (await cat(fx.dir, '--where', 'user.id=u5', '--where', 'event_name=audit.setting.changed', '--from', '2026-11-27T10:01:00Z', '--to', '2026-11-27T10:03:00Z')).stdout;
  assert.equal(both.trimEnd().split('\n').length, 1);
  assert.match(both, /#102 /);
  assert.equal((await cat(fx.dir, '--where', 'severity=info', '--from', '2026-11-27T10:03:00Z', '--to', '2026-11-27T10:03:09Z')).stdout.trimEnd().split('\n').length, 10);
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
