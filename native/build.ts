// Builds native/page-cache.c into native/prebuilds/<platform>-<arch>/page-cache.node, the binary
// the package ships (npm runs no install scripts here, so users never compile it):
//   npm run build:native
// The build is reproducible: stripped, no paths or dates inside; the compiler's version string
// is, so a rebuild matches only with the compiler the binary was built with (the README names
// it). test/native/page-cache.test.ts rebuilds it and fails unless the shipped bytes match.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const NATIVE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../native');
const SOURCE = 'page-cache.c';
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
  await buildHelper(BINARY);
  console.log(`built ${path.relative(process.cwd(), BINARY)}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
