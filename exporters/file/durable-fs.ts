// Small durable-filesystem helpers for the file sink: fsync of directories, mkdir -p that
// makes each new directory entry durable, and the errno -> sink error mapping.
// A rename/link is only durable once the directory holding the new entry is fsynced
// (POSIX says nothing about directory entries surviving a crash otherwise).

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SealtrailError } from '../../lib/errors.js';

/** fsyncs a directory so entries created or removed in it survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Creates `dir` and any missing ancestors below `root` (root itself included), fsyncing the
 * parent of each directory created so the new entry is durable before a file is put there.
 * Requires `dir` to be `root` or inside it.
 */
export async function mkdirDurable(root: string, dir: string): Promise<void> {
  const rel = path.relative(root, dir);
  const parts = rel === '' ? [] : rel.split(path.sep);
  let current = root;
  if (await mkdirOne(root)) await fsyncDir(path.dirname(root));
  for (const part of parts) {
    const parent = current;
    current = path.join(current, part);
    if (await mkdirOne(current)) await fsyncDir(parent);
  }
}

/** mkdir that reports whether it created the directory; an existing one is fine. */
async function mkdirOne(dir: string): Promise<boolean> {
  try {
    await fsp.mkdir(dir, { mode: 0o755 });
    return true;
  } catch (err) {
    if (errnoOf(err) === 'EEXIST') return false;
    throw err;
  }
}

export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

// Conditions an operator can fix (permissions, read-only or full disk, chattr +i, a file where
// a directory should be, I/O errors): retried forever by the forwarder. Anything not listed is
// treated as transient too, since giving up on audit data is never the safe default.
const PERMANENT_ERRNO: ReadonlySet<string> = new Set(['ENAMETOOLONG', 'EINVAL', 'ELOOP']);

/** Maps a filesystem error during `op` on object `name` to a coded sink error. */
export function sinkErrorFromFs(err: unknown, op: string, name: string): SealtrailError {
  if (err instanceof SealtrailError) return err;
  const errno = errnoOf(err) ?? 'UNKNOWN';
  const code = PERMANENT_ERRNO.has(errno) ? 'SINK_PERMANENT' : 'SINK_TRANSIENT';
  const detail = err instanceof Error ? err.message : String(err);
  return new SealtrailError(code, `file sink: ${op} ${JSON.stringify(name)} failed (${errno}): ${detail}`, { cause: err });
}
