// LevelDB maps each table file it reads, and those pages count in the agent's RSS as far as
// they were touched: compactions and batches read back for a sink under a backlog put 60-70 MiB
// of tables there (docs/architecture.md, "Where the memory goes"). With its mmap limit at 0 it
// reads tables with pread into its 8 MiB block cache instead. The limit is taken once, when
// LevelDB creates its default Env at the first open in the process, so openDb sets it before
// that through native/leveldb-mmap.c; where the helper cannot (another platform, another
// classic-level build), tables stay mapped as before and the reason is logged at start.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import './level.js'; // classic-level's binary must be loaded before it can be found and set
import { errorMessage } from '../../lib/errors.js';

interface MmapBinding {
  setTableMmapLimit(binary: string, limit: number): string;
}

/** The prebuilt helper for this platform, relative to dist/agent/buffer/. */
const HELPER_PATH = `../../../native/prebuilds/${process.platform}-${process.arch}/leveldb-mmap.node`;

/** The path classic-level's binary is mapped from (classic-level.node, or its musl build), or null. */
export function classicLevelBinary(maps: string): string | null {
  for (const line of maps.split('\n')) {
    const at = line.indexOf('/');
    if (at < 0) continue;
    const file = line.slice(at);
    if (/\/classic-level(\.[a-z]+)?\.node$/.test(file)) return file;
  }
  return null;
}

function unmap(): string {
  try {
    const binding = createRequire(import.meta.url)(HELPER_PATH) as MmapBinding;
    if (typeof binding.setTableMmapLimit !== 'function') return 'setTableMmapLimit is missing';
    const binary = classicLevelBinary(readFileSync('/proc/self/maps', 'utf8'));
    if (binary === null) return "classic-level's binary is not among the process's mappings";
    return binding.setTableMmapLimit(binary, 0);
  } catch (err) {
    return errorMessage(err);
  }
}

let outcome: string | null = null;

/**
 * Turns LevelDB's table mapping off for this process, once; call it before the first database
 * opens. Returns '' when set, else why not (the databases then work as before, mapped).
 */
export function unmapTableReads(): string {
  outcome ??= unmap();
  return outcome;
}
