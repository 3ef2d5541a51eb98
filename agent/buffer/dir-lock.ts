// One agent per data directory. A second agent must fail before it touches anything (keys,
// buffer, archive), with the directory and the holder's pid in the message: a held lock is
// never mistaken for a damaged buffer.
//
// The lock is <data_dir>/sealtrail.lock, created with O_EXCL and holding the owner's pid and
// the kernel's start time of that process (field 22 of /proc/<pid>/stat), so a lock left by a
// process that died (kill -9) is recognised as stale even when its pid was reused. LevelDB's
// own LOCK (fcntl, released by the kernel) stays as the second guard.
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { SealtrailError } from '../../lib/errors.js';

export const LOCK_FILE = 'sealtrail.lock';

interface Holder {
  pid: number;
  start: string; // process start time in clock ticks since boot, '' when unknown
}

function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and ')'; fields after the last ')' are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? '';
  } catch {
    return null; // no such process (or no /proc: treated below)
  }
}

function alive(h: Holder): boolean {
  const start = processStart(h.pid);
  if (start === null) {
    try {
      process.kill(h.pid, 0);
      return true; // exists but /proc is unreadable: assume it is the holder
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  return h.start === '' || start === h.start;
}

function parseHolder(text: string): Holder | null {
  const m = /^pid=(\d+) start=(\d*)\n?$/.exec(text);
  if (!m) return null;
  return { pid: Number(m[1]), start: m[2]! };
}

export class DataDirLock {
  private constructor(private readonly file: string) {}

  /** Takes the lock or throws DATA_DIR_IN_USE naming the directory and the holder. */
  static async acquire(dataDir: string): Promise<DataDirLock> {
    const file = path.join(dataDir, LOCK_FILE);
    const me = `pid=${process.pid} start=${processStart(process.pid) ?? ''}\n`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fh = await fs.open(file, 'wx', 0o644);
        try {
          await fh.writeFile(me);
          await fh.sync();
        } finally {
          await fh.close();
        }
        return new DataDirLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new SealtrailError('STORAGE', `cannot create the lock ${file}: ${(err as Error).message}`, { cause: err });
        }
      }
      const text = await fs.readFile(file, 'utf8').catch(() => null);
      if (text === null) continue; // removed meanwhile: try again
      const holder = parseHolder(text);
      if (holder !== null && holder.pid !== process.pid && alive(holder)) {
        throw new SealtrailError(
          'DATA_DIR_IN_USE',
          `data directory ${dataDir} is in use by another sealtrail agent (pid ${holder.pid}); stop it or use another agent.data_dir`,
        );
      }
      // Stale (its process is gone) or unreadable: a crashed agent's lock. Replace it.
      await fs.rm(file, { force: true });
    }
    throw new SealtrailError('DATA_DIR_IN_USE', `data directory ${dataDir}: could not take ${file} (another agent is starting?)`);
  }

  async release(): Promise<void> {
    await fs.rm(this.file, { force: true });
  }
}
