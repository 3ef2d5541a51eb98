// ArchiveReader over a local directory (the file sink's layout). Node-only; the verifier
// itself sees only the ArchiveReader interface.
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { ArchiveReader } from './archive.js';
import { VerifyError } from './errors.js';

const CHUNK = 1024 * 1024;

export class DirArchiveReader implements ArchiveReader {
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = root;
  }

  async *list(): AsyncIterable<string> {
    const names: string[] = [];
    await walk(this.root, '', names);
    names.sort(); // '/'-joined relative names in code-unit order, as object stores list them
    yield* names;
  }

  async *open(name: string): AsyncIterable<Uint8Array> {
    // Names come from list() or from a user; refuse anything escaping the root.
    const parts = name.split('/');
    if (parts.some((p) => p === '' || p === '.' || p === '..'))
      throw new VerifyError('NOT_FOUND', `invalid object name ${JSON.stringify(name)}`);
    const file = path.join(this.root, ...parts);
    // A FIFO or device would block or never end; only regular files (or links to them) are objects.
    if (!(await fs.stat(file)).isFile()) throw new VerifyError('IO', `${name} is not a regular file`);
    for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) yield chunk as Buffer;
  }
}

async function walk(dir: string, rel: string, out: string[]): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) await walk(path.join(dir, e.name), r, out);
    else out.push(r); // files, and anything else (symlinks...) so that it is reported, not hidden
  }
}
