// Bookkeeping shared by the soaks: which record ids were acknowledged, and how often each id
// appears in an archive directory (entries objects, plain or gzip).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { listFiles } from '../../test/helpers/entries.js';
import { parseObjectName } from '../../verify/layout.js';

/** A growable set of small non-negative integers (the ids handed out by the load). */
export class IdSet {
  private bits = new Uint8Array(1 << 16);
  size = 0;
  add(id: number): void {
    while (id >= this.bits.length) {
      const b = new Uint8Array(this.bits.length * 2);
      b.set(this.bits);
      this.bits = b;
    }
    if (this.bits[id] === 0) this.size++;
    this.bits[id] = 1;
  }
  has(id: number): boolean {
    return id < this.bits.length && this.bits[id] === 1;
  }
  *[Symbol.iterator](): IterableIterator<number> {
    for (let i = 0; i < this.bits.length; i++) if (this.bits[i] === 1) yield i;
  }
}

const ID_RE = /\{"key":"id","value":\{"stringValue":"(\d+)"\}\}/;

/** id -> number of archived entries carrying it (each entries object read once). */
export async function archivedIdCounts(archiveDir: string): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const name of await listFiles(archiveDir)) {
    const p = parseObjectName(name);
    if (!p || p.kind === 'checkpoint') continue;
    let data = await fs.readFile(path.join(archiveDir, name));
    if (p.kind === 'entries.gz') data = zlib.gunzipSync(data);
    for (const line of data.toString('utf8').split('\n')) {
      const m = ID_RE.exec(line);
      if (m) counts.set(Number(m[1]), (counts.get(Number(m[1])) ?? 0) + 1);
    }
  }
  return counts;
}

export interface Accounting {
  acked: number;
  archived: number; // distinct load ids in the archive (acknowledged or not: a killed request may have been written)
  lost: number; // acknowledged ids missing from the archive
  duplicates: number; // extra copies of ids archived more than once
  lostSample: number[];
}

export async function account(acked: IdSet, archiveDir: string): Promise<Accounting> {
  const counts = await archivedIdCounts(archiveDir);
  let duplicates = 0;
  for (const n of counts.values()) if (n > 1) duplicates += n - 1;
  const lostSample: number[] = [];
  let lost = 0;
  for (const id of acked) {
    if (!counts.has(id)) {
      lost++;
      if (lostSample.length < 10) lostSample.push(id);
    }
  }
  return { acked: acked.size, archived: counts.size, lost, duplicates, lostSample };
}
