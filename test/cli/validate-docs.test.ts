// Every YAML example in docs/audit-context.md and docs/configuration.md passes the real
// `sealtrail validate`, so the documented rules and mapping are ones the agent accepts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, tempDir } from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';

let dir: string;

before(async () => {
  dir = await tempDir();
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function yamlBlocks(doc: string): Promise<string[]> {
  const md = await fs.readFile(path.join(REPO_ROOT, doc), 'utf8');
  return [...md.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

for (const [doc, count] of [
  ['docs/audit-context.md', 2],
  ['docs/configuration.md', 3],
] as const) {
  test(`the ${count} YAML examples in ${doc} pass sealtrail validate`, async () => {
    const blocks = await yamlBlocks(doc);
    assert.equal(blocks.length, count);
    for (const [i, yaml] of blocks.entries()) {
      const file = path.join(dir, `${path.basename(doc, '.md')}-${i}.yaml`);
      await fs.writeFile(file, yaml);
      const r = await runCli(['validate', file], { cwd: dir, env: { ...process.env, SEALTRAIL_TOKEN: 'doc-token' } });
      assert.equal(r.code, 0, `${doc} example ${i}: ${r.stderr}`);
      assert.match(r.stdout, /^config OK: /);
    }
  });
}

test('an example with a mistake in its audit_context fails validate, naming the key', async () => {
  const [strict] = await yamlBlocks('docs/audit-context.md');
  const file = path.join(dir, 'broken.yaml');
  await fs.writeFile(file, strict!.replace('actor: { missing: reject }', 'actor: { missing: refuse }'));
  const r = await runCli(['validate', file], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /processors\.audit_context\.fields\.actor\.missing: must be one of reject, count, accept/);
});
