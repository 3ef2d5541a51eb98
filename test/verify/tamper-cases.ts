// The tamper cases, as data: each edits a copy of a valid archive and names the
// problem `sealtrail verify` must report (code, object, seq). Shared by the library tests
// (fixture archives) and the command-line tamper suite (archives written by the real agent).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { encodeEntry, entryHash } from '../../agent/chain/entry.js';
import type { NoteSigner } from '../../agent/keys/signer.js';
import { formatCheckpointBody, parseCheckpointBody, parseNote } from '../../verify/note.js';
import { checkpointObjectName, parseObjectName, pos } from '../../verify/layout.js';
import { readLines, writeLines } from './fixtures.js';

export interface ArchiveBatch {
  start: number;
  end: number;
  entries: string; // object name
  checkpoint: string;
}

export interface ArchiveUnderTest {
  dir: string;
  origin: string;
  batches: ArchiveBatch[];
}

export interface Expectation {
  code: string;
  object: string;
  seq?: number;
}

export interface TamperCase {
  name: string;
  /** Needs a .gz batch. */
  gzip?: boolean;
  /** Edits `a` in place; returns what verify must report, and trusted notes to pass. */
  apply(a: ArchiveUnderTest, ctx: { signer: NoteSigner; otherSigner: NoteSigner }): Promise<{ expect: Expectation; trusted?: string[] }>;
}

/** Lists the batches of the single origin in `dir`. */
export async function scanArchive(dir: string): Promise<ArchiveUnderTest> {
  const names: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path.join(d, e.name), r);
      else names.push(r);
    }
  };
  await walk(dir, '');
  const byRange = new Map<string, ArchiveBatch>();
  let origin = '';
  for (const n of names.sort()) {
    const p = parseObjectName(n);
    if (!p) throw new Error(`unexpected object ${n}`);
    if (origin && origin !== p.origin) throw new Error(`more than one origin in ${dir}`);
    origin = p.origin;
    const k = `${p.start}-${p.end}`;
    const b = byRange.get(k) ?? { start: p.start, end: p.end, entries: '', checkpoint: '' };
    if (p.kind === 'checkpoint') b.checkpoint = n;
    else b.entries = n;
    byRange.set(k, b);
  }
  const batches = [...byRange.values()].sort((x, y) => x.start - y.start);
  return { dir, origin, batches };
}

const file = (a: ArchiveUnderTest, name: string): string => path.join(a.dir, ...name.split('/'));

async function writable(f: string): Promise<void> {
  await fs.chmod(f, 0o644); // sinks leave objects 0444
}

/** The middle batch: not the first (genesis) nor the last, with at least 3 entries. */
export function target(a: ArchiveUnderTest): ArchiveBatch {
  const b = a.batches.slice(1, -1).find((x) => x.end - x.start >= 3);
  if (!b) throw new Error('archive needs a middle batch with at least 3 entries');
  return b;
}

async function editLines(a: ArchiveUnderTest, b: ArchiveBatch, edit: (lines: string[]) => string[]): Promise<void> {
  const f = file(a, b.entries);
  const lines = await readLines(f);
  await writable(f);
  await writeLines(f, edit(lines));
}

async function readNote(a: ArchiveUnderTest, name: string): Promise<string> {
  return fs.readFile(file(a, name), 'utf8');
}

async function rewriteFile(a: ArchiveUnderTest, name: string, data: string | Uint8Array): Promise<void> {
  const f = file(a, name);
  await writable(f);
  await fs.writeFile(f, data);
}

function hex(u: Uint8Array): string {
  return Buffer.from(u).toString('hex');
}

export const TAMPER_CASES: TamperCase[] = [
  {
    name: 'an edited body, with the JSON kept valid',
    async apply(a) {
      const b = target(a);
      await editLines(a, b, (l) => {
        const i = 1;
        // Change one digit inside the record (e.g. its timestamp); the JSON stays valid.
        const at = l[i]!.indexOf('"record":');
        const out = l[i]!.slice(0, at) + l[i]!.slice(at).replace(/[0-8]/, (d) => String(Number(d) + 1));
        if (out === l[i]) throw new Error('edit did not change the line');
        JSON.parse(out);
        l[i] = out;
        return l;
      });
      return { expect: { code: 'ENTRY_HASH_MISMATCH', object: b.entries, seq: b.start + 1 } };
    },
  },
  {
    name: 'a deleted line',
    async apply(a) {
      const b = target(a);
      await editLines(a, b, (l) => (l.splice(1, 1), l));
      return { expect: { code: 'SEQ_GAP', object: b.entries, seq: b.start + 1 } };
    },
  },
  {
    name: 'swapped lines',
    async apply(a) {
      const b = target(a);
      await editLines(a, b, (l) => {
        [l[0], l[1]] = [l[1]!, l[0]!];
        return l;
      });
      return { expect: { code: 'SEQ_REORDER', object: b.entries, seq: b.start } };
    },
  },
  {
    name: 'an inserted forged line',
    async apply(a) {
      const b = target(a);
      await editLines(a, b, (l) => {
        // A well-formed forgery: the right seq and a correct prev link to the entry before it.
        const prevLine = l[0]!;
        const prev = hex(entryHash(Buffer.from(prevLine, 'utf8')));
        const orig = JSON.parse(l[1]!) as { seq: number; time: string; env: string };
        const forged = encodeEntry(orig.seq, prev, orig.time, JSON.stringify(orig.env), {
          resource: '{}',
          scope: '{}',
          record: '{"body":{"stringValue":"forged"},"attributes":[{"key":"audit","value":{"boolValue":true}}]}',
        });
        l.splice(1, 0, forged);
        return l;
      });
      return { expect: { code: 'SEQ_DUPLICATE', object: b.entries, seq: b.start + 1 } };
    },
  },
  {
    name: 'a deleted batch (entries object and checkpoint)',
    async apply(a) {
      const b = target(a);
      await fs.rm(file(a, b.entries));
      await fs.rm(file(a, b.checkpoint));
      return { expect: { code: 'MISSING_BATCH', object: `${a.origin}/${pos(b.start)}-${pos(b.end)}`, seq: b.start } };
    },
  },
  {
    name: 'only the entries object deleted',
    async apply(a) {
      const b = target(a);
      await fs.rm(file(a, b.entries));
      return { expect: { code: 'MISSING_ENTRIES', object: b.checkpoint, seq: b.start } };
    },
  },
  {
    name: 'only the checkpoint deleted',
    async apply(a) {
      const b = target(a);
      await fs.rm(file(a, b.checkpoint));
      return { expect: { code: 'MISSING_CHECKPOINT', object: b.entries, seq: b.start } };
    },
  },
  {
    name: 'a checkpoint re-signed by another key',
    async apply(a, { otherSigner }) {
      const b = target(a);
      const note = parseNote(await readNote(a, b.checkpoint));
      await rewriteFile(a, b.checkpoint, otherSigner.signNote(note.text));
      return { expect: { code: 'UNKNOWN_KEY', object: b.checkpoint, seq: b.start } };
    },
  },
  {
    name: 'a checkpoint whose root was edited',
    async apply(a) {
      const b = target(a);
      const text = await readNote(a, b.checkpoint);
      const lines = text.split('\n');
      const root = Buffer.from(lines[2]!, 'base64');
      root[0] = root[0]! ^ 1;
      lines[2] = root.toString('base64');
      await rewriteFile(a, b.checkpoint, lines.join('\n'));
      return { expect: { code: 'BAD_SIGNATURE', object: b.checkpoint, seq: b.start } };
    },
  },
  {
    name: 'history rewritten from some point with recomputed prev links, without the key',
    async apply(a) {
      const b = target(a);
      // Rewrite from the second entry of the target batch to the very end, relinking each prev.
      let prev: string | null = null;
      for (const x of a.batches.filter((y) => y.start >= b.start)) {
        await editLines(a, x, (l) =>
          l.map((line, i) => {
            const seq = x.start + i;
            if (seq < b.start + 1) {
              prev = hex(entryHash(Buffer.from(line, 'utf8')));
              return line;
            }
            const o = JSON.parse(line) as { time: string; env: string; resource: unknown; scope: unknown; record: unknown };
            const out = encodeEntry(seq, prev!, o.time, JSON.stringify(o.env), {
              resource: JSON.stringify(o.resource),
              scope: JSON.stringify(o.scope),
              record: '{"body":{"stringValue":"rewritten"},"attributes":[{"key":"audit","value":{"boolValue":true}}]}',
            });
            prev = hex(entryHash(Buffer.from(out, 'utf8')));
            return out;
          }),
        );
      }
      return { expect: { code: 'ROOT_MISMATCH', object: b.checkpoint, seq: b.start } };
    },
  },
  {
    name: 'a compressed batch with a flipped byte',
    gzip: true,
    async apply(a) {
      const b = target(a);
      const f = file(a, b.entries);
      if (!f.endsWith('.gz')) throw new Error('needs a gzip archive');
      const buf = await fs.readFile(f);
      const at = 10 + Math.floor((buf.length - 18) / 2); // inside the deflate data, past the 10-byte header
      buf[at] = buf[at]! ^ 0x10;
      await writable(f);
      await fs.writeFile(f, buf);
      return { expect: { code: 'CORRUPT_OBJECT', object: b.entries, seq: b.start } };
    },
  },
  {
    name: 'tail truncation, caught with a later trusted checkpoint',
    async apply(a) {
      const last = a.batches[a.batches.length - 1]!;
      const trusted = await readNote(a, last.checkpoint);
      await fs.rm(file(a, last.entries));
      await fs.rm(file(a, last.checkpoint));
      return {
        expect: { code: 'TRUNCATED', object: `${a.origin}/${pos(last.start)}-${pos(last.end)}`, seq: last.start },
        trusted: [trusted],
      };
    },
  },
  {
    name: 'a fork: two checkpoints of one size with different roots',
    async apply(a, { signer }) {
      const b = target(a);
      const cp = parseCheckpointBody(parseNote(await readNote(a, b.checkpoint)).text);
      const root = Uint8Array.from(cp.root);
      root[31] = root[31]! ^ 0x80;
      // Signed with the real key: a key holder publishing a second history of the same size.
      const forkStart = b.start + 1;
      const name = checkpointObjectName(a.origin, forkStart, b.end);
      await fs.writeFile(file(a, name), signer.signNote(formatCheckpointBody(a.origin, b.end, root)));
      return { expect: { code: 'FORK', object: name, seq: forkStart } };
    },
  },
];

/** Adds an unreferenced file: a warning, not a failure. */
export async function addUnreferenced(a: ArchiveUnderTest): Promise<string> {
  const name = `${a.origin}/notes.txt`;
  await fs.writeFile(file(a, name), 'not part of the archive\n');
  return name;
}

export async function copyArchive(from: string, to: string): Promise<void> {
  await fs.cp(from, to, { recursive: true });
}
