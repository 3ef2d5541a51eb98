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

export function entryHash(line: Uint8Array): Uint8Array {
  return leafHash(line);
}
