// Every example config in docs/ (a ```yaml block whose first line is "# example: <name>") is
// checked with the real `sealtrail validate`, so the pages cannot drift from the schema.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, tempDir } from '../helpers/agent.js';
import { runCli } from '../helpers/cli.js';

const PAGES = ['forwarding.md', 'sink-packages.md', 'gateway.md'];

async function examples(): Promise<Array<{ page: string; name: string; yaml: string }>> {
  const out: Array<{ page: string; name: string; yaml: string }> = [];
  for (const page of PAGES) {
    const text = await fs.readFile(path.join(REPO_ROOT, 'docs', page), 'utf8').catch(() => null);
    if (text === null) continue;
    for (const m of text.matchAll(/```yaml\n(# example: ([^\n]+)\n[\s\S]*?)```/g)) out.push({ page, name: m[2]!, yaml: m[1]! });
  }
  return out;
}

test('each example config in the docs passes sealtrail validate', async () => {
  const found = await examples();
  for (const page of PAGES)
    assert.ok(
      found.some((e) => e.page === page),
      `${page} has an example config`,
    );
  const dir = await tempDir();
  try {
    for (const [i, e] of found.entries()) {
      const file = path.join(dir, `example-${i}.yaml`);
      await fs.writeFile(file, e.yaml);
      const r = await runCli(['validate', file], { env: { PATH: process.env.PATH ?? '' } });
      assert.equal(r.code, 0, `${e.page} example "${e.name}": ${r.stderr}`);
      assert.match(r.stdout, /^config OK: /);
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
