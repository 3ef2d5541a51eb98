// The gateway's durable per-origin state (<data_dir>/gateway/origins/<sha256(origin)>.json),
// written atomically (temp file, fsync, rename, fsync of the directory) before a batch is
// acknowledged, so a gateway killed at any moment never forgets a checkpoint it accepted.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { OriginState } from './verify-batch.js';

export class OriginStore {
  private readonly cache = new Map<string, OriginState | null>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly dir: string) {}

  async open(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
  }

  private file(origin: string): string {
    return path.join(this.dir, `${createHash('sha256').update(origin).digest('hex')}.json`);
  }

  async get(origin: string): Promise<OriginState | null> {
    if (this.cache.has(origin)) return this.cache.get(origin)!;
    let state: OriginState | null = null;
    try {
      state = JSON.parse(await fs.readFile(this.file(origin), 'utf8')) as OriginState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.cache.set(origin, state);
    return state;
  }

  async put(state: OriginState): Promise<void> {
    const file = this.file(state.origin);
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    const h = await fs.open(tmp, 'wx', 0o600);
    try {
      await h.writeFile(JSON.stringify(state));
      await h.sync();
    } finally {
      await h.close();
    }
    await fs.rename(tmp, file);
    const d = await fs.open(this.dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
    this.cache.set(state.origin, state);
  }

  /** Runs `fn` with no other call for the same origin in flight (batches of one origin are serial). */
  async exclusive<T>(origin: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(origin) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(origin, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(origin) === tail) this.locks.delete(origin);
    }
  }
}
