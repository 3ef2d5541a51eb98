import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { tunedExec } from '../../cli/process-tuning.js';
import { startAgentWith, tempDir, testConfig } from '../helpers/agent.js';

const ARGV = ['/usr/bin/node', '/app/bin/sealtrail.js', 'run', '--config', 'c.yaml'];

test('process tuning: re-executes once with MALLOC_ARENA_MAX=1, malloc thresholds of 16 / 32 MiB, 8 MiB semi-spaces and a 64 MiB initial old space, arguments kept', () => {
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
  assert.equal(t.env.MALLOC_ARENA_MAX, '1');
  assert.equal(t.env.MALLOC_MMAP_THRESHOLD_, String(16 * 1024 * 1024));
  assert.equal(t.env.MALLOC_TRIM_THRESHOLD_, String(32 * 1024 * 1024));
  assert.equal(t.env.PATH, '/bin');
  // The re-executed process does not do it again.
  assert.equal(tunedExec(t.env, ['--max-semi-space-size=8'], ARGV, '/usr/bin/node'), null);
});

test("process tuning: the operator's own settings win, and it can be turned off", () => {
  const mine = { MALLOC_ARENA_MAX: '4', MALLOC_MMAP_THRESHOLD_: '1048576' };
  const own = tunedExec({ ...mine, NODE_OPTIONS: '--max-semi-space-size=32 --max-old-space-size=48' }, [], ARGV, '/usr/bin/node');
  assert.equal(own, null);
  // A cap on the old space is never exceeded by the initial size.
  const capped = tunedExec({ ...mine, NODE_OPTIONS: '--max-semi-space-size=32' }, ['--max-old-space-size=48'], ARGV, '/usr/bin/node');
  assert.equal(capped, null);
  const semiOwn = tunedExec({ ...mine, NODE_OPTIONS: '--max-semi-space-size=32' }, [], ARGV, '/usr/bin/node');
  assert.deepEqual(semiOwn?.args.slice(1, 2), ['--initial-old-space-size=64']);
  const arenaOnly = tunedExec({ MALLOC_ARENA_MAX: '4' }, [], ARGV, '/usr/bin/node');
  assert.equal(arenaOnly?.env.MALLOC_ARENA_MAX, '4');
  assert.ok(arenaOnly?.args.includes('--max-semi-space-size=8'));
  const semiOnly = tunedExec({}, ['--max-semi-space-size=16'], ARGV, '/usr/bin/node');
  assert.equal(semiOnly?.args.filter((a) => a.includes('semi-space')).length, 1);
  assert.equal(semiOnly?.env.MALLOC_ARENA_MAX, '1');
  assert.equal(tunedExec({ SEALTRAIL_PROCESS_TUNING: 'off' }, [], ARGV, '/usr/bin/node'), null);
});

test("process tuning: an operator's one malloc threshold (or GLIBC_TUNABLES) keeps both thresholds as they are; the rest still applies", () => {
  const noThresholds = (env: NodeJS.ProcessEnv): void => {
    const t = tunedExec(env, [], ARGV, '/usr/bin/node');
    assert.ok(t, 'still re-executed for the other settings');
    assert.equal(t.env.MALLOC_ARENA_MAX, '1');
    assert.equal(t.env.MALLOC_MMAP_THRESHOLD_, env.MALLOC_MMAP_THRESHOLD_);
    assert.equal(t.env.MALLOC_TRIM_THRESHOLD_, env.MALLOC_TRIM_THRESHOLD_);
  };
  noThresholds({ MALLOC_TRIM_THRESHOLD_: '131072' });
  noThresholds({ MALLOC_MMAP_THRESHOLD_: '262144' });
  noThresholds({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=262144' });
  noThresholds({ GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0:glibc.malloc.trim_threshold=0' });
  // A tunable for something else does not count.
  const other = tunedExec({ GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0' }, [], ARGV, '/usr/bin/node');
  assert.equal(other?.env.MALLOC_MMAP_THRESHOLD_, String(16 << 20));
  // Only the thresholds left to set: still re-executed for them.
  const onlyThresholds = tunedExec(
    { MALLOC_ARENA_MAX: '4' },
    ['--max-semi-space-size=8', '--initial-old-space-size=64'],
    ARGV,
    '/usr/bin/node',
  );
  assert.equal(onlyThresholds?.env.MALLOC_TRIM_THRESHOLD_, String(32 << 20));
  assert.equal(onlyThresholds?.env.MALLOC_ARENA_MAX, '4');
});

test('process tuning: the running agent has the settings where Node can re-execute (>= 22.15 on Linux), and runs as started where it cannot', async () => {
  const dir = await tempDir();
  const agent = await startAgentWith(dir, testConfig(dir));
  try {
    const pid = agent.proc.pid!;
    const environ = (await fs.readFile(`/proc/${pid}/environ`, 'latin1')).split('\0');
    const cmdline = (await fs.readFile(`/proc/${pid}/cmdline`, 'latin1')).split('\0');
    const canReexec = typeof (process as unknown as { execve?: unknown }).execve === 'function';
    const expected = [
      'MALLOC_ARENA_MAX=1',
      `MALLOC_MMAP_THRESHOLD_=${16 << 20}`,
      `MALLOC_TRIM_THRESHOLD_=${32 << 20}`,
      'SEALTRAIL_PROCESS_TUNED=1',
    ];
    for (const e of expected) assert.equal(environ.includes(e), canReexec, `${e} in the agent's environment on Node ${process.version}`);
    assert.equal(cmdline.includes('--initial-old-space-size=64'), canReexec);
    assert.equal(path.basename(cmdline[0]!), path.basename(process.execPath));
  } finally {
    await agent.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
});
