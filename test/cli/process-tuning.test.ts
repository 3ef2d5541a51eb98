import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tunedExec } from '../../cli/process-tuning.js';

const ARGV = ['/usr/bin/node', '/app/bin/sealtrail.js', 'run', '--config', 'c.yaml'];

test('process tuning: re-executes once with MALLOC_ARENA_MAX=2, 8 MiB semi-spaces and a 64 MiB initial old space, arguments kept', () => {
  const t = tunedExec({ PATH: '/bin' }, ['--enable-source-maps'], ARGV, '/usr/bin/node');
  assert.ok(t);
  assert.deepEqual(t.args, [
    '/usr/bin/node',
    '--max-semi-space-size=8',
    '--initial-old-space-size=64',
    '--enable-source-maps',
    '/app/bin/sealtrail.js',
    'run',
    '--config',
    'c.yaml',
  ]);
  assert.equal(t.env.MALLOC_ARENA_MAX, '2');
  assert.equal(t.env.PATH, '/bin');
  // The re-executed process does not do it again.
  assert.equal(tunedExec(t.env, ['--max-semi-space-size=8'], ARGV, '/usr/bin/node'), null);
});

test("process tuning: the operator's own settings win, and it can be turned off", () => {
  const own = tunedExec(
    { MALLOC_ARENA_MAX: '4', NODE_OPTIONS: '--max-semi-space-size=32 --max-old-space-size=48' },
    [],
    ARGV,
    '/usr/bin/node',
  );
  assert.equal(own, null);
  // A cap on the old space is never exceeded by the initial size.
  const capped = tunedExec(
    { MALLOC_ARENA_MAX: '4', NODE_OPTIONS: '--max-semi-space-size=32' },
    ['--max-old-space-size=48'],
    ARGV,
    '/usr/bin/node',
  );
  assert.equal(capped, null);
  const semiOwn = tunedExec({ MALLOC_ARENA_MAX: '4', NODE_OPTIONS: '--max-semi-space-size=32' }, [], ARGV, '/usr/bin/node');
  assert.deepEqual(semiOwn?.args.slice(1, 2), ['--initial-old-space-size=64']);
  const arenaOnly = tunedExec({ MALLOC_ARENA_MAX: '4' }, [], ARGV, '/usr/bin/node');
  assert.equal(arenaOnly?.env.MALLOC_ARENA_MAX, '4');
  assert.ok(arenaOnly?.args.includes('--max-semi-space-size=8'));
  const semiOnly = tunedExec({}, ['--max-semi-space-size=16'], ARGV, '/usr/bin/node');
  assert.equal(semiOnly?.args.filter((a) => a.includes('semi-space')).length, 1);
  assert.equal(semiOnly?.env.MALLOC_ARENA_MAX, '2');
  assert.equal(tunedExec({ SEALTRAIL_PROCESS_TUNING: 'off' }, [], ARGV, '/usr/bin/node'), null);
});
