// Fills a small real filesystem (a tmpfs the test mounted) to the last byte.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';

/** Writes `file` until the filesystem holding it is full: 64 KiB chunks, then 512 B, then single bytes. */
export async function fillDisk(file: string): Promise<void> {
  const fh = await fs.open(file, 'w');
  try {
    for (const size of [1 << 16, 512, 1]) {
      const chunk = Buffer.alloc(size, 0x61);
      try {
        for (;;) await fh.write(chunk);
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
      }
    }
  } finally {
    await fh.close();
  }
}
