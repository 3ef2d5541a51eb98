// The npm package as users install it: `npm pack` (prepack builds) on a copy of the sources,
// `npm install ./sealtrail-*.tgz --omit=dev` in an empty directory, then the installed
// `sealtrail` answers --version and --help, runs an agent and verifies its archive. Also the
// systemd unit (systemd-analyze verify, pointed at the installed command) and `npm start`
// stopped by SIGTERM to the npm process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, tempDir, testConfig } from '../helpers/agent.js';
import { must, run } from './podman.js';
import { pidsWith, spawnLogged } from './spawned.js';

const SUBCOMMANDS = ['run', 'validate', 'keygen', 'verify', 'prove', 'consistency', 'verify-proof', 'cat'];
const NOT_SOURCES = new Set(['node_modules', 'dist', 'data', '.git', '.tmp']);

let dir: string;
let src: string; // a copy of the sources: packing and `npm start` rebuild dist/ there, not here
let bin: string; // the installed sealtrail
let version: string;

before(async () => {
  dir = await tempDir('sealtrail-package-');
  src = path.join(dir, 'src');
  await fs.mkdir(src);
  for (const name of await fs.readdir(REPO_ROOT)) {
    if (NOT_SOURCES.has(name) || name.endsWith('.tgz')) continue;
    await fs.cp(path.join(REPO_ROOT, name), path.join(src, name), { recursive: true });
  }
  await fs.symlink(path.join(REPO_ROOT, 'node_modules'), path.join(src, 'node_modules'));
  version = (JSON.parse(await fs.readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

  await must('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: src });
  const tgz = path.join(dir, `sealtrail-${version}.tgz`);
  const app = path.join(dir, 'install');
  await fs.mkdir(app);
  await fs.writeFile(path.join(app, 'package.json'), '{"private":true}\n');
  await must('npm', ['install', tgz, '--omit=dev', '--no-audit', '--no-fund'], { cwd: app });
  bin = path.join(app, 'node_modules/.bin/sealtrail');
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('the installed package has no dev dependencies and no TypeScript sources', async () => {
  const mods = path.join(dir, 'install/node_modules');
  for (const dev of ['typescript', '@opentelemetry/sdk-logs']) {
    await assert.rejects(fs.stat(path.join(mods, dev)), { code: 'ENOENT' }, `${dev} is not installed`);
  }
  const pkg = path.join(mods, 'sealtrail');
  await fs.stat(path.join(pkg, 'dist/cli/main.js'));
  await fs.stat(path.join(pkg, 'LICENSE'));
  await fs.stat(path.join(pkg, 'native/prebuilds/linux-x64/page-cache.node')); // the page-cache helper
  await fs.stat(path.join(pkg, 'native/prebuilds/linux-x64/chain-append.node')); // the chain helper
  await fs.stat(path.join(pkg, 'native/prebuilds/linux-x64/leveldb-mmap.node')); // LevelDB's unmapped table reads
  await fs.stat(path.join(pkg, 'native/prebuilds/linux-x64/leveldb-crc32c.node')); // LevelDB's CRC-32C on the CPU's instruction
  await assert.rejects(fs.stat(path.join(pkg, 'agent/agent.ts')), { code: 'ENOENT' });
  await assert.rejects(fs.stat(path.join(pkg, 'dist/test')), { code: 'ENOENT' });
});

test('sealtrail --version and sealtrail version print the package version', async () => {
  for (const arg of ['--version', 'version']) {
    const r = await run(bin, [arg]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `sealtrail ${version}\n`);
  }
});

test('--help on every subcommand: exit 0, one layout (usage, options, exit codes)', async () => {
  for (const cmd of SUBCOMMANDS) {
    const r = await run(bin, [cmd, '--help']);
    assert.equal(r.code, 0, `${cmd} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^usage: sealtrail ${cmd} `), cmd);
    assert.match(r.stdout, /\n\noptions:\n/, cmd);
    assert.match(r.stdout, /\n\nexit codes: 0 /, cmd);
  }
  const top = await run(bin, ['--help']);
  assert.equal(top.code, 0);
  for (const cmd of SUBCOMMANDS) assert.match(top.stdout, new RegExp(`\\n  ${cmd} `), cmd);
  const none = await run(bin, []);
  assert.equal(none.code, 2, 'no command is a usage error');
});

test('the installed sealtrail runs an agent, stops on SIGTERM, and its archive verifies', async () => {
  const work = path.join(dir, 'run');
  await fs.mkdir(work);
  const cfg = path.join(work, 'sealtrail.yaml');
  await fs.writeFile(cfg, testConfig(work));
  const agent = spawnLogged(bin, ['run', '--config', cfg], { cwd: work });
  const ready = await agent.waitForMsg('ready');
  const body = {
    resourceLogs: [
      {
        scopeLogs: [
          { logRecords: [{ body: { stringValue: 'user deleted' }, attributes: [{ key: 'audit', value: { boolValue: true } }] }] },
        ],
      },
    ],
  };
  const res = await fetch(`http://${String(ready.http)}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200);
  agent.proc.kill('SIGTERM');
  assert.deepEqual(await agent.exited, { code: 0, signal: null }, agent.stderrTail());
  // The installed package's native helpers load: each logs once at start when it cannot.
  assert.deepEqual(
    agent.logs
      .map((l) => String(l.msg))
      .filter((m) => m.includes('helper unavailable') || m.includes('tables memory-mapped') || m.includes('CRC32C instruction')),
    [],
  );
  const v = await run(bin, ['verify', path.join(work, 'archive'), '--key', String(ready.verifier_key)]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
});

test('systemd-analyze verify accepts deploy/systemd/sealtrail.service', async () => {
  // The unit names /usr/local/bin/sealtrail (a global install); point it at this install.
  const unit = (await fs.readFile(path.join(REPO_ROOT, 'deploy/systemd/sealtrail.service'), 'utf8')).replaceAll(
    '/usr/local/bin/sealtrail',
    path.resolve(bin),
  );
  const unitDir = path.join(dir, 'systemd');
  await fs.mkdir(unitDir);
  await fs.writeFile(path.join(unitDir, 'sealtrail.service'), unit);
  const r = await run('systemd-analyze', ['verify', path.join(unitDir, 'sealtrail.service')]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /sealtrail\.service/, 'no warning about the unit');
});

test('npm start, then SIGTERM to the npm process: the agent stops gracefully and nothing is left running', async () => {
  const work = path.join(dir, 'start');
  await fs.mkdir(work);
  const cfg = path.join(work, 'sealtrail.yaml');
  await fs.writeFile(cfg, testConfig(work));
  const npm = spawnLogged('npm', ['start', '--', '--config', cfg], { cwd: src });
  await npm.waitForMsg('ready', 300_000);
  npm.proc.kill('SIGTERM');
  const exit = await npm.exited;
  const stopped = npm.logs.find((l) => l.msg === 'stopped');
  assert.equal(stopped?.reason, 'SIGTERM', `the agent logged a graceful stop; stderr tail:\n${npm.stderrTail()}`);
  assert.deepEqual(await pidsWith(cfg), [], 'no agent process is left behind');
  assert.equal(exit.code, 0, npm.stderrTail());
});
