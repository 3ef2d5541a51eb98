// Builds native/page-cache.c into native/prebuilds/<platform>-<arch>/page-cache.node, the binary
// the package ships (npm runs no install scripts here, so users never compile it).
//   node dist/native/build.js          rebuild the binary in place
//   node dist/native/build.js --check  rebuild into a temp dir and fail unless it is byte for
//                                      byte the committed binary (test/native/page-cache.test.ts
//                                      makes the same check in every test run)
// The build is reproducible: stripped, no paths or dates inside; the compiler's version string
// is, so --check needs the compiler the binary was built with (the README names it).
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const NATIVE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../native');
export const SOURCE = 'page-cache.c';
export const BINARY = path.join(NATIVE_DIR, 'prebuilds', `${process.platform}-${process.arch}`, 'page-cache.node');

/** Compiles the helper into `out` with the system C compiler (CC, or cc). */
export async function buildHelper(out: string): Promise<void> {
  const headers = (createRequire(import.meta.url)('node-api-headers') as { include_dir: string }).include_dir;
  const flags = ['-O2', '-fPIC', '-shared', '-s', '-Wall', '-Wextra', '-Werror', '-I', headers];
  await fs.mkdir(path.dirname(out), { recursive: true });
  // Relative source name, run from native/: nothing of the checkout's path reaches the binary.
  await run(process.env.CC ?? 'cc', [...flags, '-o', out, SOURCE], { cwd: NATIVE_DIR });
}

async function main(): Promise<void> {
  if (!process.argv.includes('--check')) {
    await buildHelper(BINARY);
    console.log(`built ${path.relative(process.cwd(), BINARY)}`);
    return;
  }
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'sealtrail-native-'));
  try {
    const fresh = path.join(tmp, 'page-cache.node');
    await buildHelper(fresh);
    const [a, b] = await Promise.all([fs.readFile(fresh), fs.readFile(BINARY)]);
    if (!a.equals(b)) {
      console.error(`${BINARY} is not what ${SOURCE} builds to; run npm run build:native and commit the result`);
      process.exitCode = 1;
      return;
    }
    console.log(`${path.relative(process.cwd(), BINARY)} matches its source`);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
