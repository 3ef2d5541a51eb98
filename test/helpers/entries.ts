// Collects every entry of a test agent: delivered ones from the archive directory and
// undelivered ones from the (stopped) agent's buffer, and checks the hash chain.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { leafHash } from '../../verify/merkle.js';
import { parseObjectName } from '../../verify/layout.js';
import { readBuffer } from './buffer.js';

export interface Entry {
  seq: number;
  line: string;
  json: {
    v: number;
    seq: number;
    prev: string;
    time: string;
    env: string;
    resource: { attributes?: Array<{ key: string; value: Record<string, unknown> }> };
    scope: { name?: string; version?: string };
    record: {
      timeUnixNano?: string;
      observedTimeUnixNano?: string;
      severityNumber?: number;
      severityText?: string;
      body?: Record<string, unknown>;
      attributes?: Array<{ key: string; value: Record<string, unknown> }>;
      traceId?: string;
      spanId?: string;
      flags?: number;
      eventName?: string;
    };
  };
}

export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string, rel: string): Promise<void> {
    let items;
    try {
      items = await fs.readdir(d, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const it of items) {
      const r = rel ? `${rel}/${it.name}` : it.name;
      if (it.isDirectory()) await walk(path.join(d, it.name), r);
      else out.push(r);
    }
  }
  await walk(dir, '');
  return out.sort();
}

/** Entries in the archive directory, by seq (throws if one seq appears with different bytes). */
export async function archiveEntries(archiveDir: string): Promise<Map<number, string>> {
  const bySeq = new Map<number, string>();
  for (const name of await listFiles(archiveDir)) {
    const p = parseObjectName(name);
    if (!p || p.kind === 'checkpoint') continue;
    let data = await fs.readFile(path.join(archiveDir, name));
    if (p.kind === 'entries.gz') data = zlib.gunzipSync(data);
    const lines = data.toString('utf8').split('\n');
    if (lines.pop() !== '') throw new Error(`${name} does not end with a newline`);
    lines.forEach((l, i) => put(bySeq, p.start + i, l, name));
  }
  return bySeq;
}

function put(m: Map<number, string>, seq: number, line: string, where: string): void {
  const old = m.get(seq);
  if (old !== undefined && old !== line) throw new Error(`seq ${seq} has two different entries (${where})`);
  m.set(seq, line);
}

/** All entries (archive ∪ buffer), checked to form one gap-free hash chain from seq 0. */
export async function allEntries(dir: string, archiveDir = path.join(dir, 'archive')): Promise<Entry[]> {
  const bySeq = await archiveEntries(archiveDir);
  const buf = await readBuffer(path.join(dir, 'data'));
  for (const e of buf.entries) put(bySeq, e.seq, e.line, 'buffer');
  const size = buf.head?.chain.size ?? bySeq.size;
  const out: Entry[] = [];
  let prev = '0'.repeat(64);
  for (let seq = 0; seq < size; seq++) {
    const line = bySeq.get(seq);
    if (line === undefined) throw new Error(`entry ${seq} is missing from both archive and buffer (chain size ${size})`);
    const json = JSON.parse(line) as Entry['json'];
    if (json.seq !== seq) throw new Error(`entry at ${seq} says seq ${json.seq}`);
    if (json.prev !== prev) throw new Error(`entry ${seq} does not link to entry ${seq - 1}`);
    prev = Buffer.from(leafHash(Buffer.from(line, 'utf8'))).toString('hex');
    out.push({ seq, line, json });
  }
  if (bySeq.size !== size) throw new Error(`found ${bySeq.size} entries but the chain head says ${size}`);
  return out;
}

export function attr(e: Entry, key: string): unknown {
  const kv = e.json.record.attributes?.find((a) => a.key === key);
  if (!kv) return undefined;
  const v = kv.value;
  return v.stringValue ?? v.boolValue ?? v.intValue ?? v.doubleValue;
}

export const isOwn = (e: Entry): boolean => (e.json.record.eventName ?? '').startsWith('sealtrail.');
