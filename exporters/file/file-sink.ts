// The `file` sink: a write-once directory holding the shared archive layout (verify/layout.ts).
// Publishing an object, so that a crash never leaves a partial file under a final name and
// nothing is ever overwritten:
//   1. create `.tmp-<final>-<random>` in the object's directory with O_CREAT|O_EXCL, mode 0444;
//   2. write the bytes, fsync the file;
//   3. link(tmp, final): atomic and fails with EEXIST instead of replacing (rename would replace);
//   4. unlink tmp, fsync the directory (the new entry is durable only then);
//   5. optionally `chattr +i` (root only).
// Only then does put() resolve. An object already present is compared byte for byte:
// identical -> 'exists' (made durable again, in case an earlier attempt crashed before its
// fsync), different -> SINK_CONFLICT, and the existing file is never touched.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { errorMessage, SealtrailError } from '../../lib/errors.js';
import type { FileExporterConfig } from '../../config/types.js';
import { assertObjectName } from '../deliver.js';
import type { LogFn } from '../../lib/log.js';
import type { PutResult, Sink } from '../sink.js';
import { errnoOf, fsyncDir, mkdirDurable, sinkErrorFromFs } from './durable-fs.js';
import { dropCache, pageCacheUnavailable } from './page-cache.js';

const TMP_PREFIX = '.tmp-';

type Existing = 'absent' | 'same' | 'different';

export class FileSink implements Sink {
  readonly id: string;
  /** Absolute path of the archive root. */
  readonly directory: string;
  private readonly immutable: boolean;
  private readonly log: LogFn;
  /** Set after the first chattr failure: warn once, then stop trying. */
  private chattrDisabled = false;

  constructor(config: FileExporterConfig, log?: LogFn) {
    this.id = config.id;
    this.directory = path.resolve(config.directory);
    this.immutable = config.immutable;
    this.log = log ?? (() => {});
  }

  async start(): Promise<void> {
    try {
      await mkdirRootDurable(this.directory);
      const st = await fsp.stat(this.directory);
      if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    } catch (err) {
      throw new SealtrailError(
        'SINK_PERMANENT',
        `exporter ${this.id}: cannot create archive directory ${this.directory}: ${errorMessage(err)}`,
        { cause: err },
      );
    }
    await this.removeStaleTemps(this.directory);
    await this.probeHardLinks();
    if (pageCacheUnavailable !== '') {
      this.log('info', 'file sink: page-cache helper unavailable; written objects stay in the page cache', {
        exporter: this.id,
        reason: pageCacheUnavailable,
      });
    }
  }

  async put(name: string, body: Uint8Array): Promise<PutResult> {
    assertObjectName(name);
    const finalPath = this.pathOf(name);
    const dir = path.dirname(finalPath);

    const before = await this.compareExisting(finalPath, name, body);
    if (before !== 'absent') return this.settleExisting(before, finalPath, name);

    try {
      await mkdirDurable(this.directory, dir);
    } catch (err) {
      throw sinkErrorFromFs(err, 'create directory for', name);
    }

    const tmp = path.join(dir, `${TMP_PREFIX}${path.basename(finalPath)}-${randomBytes(6).toString('hex')}`);
    let linked = false;
    try {
      const fh = await fsp.open(tmp, 'wx', 0o444);
      try {
        await fh.writeFile(body);
        await fh.chmod(0o444); // independent of the umask
        await fh.sync();
        dropCache(fh.fd); // after the sync: only clean pages go, and a failure is harmless
      } finally {
        await fh.close();
      }
      try {
        await fsp.link(tmp, finalPath);
        linked = true;
      } catch (err) {
        if (errnoOf(err) !== 'EEXIST') throw err;
      }
    } catch (err) {
      await this.unlinkTemp(tmp);
      throw sinkErrorFromFs(err, 'write', name);
    }
    await this.unlinkTemp(tmp);

    // Lost a race with another writer of the same name: settle against what won.
    if (!linked) return this.settleExisting(await this.compareExisting(finalPath, name, body), finalPath, name);

    try {
      await fsyncDir(dir);
    } catch (err) {
      throw sinkErrorFromFs(err, 'fsync directory of', name);
    }
    if (this.immutable) await this.makeImmutable(finalPath);
    return 'written';
  }

  async get(name: string): Promise<Uint8Array | null> {
    assertObjectName(name);
    try {
      return new Uint8Array(await fsp.readFile(this.pathOf(name)));
    } catch (err) {
      const errno = errnoOf(err);
      if (errno === 'ENOENT' || errno === 'ENOTDIR') return null;
      throw sinkErrorFromFs(err, 'read', name);
    }
  }

  async close(): Promise<void> {
    // Nothing held open between calls: every put opens and closes its own descriptors.
  }

  private pathOf(name: string): string {
    return path.join(this.directory, ...name.split('/'));
  }

  /** Compares what is under the final name with `body` without modifying it. */
  private async compareExisting(finalPath: string, name: string, body: Uint8Array): Promise<Existing> {
    try {
      const st = await fsp.lstat(finalPath);
      // A directory or symlink occupying the name is not an object we wrote.
      if (!st.isFile() || st.size !== body.length) return 'different';
      const existing = await fsp.readFile(finalPath);
      return Buffer.compare(existing, body) === 0 ? 'same' : 'different';
    } catch (err) {
      const errno = errnoOf(err);
      if (errno === 'ENOENT' || errno === 'ENOTDIR') return 'absent';
      throw sinkErrorFromFs(err, 'read existing', name);
    }
  }

  private async settleExisting(state: Existing, finalPath: string, name: string): Promise<PutResult> {
    if (state === 'absent') {
      // link said EEXIST but the name is gone again: someone deletes from a write-once archive.
      throw new SealtrailError('SINK_TRANSIENT', `file sink: ${JSON.stringify(name)} vanished while being written`);
    }
    if (state === 'different') {
      throw new SealtrailError(
        'SINK_CONFLICT',
        `exporter ${this.id}: object ${name} already exists in ${this.directory} with different content; it was left untouched`,
      );
    }
    // An earlier attempt may have crashed between link and fsync: make it durable before acking.
    try {
      const fh = await fsp.open(finalPath, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsyncDir(path.dirname(finalPath));
    } catch (err) {
      throw sinkErrorFromFs(err, 'fsync existing', name);
    }
    if (this.immutable) await this.makeImmutable(finalPath);
    return 'exists';
  }

  private async unlinkTemp(tmp: string): Promise<void> {
    try {
      await fsp.unlink(tmp);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return;
      // Harmless for readers (the verifier reports unknown files as warnings); start() retries.
      this.log('warn', 'file sink: could not remove temporary file', { exporter: this.id, path: tmp, error: errorMessage(err) });
    }
  }

  /** chattr +i as root; any failure is logged once and the option is dropped for this run. */
  private async makeImmutable(finalPath: string): Promise<void> {
    if (this.chattrDisabled) return;
    if (process.getuid?.() !== 0) {
      this.chattrDisabled = true;
      this.log('warn', 'file sink: immutable requested but the agent is not root; files are only mode 0444', { exporter: this.id });
      return;
    }
    try {
      await new Promise<void>((resolve, reject) => {
        execFile('chattr', ['+i', finalPath], (err, _stdout, stderr) =>
          err ? reject(new Error(`${err.message} ${stderr}`.trim())) : resolve(),
        );
      });
    } catch (err) {
      this.chattrDisabled = true;
      this.log('warn', 'file sink: chattr +i failed; continuing without the immutable attribute', {
        exporter: this.id,
        path: finalPath,
        error: errorMessage(err),
      });
    }
  }

  /** Removes `.tmp-*` files a crash left behind. Never fails start-up. */
  private async removeStaleTemps(dir: string): Promise<void> {
    let entries;
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (err) {
      this.log('warn', 'file sink: cannot scan for stale temporary files', { exporter: this.id, path: dir, error: errorMessage(err) });
      return;
    }
    let removed = 0;
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await this.removeStaleTemps(p);
      else if (e.name.startsWith(TMP_PREFIX) && (e.isFile() || e.isSymbolicLink())) {
        try {
          await fsp.unlink(p);
          removed++;
        } catch (err) {
          this.log('warn', 'file sink: cannot remove stale temporary file', { exporter: this.id, path: p, error: errorMessage(err) });
        }
      }
    }
    if (removed > 0) {
      this.log('info', 'file sink: removed stale temporary files', { exporter: this.id, directory: dir, count: removed });
      await fsyncDir(dir).catch(() => {});
    }
  }

  /**
   * Publishing relies on hard links (link() never replaces, unlike rename()). A filesystem
   * without them would fail every put forever, so that fails start-up instead. A directory
   * that is merely unwritable right now is only a warning: puts retry until it is fixed.
   */
  private async probeHardLinks(): Promise<void> {
    const base = path.join(this.directory, `${TMP_PREFIX}probe-${randomBytes(6).toString('hex')}`);
    try {
      await (await fsp.open(base, 'wx', 0o444)).close();
    } catch (err) {
      this.log('warn', 'file sink: archive directory is not writable now; deliveries will retry', {
        exporter: this.id,
        directory: this.directory,
        error: errorMessage(err),
      });
      return;
    }
    try {
      await fsp.link(base, `${base}.link`);
      await fsp.unlink(`${base}.link`);
    } catch (err) {
      throw new SealtrailError(
        'SINK_PERMANENT',
        `exporter ${this.id}: ${this.directory} does not support hard links, which write-once publishing needs: ${errorMessage(err)}`,
        { cause: err },
      );
    } finally {
      await fsp.unlink(base).catch(() => {});
    }
  }
}

/** mkdir -p of the archive root, fsyncing the parent of every directory it creates. */
async function mkdirRootDurable(root: string): Promise<void> {
  const first = await fsp.mkdir(root, { recursive: true, mode: 0o755 });
  if (first === undefined) return;
  const created: string[] = [];
  for (let p = root; ; p = path.dirname(p)) {
    created.push(p);
    if (p === first || p === path.dirname(p)) break;
  }
  for (const c of created.reverse()) await fsyncDir(path.dirname(c));
}
