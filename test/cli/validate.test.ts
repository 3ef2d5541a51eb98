import assert from 'node:assert/strict';
import { runCli as runCliProcess } from '../helpers/cli.js';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseArgs, UsageError } from '../../cli/args.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const testdata = path.join(repoRoot, 'config/testdata');

/** The command through the real CLI, with an environment holding only PATH (no SEALTRAIL_* leaks in). */
const runCli = (fn: 'validateCommand' | 'keygenCommand', args: readonly string[], cwd = repoRoot) =>
  runCliProcess([fn === 'validateCommand' ? 'validate' : 'keygen', ...args], { cwd, env: { PATH: process.env.PATH ?? '' } });

test('validate: a valid file prints "config OK" with the digest and returns 0 (--config and positional)', async () => {
  const file = path.join(testdata, 'valid-minimal.yaml');
  for (const argv of [['--config', file], [`--config=${file}`], [file]]) {
    const r = await runCli('validateCommand', argv);
    assert.equal(r.code, 0, argv.join(' '));
    assert.match(r.stdout, new RegExp(`^config OK: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(digest [0-9a-f]{64}\\)\\n$`));
    assert.equal(r.stderr, '');
  }
});

test('validate: with no file it checks the embedded default', async () => {
  const r = await runCli('validateCommand', []);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^config OK: <embedded default> \(digest [0-9a-f]{64}\)\n$/);
});

test('validate: an invalid file prints every error, one per line, to stderr and returns 1', async () => {
  const file = path.join(testdata, 'invalid-several-errors.yaml');
  const r = await runCli('validateCommand', ['--config', file]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.deepEqual(r.stderr.trimEnd().split('\n'), [
    `config invalid: ${file}`,
    'agent.shutdown_timeout: "soon" is not a duration (use 500ms, 5s, 2m, 1h)',
    'processors.seal.max_records: must be at least 1',
    'exporters.file.immutable: must be true or false',
  ]);
});

test('validate: a missing file returns 1', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sealtrail-'));
  try {
    const r = await runCli('validateCommand', [path.join(dir, 'absent.yaml')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /absent\.yaml: cannot read config file/);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('validate: usage errors return 2', async () => {
  for (const argv of [
    ['--bogus'],
    ['a.yaml', 'b.yaml'],
    ['--config', 'a.yaml', 'b.yaml'],
    ['--config'],
    ['--config', 'a', '--config', 'b'],
  ]) {
    const r = await runCli('validateCommand', argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.stderr, /usage: sealtrail validate/);
  }
});

test('args: --flag value, --flag=value, lists, booleans, positionals and "--"', () => {
  const spec = { config: 'string', where: 'list', json: 'boolean' } as const;
  const a = parseArgs(['x', '--config', 'c.yaml', '--where=a=b', '--where', 'c=d', '--json', 'y', '--', '--json'], spec);
  assert.deepEqual(a, { flags: { config: 'c.yaml', where: ['a=b', 'c=d'], json: true }, positionals: ['x', 'y', '--json'] });
  assert.deepEqual(parseArgs([], spec), { flags: { config: undefined, where: [], json: false }, positionals: [] });
  assert.deepEqual(parseArgs(['--config='], spec).flags.config, '');
  for (const [argv, msg] of [
    [['--nope'], 'unknown option --nope'],
    [['-x'], 'unknown option -x'],
    [['--config'], 'option --config needs a value'],
    [['--json=yes'], 'option --json takes no value'],
    [['--config', 'a', '--config', 'b'], 'option --config given twice'],
    [['--toString'], 'unknown option --toString'],
  ] as const) {
    assert.throws(
      () => parseArgs(argv, spec),
      (e: unknown) => e instanceof UsageError && e.message === msg,
      argv.join(' '),
    );
  }
});
