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
