// Drops an archive file's pages from the page cache once they are on disk. Archive objects are
// written once and never read back by the agent, so their cached pages only cost: on a VM
// guest, filling pages it has never touched costs several times more kernel time than reusing
// freed ones (docs/architecture.md has the measurement). Node has no posix_fadvise, so this
// uses the small Node-API helper in native/; where it cannot load (another platform), files
// simply stay cached, as before.
import { createRequire } from 'node:module';
import { errorMessage } from '../../lib/errors.js';

interface PageCacheBinding {
  dropCache(fd: number): number;
}

/** The prebuilt helper for this platform, relative to dist/exporters/file/. */
const HELPER_PATH = `../../../native/prebuilds/${process.platform}-${process.arch}/page-cache.node`;

function load(): { binding: PageCacheBinding | null; reason: string } {
  try {
    const binding = createRequire(import.meta.url)(HELPER_PATH) as PageCacheBinding;
    if (typeof binding.dropCache !== 'function') return { binding: null, reason: 'dropCache is missing' };
    return { binding, reason: '' };
  } catch (err) {
    return { binding: null, reason: errorMessage(err) };
  }
}

const loaded = load();

/** Why the helper is not in use ('' when it is). */
export const pageCacheUnavailable = loaded.reason;

/**
 * Asks the kernel to drop the clean cached pages of `fd` (call it after fsync: dirty pages are
 * left alone, so durability never depends on it). Returns 0, the errno number, or -1 when the
 * helper is unavailable. Advice only: callers ignore failures.
 */
export function dropCache(fd: number): number {
  return loaded.binding ? loaded.binding.dropCache(fd) : -1;
}
