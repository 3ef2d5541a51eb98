// Builds the Node-API helpers in native/ into native/prebuilds/<platform>-<arch>/, the binaries
// the package ships (npm runs no install scripts here, so users never compile them):
//   npm run build:native
//  - page-cache.c -> page-cache.node: the file sink drops written objects from the page cache;
//  - chain-append.c -> chain-append.node: the chain writes and hashes its entries in one call;
//  - leveldb-mmap.c -> leveldb-mmap.node: LevelDB reads its tables without mapping them;
//  - leveldb-crc32c.c -> leveldb-crc32c.node: LevelDB's checksums use the CPU's CRC32C instruction.
// The build is reproducible: stripped, no paths or dates inside; the compiler's version string
// is, so a rebuild matches only with the compiler the binaries were built with (the README names
// it). test/native/*.test.ts rebuild them and fail unless the shipped bytes match.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const NATIVE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../native');
const PREBUILDS = path.join(NATIVE_DIR, 'prebuilds', `${process.platform}-${process.arch}`);

export type Helper = 'page-cache' | 'chain-append' | 'leveldb-mmap' | 'leveldb-crc32c';
export const HELPERS: readonly Helper[] = ['page-cache', 'chain-append', 'leveldb-mmap', 'leveldb-crc32c'];

/** The shipped binary of `helper` for this platform. */
export function binaryOf(helper: Helper): string {
  return path.join(PREBUILDS, `${helper}.node`);
}

/** Compiles `helper`'s source into `out` with the system C compiler (CC, or cc). */
export async function buildHelper(helper: Helper, out: string): Promise<void> {
  const headers = (createRequire(import.meta.url)('node-api-headers') as { include_dir: string }).include_dir;
  // -z now: every symbol (OpenSSL's, from node) is bound when the helper loads, so a Node
  // without them fails the load, which the loaders handle, instead of the first call.
  const flags = ['-O2', '-fPIC', '-shared', '-s', '-Wl,-z,now', '-Wall', '-Wextra', '-Werror', '-I', headers];
  await fs.mkdir(path.dirname(out), { recursive: true });
  // Relative source name, run from native/: nothing of the checkout's path reaches the binary.
  await run(process.env.CC ?? 'cc', [...flags, '-o', out, `${helper}.c`], { cwd: NATIVE_DIR });
}

async function main(): Promise<void> {
  for (const helper of HELPERS) {
    await buildHelper(helper, binaryOf(helper));
    console.log(`built ${path.relative(process.cwd(), binaryOf(helper))}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
