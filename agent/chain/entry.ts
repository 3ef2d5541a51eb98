// Entry encoding, format v1 (docs/formats.md). One entry is one line of UTF-8 JSON:
//   {"v":1,"seq":N,"prev":"<64 hex>","time":"<RFC 3339 UTC>","env":"<env>",
//    "resource":{...},"scope":{...},"record":{...}}
// entry hash = SHA-256(0x00 || line bytes) -- also the RFC 6962 leaf hash.
// Keys are written in this fixed order; verifiers never re-encode, they hash stored bytes.
import { leafHash } from '../../verify/merkle.js';

export const ENTRY_VERSION = 1;
export const ZERO_HASH_HEX = '0'.repeat(64);

/** What a caller supplies for one entry, each part canonical OTLP/JSON; seq, prev, time and env are the chain's. */
export interface EntryParts {
  resource: string;
  scope: string;
  record: string;
}

/** Builds the entry line (no trailing newline). `envJson` is JSON.stringify(env), cached by callers. */
export function encodeEntry(seq: number, prevHex: string, time: string, envJson: string, p: EntryParts): string {
  return `{"v":1,"seq":${seq},"prev":"${prevHex}","time":"${time}","env":${envJson},"resource":${p.resource},"scope":${p.scope},"record":${p.record}}`;
}

// The longest values the envelope can carry: seq is a safe integer (16 digits at most) and
// Date#toISOString() writes at most 27 characters (expanded years, e.g. +275760-09-13T...).
const MAX_SEQ = Number.MAX_SAFE_INTEGER;
const LONGEST_TIME = new Date(8.64e15).toISOString();

/**
 * Upper bound of the UTF-8 bytes an entry line has beyond its resource, scope and record text
 * for environment `env`, so line bytes <= overhead + bytes(resource + scope + record). The
 * decoders use it to keep every line under max_entry_size before anything is chained.
 */
export function entryOverheadBytes(env: string): number {
  return Buffer.byteLength(
    encodeEntry(MAX_SEQ, ZERO_HASH_HEX, LONGEST_TIME, JSON.stringify(env), { resource: '', scope: '', record: '' }),
    'utf8',
  );
}

export function entryHash(line: Uint8Array): Uint8Array {
  return leafHash(line);
}

/**
 * The entries of one append as bytes, ready to chain: tail i is bytes[ends[i-1] (0 for i = 0),
 * ends[i]) and holds what follows the envelope: `,"resource":R,"scope":S,"record":REC}`. Built
 * once per request, off the JavaScript heap, so the decoded strings die young instead of
 * waiting in the writer's queue (and being promoted and marked) until the fsync.
 */
export interface EntryTails {
  bytes: Buffer;
  ends: Uint32Array;
}

/** Encodes `items` as entry tails (UTF-8). Records sharing resource and scope share one head. */
export function encodeTails(items: readonly EntryParts[]): EntryTails {
  const n = items.length;
  const recLen = new Uint32Array(n);
  const heads: Buffer[] = new Array<Buffer>(n);
  let total = 0;
  let res: string | null = null;
  let scope: string | null = null;
  let head: Buffer = EMPTY;
  for (let i = 0; i < n; i++) {
    const it = items[i]!;
    if (it.resource !== res || it.scope !== scope) {
      res = it.resource;
      scope = it.scope;
      head = tailHead(res, scope);
    }
    heads[i] = head;
    recLen[i] = Buffer.byteLength(it.record, 'utf8');
    total += head.length + recLen[i]! + 1;
  }
  const bytes = Buffer.allocUnsafe(total);
  const ends = new Uint32Array(n);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    pos += heads[i]!.copy(bytes, pos);
    pos += bytes.write(items[i]!.record, pos, recLen[i]!, 'utf8');
    bytes[pos++] = 0x7d; // '}'
    ends[i] = pos;
  }
  return { bytes, ends };
}

const EMPTY: Buffer = Buffer.alloc(0);

function tailHead(resource: string, scope: string): Buffer {
  return Buffer.from(`,"resource":${resource},"scope":${scope},"record":`, 'utf8');
}
