// Sinks from packages: the example package in test/fixtures/sink-package, loaded the way the
// agent loads it, passes the shared conformance suite (faults are real: chattr +i / chmod on
// its directory); the loader's errors name the exporter; and in the running agent the package
// receives every batch, in the sink's own worker, as an archive `sealtrail verify` accepts.
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ModuleExporterConfig } from '../../config/types.js';
import { sinkConformanceSuite, sinkFromFactory } from '../../exporters/conformance/index.js';
import { ModuleSink } from '../../exporters/module/module-sink.js';
import { loadSinkFactory } from '../../exporters/module/load-package.js';
import { isSealtrailError } from '../../lib/errors.js';
import { REPO_ROOT, startAgentWith, tempDir, testConfig } from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';
import { encodeRequest, postHttp } from '../helpers/otlp-client.js';
import { isRoot, setDirsWritable, walk } from './file-harness.js';

const FIXTURE = path.join(REPO_ROOT, 'test/fixtures/sink-package');

function moduleConfig(pkg: string, options: Record<string, unknown>, id = 'module/dir'): ModuleExporterConfig {
  return { type: 'module', id, package: pkg, resolveFrom: REPO_ROOT, compression: 'none', options };
}

sinkConformanceSuite({
  name: 'package test/fixtures/sink-package',
  async makeSink() {
    const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sealtrail-'));
    const root = path.join(tmp, 'objects');
    const factory = await loadSinkFactory(moduleConfig(FIXTURE, {}));
    const sink = await sinkFromFactory(factory, { id: 'module/dir', options: { directory: root }, log: () => {} });
    const heal = () => setDirsWritable(root, true);
    return {
      sink,
      async readBack(name) {
        return fsp.readFile(path.join(root, ...name.split('/'))).then(
          (b) => new Uint8Array(b),
          (err: NodeJS.ErrnoException) => {
            if (err.code === 'ENOENT') return null;
            throw err;
          },
        );
      },
      listNames: async () => (await walk(root)).files,
      injectTransientFault: () => setDirsWritable(root, false),
      healFault: heal,
      async cleanup() {
        await heal();
        await fsp.rm(tmp, { recursive: true, force: true });
      },
    };
  },
});

describe('sink packages: loading', () => {
  it('a package that is not installed, a missing path, and a module without a factory fail start() with CONFIG naming the exporter', async () => {
    const dir = await tempDir();
    try {
      await fsp.writeFile(path.join(dir, 'nofactory.js'), 'export const x = 1;\n');
      const cases: Array<[ModuleExporterConfig, RegExp]> = [
        [
          moduleConfig('@acme/sealtrail-sink-absent', {}),
          /exporters\.module\/dir\.package: package "@acme\/sealtrail-sink-absent" is not installed/,
        ],
        [moduleConfig(path.join(dir, 'nope'), {}), /exporters\.module\/dir\.package: .*nope does not exist/],
        [moduleConfig(path.join(dir, 'nofactory.js'), {}), /exports neither a createSink function nor a default function/],
        [moduleConfig(FIXTURE, {}), /exporters\.module\/dir\.directory: is required/],
      ];
      for (const [cfg, re] of cases) {
        const s = new ModuleSink(cfg, () => {});
        await assert.rejects(s.start(), (err: unknown) => isSealtrailError(err, 'CONFIG') && re.test(err.message));
        await s.close();
      }
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('a package name is found in node_modules above the working directory', async () => {
    const dir = await tempDir();
    try {
      const installed = path.join(dir, 'node_modules', '@acme', 'sealtrail-sink-dir');
      await fsp.mkdir(path.dirname(installed), { recursive: true });
      await fsp.cp(FIXTURE, installed, { recursive: true });
      const cwd = path.join(dir, 'etc', 'sealtrail');
      await fsp.mkdir(cwd, { recursive: true });
      const s = new ModuleSink(
        { ...moduleConfig('@acme/sealtrail-sink-dir', { directory: path.join(dir, 'out') }), resolveFrom: cwd },
        () => {},
      );
      await s.start();
      assert.equal(await s.put('a/b.checkpoint', new TextEncoder().encode('x\n')), 'written');
      assert.equal(await fsp.readFile(path.join(dir, 'out', 'a', 'b.checkpoint'), 'utf8'), 'x\n');
      await s.close();
    } finally {
      if (isRoot) await setDirsWritable(dir, true);
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('sink packages: in the running agent', () => {
  it('the package receives every batch in its worker; its directory verifies and matches the file sink', async (t) => {
    const dir = await tempDir();
    const pkgOut = path.join(dir, 'package-out');
    const agent = await startAgentWith(
      dir,
      testConfig(dir, {
        maxRecords: 7,
        exporters: {
          yaml: `  file:\n    directory: ${path.join(dir, 'archive')}\n  module/dir:\n    package: ${FIXTURE}\n    compression: gzip\n    directory: ${pkgOut}\n`,
          ids: ['file', 'module/dir'],
        },
      }),
    );
    t.after(() => agent.kill());
    for (let i = 0; i < 10; i++) {
      const res = await postHttp(
        agent.http,
        encodeRequest(Array.from({ length: 5 }, (_, k) => ({ body: `r ${i}.${k}`, attributes: { audit: true } }))),
      );
      assert.equal(res.status, 200);
    }
    assert.ok(agent.logs.some((l) => l.msg === 'example directory sink started' && l.sink === 'module/dir'));
    assert.equal(await agent.stop(), 0);
    const keyFile = path.join(dir, 'data', 'keys', 'test-agent.pub');
    const r = await runCli(['verify', pkgOut, '--key', keyFile]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const files = (await walk(pkgOut)).files.sort();
    assert.ok(
      files.some((f) => f.endsWith('.entries.jsonl.gz')),
      'gzip objects, as configured',
    );
    assert.ok(files.filter((f) => f.endsWith('.checkpoint')).length >= 8, `50 records in batches of 7: ${files.length} files`);
    const fileSinkCheckpoints = (await walk(path.join(dir, 'archive'))).files.filter((f) => f.endsWith('.checkpoint')).sort();
    assert.deepEqual(
      files.filter((f) => f.endsWith('.checkpoint')),
      fileSinkCheckpoints,
    );
    if (isRoot) await setDirsWritable(dir, true);
    await fsp.rm(dir, { recursive: true, force: true });
  });
});
