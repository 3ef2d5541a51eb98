// LevelDB checksums every log record and table block with CRC-32C. classic-level's prebuilt
// binary computes it in portable code, 9 % of the agent's CPU under load (docs/architecture.md);
// native/leveldb-crc32c.c defines the same function with the CPU's CRC32C instruction. That
// binary calls it through its PLT, so the helper, loaded into the global scope before
// classic-level's binary loads, is the one it binds to. Import ClassicLevel through level.ts,
// which imports this module first. Where the helper cannot load (another platform or C library),
// LevelDB keeps its own code and the reason is logged at start; the bytes written are the same.
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { errorMessage } from '../../lib/errors.js';

interface Crc32cBinding {
  crc32c(bytes: Uint8Array, init: number, useHardware: boolean): number;
  state(): { hardware: boolean; calls: number };
}

/** The prebuilt helper for this platform, relative to dist/agent/buffer/. */
const HELPER_PATH = `../../../native/prebuilds/${process.platform}-${process.arch}/leveldb-crc32c.node`;

function load(): Crc32cBinding | string {
  try {
    const module = { exports: {} as Partial<Crc32cBinding> };
    const { RTLD_NOW, RTLD_GLOBAL } = os.constants.dlopen;
    if (RTLD_NOW === undefined || RTLD_GLOBAL === undefined) return 'this platform has no RTLD_GLOBAL';
    process.dlopen(module, fileURLToPath(new URL(HELPER_PATH, import.meta.url)), RTLD_NOW | RTLD_GLOBAL);
    const b = module.exports;
    if (typeof b.crc32c !== 'function' || typeof b.state !== 'function') return 'the helper lacks crc32c or state';
    return b as Crc32cBinding;
  } catch (err) {
    return errorMessage(err);
  }
}

/** Loaded when this module is evaluated: it must precede classic-level's binary. */
const loaded = load();

/** The helper, or null where it did not load (for the tests). */
export const crc32cHelper: Crc32cBinding | null = typeof loaded === 'string' ? null : loaded;

/**
 * '' when LevelDB's checksums run on the CPU's CRC32C instruction, else why not. Call it after
 * a database has opened: opening writes checksummed records, so a helper that LevelDB did not
 * bind to shows no calls.
 */
export function crc32cUnavailable(): string {
  if (typeof loaded === 'string') return loaded;
  const { hardware, calls } = loaded.state();
  if (calls === 0) return "LevelDB did not bind to the helper (classic-level's binary loaded first?)";
  if (!hardware) return 'this CPU has no SSE 4.2; the helper computes CRC-32C from a table';
  return '';
}
