// Reads the two fields the chain check needs -- "seq" and "prev" -- from an entry line
// (format v1, agent/chain/entry.ts) without decoding the rest. The agent always writes
//   {"v":1,"seq":<N>,"prev":"<64 lowercase hex>",...
// so that prefix is read straight from the bytes; any other shape falls back to a full
// JSON.parse, so a line written by another conforming encoder still verifies.
// Lines are attacker-controlled: every failure is a returned message, never a throw.

export type ParsedEntryHead =
  { ok: true; seq: number; prevHex: string | null; prevAt: number; line: Uint8Array } | { ok: false; reason: string };

const PREFIX = new TextEncoder().encode('{"v":1,"seq":');
const PREV = new TextEncoder().encode(',"prev":"');
const HEX = '0123456789abcdef';
const HEX_CODES = new TextEncoder().encode(HEX);

function startsWithAt(line: Uint8Array, lit: Uint8Array, at: number): boolean {
  if (line.length < at + lit.length) return false;
  for (let i = 0; i < lit.length; i++) if (line[at + i] !== lit[i]) return false;
  return true;
}

function isHexAt(line: Uint8Array, at: number): boolean {
  for (let i = at; i < at + 64; i++) {
    const c = line[i]!;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses seq and prev. On the fast path `prevAt` is the byte offset of the 64 hex digits in
 * `line` and prevHex is null (compare with prevMatches); on the slow path prevHex is set.
 */
export function parseEntryHead(line: Uint8Array): ParsedEntryHead {
  if (startsWithAt(line, PREFIX, 0)) {
    let i = PREFIX.length;
    let seq = 0;
    const digitsAt = i;
    while (i < line.length && line[i]! >= 0x30 && line[i]! <= 0x39 && i - digitsAt < 16) {
      seq = seq * 10 + (line[i]! - 0x30);
      i++;
    }
    const nDigits = i - digitsAt;
    if (nDigits > 0 && !(nDigits > 1 && line[digitsAt] === 0x30) && startsWithAt(line, PREV, i)) {
      const at = i + PREV.length;
      if (line.length >= at + 65 && line[at + 64] === 0x22 && isHexAt(line, at) && Number.isSafeInteger(seq)) {
        return { ok: true, seq, prevHex: null, prevAt: at, line };
      }
    }
  }
  return parseSlow(line);
}

function parseSlow(line: Uint8Array): ParsedEntryHead {
  let obj: unknown;
  try {
    obj = JSON.parse(decoder.decode(line));
  } catch (err) {
    return { ok: false, reason: `not valid UTF-8 JSON (${(err as Error).message})` };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return { ok: false, reason: 'not a JSON object' };
  const o = obj as Record<string, unknown>;
  if (o.v !== 1) return { ok: false, reason: `unsupported entry version ${JSON.stringify(o.v)}` };
  if (typeof o.seq !== 'number' || !Number.isSafeInteger(o.seq) || o.seq < 0)
    return { ok: false, reason: 'seq is not a non-negative integer' };
  if (typeof o.prev !== 'string' || !/^[0-9a-f]{64}$/.test(o.prev)) return { ok: false, reason: 'prev is not 64 lowercase hex digits' };
  return { ok: true, seq: o.seq, prevHex: o.prev, prevAt: -1, line };
}

/** True when the parsed prev field equals `hash` (32 bytes). */
export function prevMatches(head: Extract<ParsedEntryHead, { ok: true }>, hash: Uint8Array): boolean {
  if (head.prevHex !== null) return head.prevHex === toHex(hash);
  const line = head.line;
  let at = head.prevAt;
  for (let i = 0; i < 32; i++) {
    const b = hash[i]!;
    if (line[at] !== HEX_CODES[b >> 4] || line[at + 1] !== HEX_CODES[b & 15]) return false;
    at += 2;
  }
  return true;
}

export function prevHexOf(head: Extract<ParsedEntryHead, { ok: true }>): string {
  if (head.prevHex !== null) return head.prevHex;
  let s = '';
  for (let i = head.prevAt; i < head.prevAt + 64; i++) s += String.fromCharCode(head.line[i]!);
  return s;
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX[b >> 4]! + HEX[b & 15]!;
  return s;
}

/**
 * Reads what the genesis check needs from entry 0: record.eventName and the string value of
 * the `sealtrail.origin` attribute (null when absent or malformed).
 */
export function genesisInfo(line: Uint8Array): { eventName: string | null; origin: string | null } {
  const e = ownEntryInfo(line);
  return { eventName: e.eventName, origin: e.attributes.get('sealtrail.origin') ?? null };
}

/**
 * record.eventName and the record's scalar attributes (string, int, bool values as strings;
 * an OTLP/JSON intValue is a decimal string) of an entry line; empty when it does not parse.
 */
export function ownEntryInfo(line: Uint8Array): { eventName: string | null; attributes: Map<string, string> } {
  const attributes = new Map<string, string>();
  try {
    const o = JSON.parse(decoder.decode(line)) as { record?: { eventName?: unknown; attributes?: unknown } };
    const eventName = typeof o?.record?.eventName === 'string' ? o.record.eventName : null;
    if (Array.isArray(o?.record?.attributes)) {
      for (const kv of o.record.attributes as Array<{
        key?: unknown;
        value?: { stringValue?: unknown; intValue?: unknown; boolValue?: unknown };
      }>) {
        if (typeof kv?.key !== 'string') continue;
        const v = kv.value;
        if (typeof v?.stringValue === 'string') attributes.set(kv.key, v.stringValue);
        else if (typeof v?.intValue === 'string' || (typeof v?.intValue === 'number' && Number.isSafeInteger(v.intValue)))
          attributes.set(kv.key, String(v.intValue));
        else if (typeof v?.boolValue === 'boolean') attributes.set(kv.key, String(v.boolValue));
      }
    }
    return { eventName, attributes };
  } catch {
    return { eventName: null, attributes };
  }
}
