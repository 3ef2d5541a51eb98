// The decode worker's fast path: protobuf ExportLogsServiceRequest bytes straight to entry tails
// (chain/entry.ts EntryTails), byte for byte what decodeProtobufRequest + prepareRequest give,
// without a JavaScript string per field or an object per record. Strings are copied from the
// request with JSON escapes; numbers are written as digits; the audit filter and the
// audit_context checks read attributes through a view that decodes only the keys they ask for.
//
// It covers what SDKs send: scalar AnyValues (string, bool, int, double, bytes). Anything else
// (array or kvlist values, a repeated body or value, invalid UTF-8, a malformed field, a budget
// reached, a `reject` of the audit_context checks) makes it give up and return null: the caller
// then runs the full decoder, which produces the exact result or error. So this path never
// answers a request on its own with an error, and its work on a refused request is bounded by
// the request's size (each record's output is at most EXPANSION times its bytes plus a constant).
import { isUtf8 } from 'node:buffer';
import type { AuditFilter } from '../filter/audit-filter.js';
import { newTally, type AttrReader, type AuditContextProcessor, type ContextTally } from '../context/audit-context.js';
import type { PreparedRequest } from '../pipeline/prepare.js';
import { doubleJson, doubleView, i64ToDecimal } from './canonical.js';
import { beginRequest, decodeResourceOrScopeOf, schemaUrlsSeen, type Described } from './decode-protobuf.js';
import type { DecodeLimits, RecordView } from './model.js';

const WT_VARINT = 0;
const WT_I64 = 1;
const WT_LEN = 2;
const WT_I32 = 5;

/** Thrown inside to give up; never leaves this module. */
const BAIL = new Error('transcode: fall back to the full decoder');

// AnyValue kinds, numbered as its oneof fields; K_NONE = no value field, K_ABSENT = no value at all.
const K_ABSENT = -1;
const K_NONE = 0;
const K_STRING = 1;
const K_BOOL = 2;
const K_INT = 3;
const K_DOUBLE = 4;
const K_BYTES = 7;

/**
 * Output bytes per input byte that a record's strings and attributes can reach: a control
 * character in a string becomes 6 (\u00XX), a bool attribute 6 -> 29 with its comma. The fields
 * written once per record (times, severity, counts, ids: under 256 bytes in all) are RECORD_SLACK.
 */
const EXPANSION = 10;
const RECORD_SLACK = 256;
/** Output memory kept between requests; a larger one is dropped after use. */
const KEEP_OUT = 4 << 20;

// Decoding is synchronous: module scratch state, as in decode-protobuf.ts.
let src: Buffer = Buffer.alloc(0);
let out: Buffer = Buffer.allocUnsafeSlow(1 << 16);
let o = 0;
let vLo = 0;
let vHi = 0;
let tagField = 0;
let tagWire = 0;
// Per attribute of the current record: key start, key end, value kind, a, b (string/bytes:
// range; bool/int: lo, hi; double: position of its 8 bytes).
let attrs = new Int32Array(6 * 16);
let nAttrs = 0;
// The body's value: kind and a, b as above.
let bodyKind = K_ABSENT;
let bodyA = 0;
let bodyB = 0;
// The value of the last AnyValue scanned.
let anyKind = K_NONE;
let anyA = 0;
let anyB = 0;
let maxPiece = 0;
/** UTF-8 bytes written beyond the UTF-16 units they decode to (the full decoder counts units). */
let utf16Fewer = 0;

function readVarint(pos: number, end: number): number {
  const b = src;
  let lo = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) throw BAIL;
    const byte = b[pos++]!;
    lo |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      vLo = lo >>> 0;
      vHi = 0;
      return pos;
    }
  }
  if (pos >= end) throw BAIL;
  let byte = b[pos++]!;
  lo |= (byte & 0x0f) << 28;
  let hi = (byte & 0x7f) >>> 4;
  if (byte < 0x80) {
    vLo = lo >>> 0;
    vHi = hi;
    return pos;
  }
  for (let shift = 3; shift < 31; shift += 7) {
    if (pos >= end) throw BAIL;
    byte = b[pos++]!;
    hi |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      vLo = lo >>> 0;
      vHi = hi >>> 0;
      return pos;
    }
  }
  if (pos >= end) throw BAIL;
  byte = b[pos++]!;
  if (byte > 1) throw BAIL;
  vLo = lo >>> 0;
  vHi = (hi | (byte << 31)) >>> 0;
  return pos;
}

function readTag(pos: number, end: number): number {
  if (pos < end && src[pos]! < 0x80 && src[pos]! >= 8) {
    tagField = src[pos]! >>> 3;
    tagWire = src[pos]! & 7;
    return pos + 1;
  }
  pos = readVarint(pos, end);
  if (vHi !== 0 || vLo < 8) throw BAIL;
  tagField = vLo >>> 3;
  tagWire = vLo & 7;
  return pos;
}

function readLen(pos: number, end: number): number {
  pos = readVarint(pos, end);
  if (vHi !== 0 || vLo > end - pos) throw BAIL;
  return pos;
}

function skipField(pos: number, end: number, wire: number): number {
  switch (wire) {
    case WT_VARINT:
      return readVarint(pos, end);
    case WT_I64:
      if (end - pos < 8) throw BAIL;
      return pos + 8;
    case WT_LEN:
      pos = readLen(pos, end);
      return pos + vLo;
    case WT_I32:
      if (end - pos < 4) throw BAIL;
      return pos + 4;
    default:
      throw BAIL;
  }
}

/**
 * The full decoder's UTF-8 check on every string field it reads. Its length check (Budget.piece)
 * needs no twin: a record longer than an entry may be is left to the full decoder (logRecord).
 */
function checkString(s: number, e: number): void {
  for (let i = s; i < e; i++) {
    if (src[i]! >= 0x80) {
      if (!isUtf8(src.subarray(s, e))) throw BAIL;
      return;
    }
  }
}

function grow(need: number): void {
  let size = out.length * 2;
  while (size < need) size *= 2;
  const bigger = Buffer.allocUnsafeSlow(size);
  out.copy(bigger, 0, 0, o);
  out = bigger;
}

// The writers keep `out` and `o` in locals while they loop: module variables live in a context
// object, and a load and store of it per byte cost more than the copy.

/** Writes the bytes of an ASCII constant (see lit). */
function put(bytes: Uint8Array): void {
  const ob = out;
  let p = o;
  for (let i = 0; i < bytes.length; i++) ob[p++] = bytes[i]!;
  o = p;
}

/** Writes an ASCII string made at run time (number text). */
function ascii(text: string): void {
  const ob = out;
  let p = o;
  for (let i = 0; i < text.length; i++) ob[p++] = text.charCodeAt(i);
  o = p;
}

const E7 = 10000000;

const lit = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));

// JSON.stringify's escape for each byte below 0x20 and for '"' and '\\' (0 = none).
const ESCAPE = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) ESCAPE[c] = 0x75; // \u00XX
ESCAPE[0x08] = 0x62;
ESCAPE[0x09] = 0x74;
ESCAPE[0x0a] = 0x6e;
ESCAPE[0x0c] = 0x66;
ESCAPE[0x0d] = 0x72;
ESCAPE[0x22] = 0x22;
ESCAPE[0x5c] = 0x5c;
const HEX = lit('0123456789abcdef');

/** Writes src[s, e) as a JSON string with JSON.stringify's escapes (the bytes are valid UTF-8). */
function jsonString(s: number, e: number): void {
  const b = src;
  const ob = out;
  let p = o;
  ob[p++] = 0x22;
  let fewer = 0;
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    const x = ESCAPE[c]!;
    if (x === 0) {
      ob[p++] = c;
      // UTF-16 units are bytes less continuation bytes, plus one per 4-byte sequence (a surrogate pair).
      if (c >= 0x80) fewer += (c & 0xc0) === 0x80 ? 1 : c >= 0xf0 ? -1 : 0;
      continue;
    }
    ob[p++] = 0x5c;
    ob[p++] = x;
    if (x === 0x75) {
      ob[p++] = 0x30;
      ob[p++] = 0x30;
      ob[p++] = HEX[c >>> 4]!;
      ob[p++] = HEX[c & 15]!;
    }
  }
  ob[p++] = 0x22;
  o = p;
  utf16Fewer += fewer;
}

/** Writes n (0 <= n < 10^7) as exactly 7 digits. */
function digits7(n: number): void {
  const ob = out;
  const p = o;
  let v = n | 0; // int32 arithmetic: a double's % and / cost several times more
  for (let i = p + 6; i >= p; i--) {
    const q = (v / 10) | 0;
    ob[i] = 0x30 + v - q * 10;
    v = q;
  }
  o = p + 7;
}

/** Writes n (a safe non-negative integer) in decimal. */
function decimal(n: number): void {
  if (n >= E7) {
    const high = Math.floor(n / E7);
    decimal(high);
    digits7(n - high * E7);
    return;
  }
  let v = n | 0;
  let len = 1;
  for (let t = v; t >= 10; t = (t / 10) | 0) len++;
  const ob = out;
  const p = o;
  for (let i = p + len - 1; i >= p; i--) {
    const q = (v / 10) | 0;
    ob[i] = 0x30 + v - q * 10;
    v = q;
  }
  o = p + len;
}

const TWO_32 = 4294967296;

/** Writes the unsigned 64-bit hi*2^32+lo in decimal: u64ToDecimal (canonical.ts), without a string. */
function u64(lo: number, hi: number): void {
  if (hi < 0x200000) {
    decimal(hi * TWO_32 + lo);
    return;
  }
  const a = lo & 0xffffff;
  const b = ((lo >>> 24) | (hi << 8)) & 0xffffff;
  const c = hi >>> 16;
  let d0 = a + b * 6777216 + c * 6710656;
  let d1 = b + c * 8147497;
  let d2 = c * 2;
  d1 += Math.floor(d0 / E7);
  d0 %= E7;
  d2 += Math.floor(d1 / E7);
  d1 %= E7;
  if (d2 > 0) {
    decimal(d2);
    digits7(d1);
  } else decimal(d1);
  digits7(d0);
}

/** Scans an AnyValue at [s, e) into anyKind/anyA/anyB (scalars only). */
function scanAnyValue(s: number, e: number): void {
  let kind = K_NONE;
  let a = 0;
  let b = 0;
  let pos = s;
  while (pos < e) {
    pos = readTag(pos, e);
    const f = tagField;
    const w = tagWire;
    if (f === K_STRING || f === K_BYTES) {
      if (w !== WT_LEN) throw BAIL;
      pos = readLen(pos, e);
      a = pos;
      b = pos + vLo;
      if (f === K_STRING) checkString(a, b);
      pos = b;
    } else if (f === K_BOOL || f === K_INT) {
      if (w !== WT_VARINT) throw BAIL;
      pos = readVarint(pos, e);
      a = vLo;
      b = vHi;
    } else if (f === K_DOUBLE) {
      if (w !== WT_I64 || e - pos < 8) throw BAIL;
      a = pos;
      pos += 8;
    } else if (f === 5 || f === 6) {
      throw BAIL; // array and kvlist values: the full decoder
    } else {
      pos = skipField(pos, e, w);
      continue;
    }
    kind = f;
  }
  anyKind = kind;
  anyA = a;
  anyB = b;
}

function writeAnyValue(kind: number, a: number, b: number): void {
  switch (kind) {
    case K_STRING:
      put(L_STRING_VALUE);
      jsonString(a, b);
      out[o++] = 0x7d;
      return;
    case K_BOOL:
      put(a !== 0 || b !== 0 ? L_TRUE : L_FALSE);
      return;
    case K_INT:
      put(L_INT_VALUE);
      if ((b & 0x80000000) === 0) u64(a, b);
      else ascii(i64ToDecimal(a, b));
      put(L_QUOTE_CLOSE);
      return;
    case K_DOUBLE:
      put(L_DOUBLE_VALUE);
      ascii(doubleJson(src.readDoubleLE(a)));
      out[o++] = 0x7d;
      return;
    case K_BYTES:
      put(L_BYTES_VALUE);
      ascii(src.toString('base64', a, b));
      put(L_QUOTE_CLOSE);
      return;
    default:
      put(L_EMPTY);
  }
}

const L_STRING_VALUE = lit('{"stringValue":');
const L_TRUE = lit('{"boolValue":true}');
const L_FALSE = lit('{"boolValue":false}');
const L_INT_VALUE = lit('{"intValue":"');
const L_DOUBLE_VALUE = lit('{"doubleValue":');
const L_BYTES_VALUE = lit('{"bytesValue":"');
const L_QUOTE_CLOSE = lit('"}');
const L_EMPTY = lit('{}');
const L_KEY = lit('{"key":');
const L_COMMA_VALUE = lit(',"value":');
const L_VALUE = lit('{"value":');

/** The filter's string for a value (the full decoder's `anyView`). */
function valueView(kind: number, a: number, b: number): string | null {
  switch (kind) {
    case K_STRING:
      return src.toString('utf8', a, b);
    case K_BOOL:
      return a !== 0 || b !== 0 ? 'true' : 'false';
    case K_INT:
      return i64ToDecimal(a, b);
    case K_DOUBLE:
      return doubleView(src.readDoubleLE(a));
    case K_BYTES:
      return src.toString('base64', a, b);
    default:
      return null; // no value, or an empty AnyValue
  }
}

/** Scans a KeyValue at [s, e) into attribute slot `nAttrs`. */
function scanKeyValue(s: number, e: number): void {
  let ks = 0;
  let ke = 0;
  let kind = K_ABSENT;
  let pos = s;
  while (pos < e) {
    pos = readTag(pos, e);
    if (tagField === 1 || tagField === 2) {
      if (tagWire !== WT_LEN) throw BAIL;
      pos = readLen(pos, e);
      const pe = pos + vLo;
      if (tagField === 1) {
        checkString(pos, pe);
        ks = pos;
        ke = pe;
      } else {
        if (kind !== K_ABSENT) throw BAIL; // a repeated value merges: the full decoder
        scanAnyValue(pos, pe);
        kind = anyKind;
      }
      pos = pe;
    } else {
      pos = skipField(pos, e, tagWire);
    }
  }
  const i = 6 * nAttrs;
  if (i + 6 > attrs.length) {
    const bigger = new Int32Array(attrs.length * 2);
    bigger.set(attrs);
    attrs = bigger;
  }
  attrs[i] = ks;
  attrs[i + 1] = ke;
  attrs[i + 2] = kind;
  attrs[i + 3] = kind === K_ABSENT ? 0 : anyA;
  attrs[i + 4] = kind === K_ABSENT ? 0 : anyB;
  nAttrs++;
}

function writeKeyValue(slot: number): void {
  const i = 6 * slot;
  const ks = attrs[i]!;
  const ke = attrs[i + 1]!;
  const kind = attrs[i + 2]!;
  if (ke > ks) {
    put(L_KEY);
    jsonString(ks, ke);
    if (kind !== K_ABSENT) {
      put(L_COMMA_VALUE);
      writeAnyValue(kind, attrs[i + 3]!, attrs[i + 4]!);
    }
  } else if (kind !== K_ABSENT) {
    put(L_VALUE);
    writeAnyValue(kind, attrs[i + 3]!, attrs[i + 4]!);
  } else {
    out[o++] = 0x7b;
  }
  out[o++] = 0x7d;
}

const keyBytes = new Map<string, Buffer>();

/** The current record's attributes as the filter and the checks read them. */
class RecordAttrs implements AttrReader {
  get(key: string): string | null | undefined {
    const i = this.find(key);
    return i < 0 ? undefined : attrs[i + 2] === K_ABSENT ? null : valueView(attrs[i + 2]!, attrs[i + 3]!, attrs[i + 4]!);
  }

  /** valueView would give a non-empty string: any bool, int or double; a non-empty string or bytes. */
  usable(key: string): boolean {
    const i = this.find(key);
    if (i < 0) return false;
    switch (attrs[i + 2]) {
      case K_STRING:
      case K_BYTES:
        return attrs[i + 4]! > attrs[i + 3]!;
      case K_BOOL:
      case K_INT:
      case K_DOUBLE:
        return true;
      default:
        return false;
    }
  }

  has(key: string): boolean {
    return this.find(key) >= 0;
  }

  /** Where in `attrs` the key's last occurrence is (the last wins, as in AttrList), or -1. */
  private find(key: string): number {
    let k = keyBytes.get(key);
    if (k === undefined) {
      k = Buffer.from(key, 'utf8');
      if (keyBytes.size < 1024) keyBytes.set(key, k);
    }
    // The last occurrence wins, as in the full decoder's AttrList.
    for (let slot = nAttrs - 1; slot >= 0; slot--) {
      const i = 6 * slot;
      const ks = attrs[i]!;
      if (attrs[i + 1]! - ks !== k.length) continue;
      let same = true;
      for (let j = 0; j < k.length; j++) {
        if (src[ks + j] !== k[j]) {
          same = false;
          break;
        }
      }
      if (same) return i;
    }
    return -1;
  }
}

/** The filter's view of the current record; strings are decoded only when read. */
class View {
  readonly attributes = new RecordAttrs() as unknown as RecordView['attributes'];
  resourceAttributes: RecordView['resourceAttributes'] = new Map();
  scopeName = '';
  severityNumber = 0;
  textS = 0;
  textE = 0;
  eventS = 0;
  eventE = 0;
  get severityText(): string {
    return src.toString('utf8', this.textS, this.textE);
  }
  get eventName(): string {
    return src.toString('utf8', this.eventS, this.eventE);
  }
}

const view = new View();

interface Run {
  limits: DecodeLimits;
  filter: AuditFilter;
  context: AuditContextProcessor | null;
  tally: ContextTally | null;
  ends: number[];
  records: number;
  filtered: number;
  canonical: number;
}

/**
 * Transcodes a protobuf request into the PreparedRequest prepareRequest would give for
 * decodeProtobufRequest's result. Returns null when the full decoder must decide (see the top
 * of this file).
 */
export function transcodeProtobuf(
  body: Buffer,
  limits: DecodeLimits,
  filter: AuditFilter,
  context: AuditContextProcessor | null,
): PreparedRequest | null {
  if (limits.maxDepth < 1) return null;
  src = body;
  o = 0;
  maxPiece = limits.maxEntryBytes - limits.entryOverheadBytes;
  const run: Run = {
    limits,
    filter,
    context,
    tally: null,
    ends: [],
    records: 0,
    filtered: 0,
    canonical: 0,
  };
  try {
    beginRequest(limits);
    const e = body.length;
    let pos = 0;
    while (pos < e) {
      pos = readTag(pos, e);
      if (tagField === 1) {
        if (tagWire !== WT_LEN) throw BAIL;
        pos = readLen(pos, e);
        const pe = pos + vLo;
        resourceLogs(run, pos, pe);
        pos = pe;
      } else {
        pos = skipField(pos, e, tagWire);
      }
    }
    const n = run.ends.length;
    let prepared: PreparedRequest;
    if (n === 0) {
      prepared = { tails: null, audit: 0, filtered: run.filtered, schemaUrlsDropped: schemaUrlsSeen(), tally: null };
    } else {
      const bytes = Buffer.allocUnsafeSlow(o); // its own memory: transferable
      out.copy(bytes, 0, 0, o);
      prepared = {
        tails: { bytes, ends: Uint32Array.from(run.ends) },
        audit: n,
        filtered: run.filtered,
        schemaUrlsDropped: schemaUrlsSeen(),
        tally: run.tally,
      };
    }
    return prepared;
  } catch {
    return null; // BAIL, a budget of the Resource/scope decoder, or a `reject`: the full decoder decides
  } finally {
    src = Buffer.alloc(0);
    if (out.length > KEEP_OUT) out = Buffer.allocUnsafeSlow(1 << 16);
    view.resourceAttributes = new Map();
  }
}

function resourceLogs(run: Run, s: number, e: number): void {
  const resource = decodeResourceOrScopeOf(src, s, e, false);
  let pos = s;
  while (pos < e) {
    pos = readTag(pos, e);
    if (tagField === 2) {
      if (tagWire !== WT_LEN) throw BAIL;
      pos = readLen(pos, e);
      const pe = pos + vLo;
      scopeLogs(run, pos, pe, resource);
      pos = pe;
    } else {
      pos = skipField(pos, e, tagWire);
    }
  }
}

function scopeLogs(run: Run, s: number, e: number, resource: Described): void {
  const scope = decodeResourceOrScopeOf(src, s, e, true);
  const head = Buffer.from(`,"resource":${resource.json},"scope":${scope.json},"record":`, 'utf8');
  const contextBytes = Buffer.byteLength(resource.json, 'utf8') + Buffer.byteLength(scope.json, 'utf8');
  const contextChars = resource.json.length + scope.json.length;
  view.resourceAttributes = resource.attrs;
  view.scopeName = scope.name;
  let pos = s;
  while (pos < e) {
    pos = readTag(pos, e);
    if (tagField === 2) {
      if (tagWire !== WT_LEN) throw BAIL;
      pos = readLen(pos, e);
      const pe = pos + vLo;
      if (++run.records > run.limits.maxRecords) throw BAIL;
      logRecord(run, pos, pe, head, contextBytes, contextChars);
      pos = pe;
    } else {
      pos = skipField(pos, e, tagWire);
    }
  }
}

const M_TIME = lit(',"timeUnixNano":"');
const M_SEVERITY = lit(',"severityNumber":');
const M_SEVERITY_TEXT = lit(',"severityText":');
const M_BODY = lit(',"body":');
const M_ATTRIBUTES = lit(',"attributes":[');
const M_DROPPED = lit(',"droppedAttributesCount":');
const M_FLAGS = lit(',"flags":');
const M_TRACE_ID = lit(',"traceId":"');
const M_SPAN_ID = lit(',"spanId":"');
const M_OBSERVED = lit(',"observedTimeUnixNano":"');
const M_EVENT_NAME = lit(',"eventName":');

function logRecord(run: Run, s: number, e: number, head: Buffer, contextBytes: number, contextChars: number): void {
  let timeLo = 0;
  let timeHi = 0;
  let obsLo = 0;
  let obsHi = 0;
  let severity = 0;
  let textS = 0;
  let textE = 0;
  let eventS = 0;
  let eventE = 0;
  let dropped = 0;
  let flags = 0;
  let traceS = 0;
  let traceE = 0;
  let spanS = 0;
  let spanE = 0;
  nAttrs = 0;
  bodyKind = K_ABSENT;
  let pos = s;
  while (pos < e) {
    pos = readTag(pos, e);
    const f = tagField;
    const w = tagWire;
    switch (f) {
      case 1:
      case 11: {
        if (w !== WT_I64 || e - pos < 8) throw BAIL;
        const lo = src.readUInt32LE(pos);
        const hi = src.readUInt32LE(pos + 4);
        if (f === 1) {
          timeLo = lo;
          timeHi = hi;
        } else {
          obsLo = lo;
          obsHi = hi;
        }
        pos += 8;
        break;
      }
      case 2:
      case 7:
        if (w !== WT_VARINT) throw BAIL;
        pos = readVarint(pos, e);
        if (f === 2) severity = vLo | 0;
        else dropped = vLo;
        break;
      case 8:
        if (w !== WT_I32 || e - pos < 4) throw BAIL;
        flags = src.readUInt32LE(pos);
        pos += 4;
        break;
      case 3:
      case 5:
      case 6:
      case 9:
      case 10:
      case 12: {
        if (w !== WT_LEN) throw BAIL;
        pos = readLen(pos, e);
        const pe = pos + vLo;
        if (f === 6) {
          if (nAttrs + 1 > run.limits.maxAttributes) throw BAIL;
          scanKeyValue(pos, pe);
        } else if (f === 3 || f === 12) {
          checkString(pos, pe);
          if (f === 3) {
            textS = pos;
            textE = pe;
          } else {
            eventS = pos;
            eventE = pe;
          }
        } else if (f === 5) {
          if (bodyKind !== K_ABSENT) throw BAIL; // a repeated body merges: the full decoder
          scanAnyValue(pos, pe);
          bodyKind = anyKind;
          bodyA = anyA;
          bodyB = anyB;
        } else if (f === 9) {
          if (vLo !== 0 && vLo !== 16) throw BAIL;
          traceS = pos;
          traceE = pe;
        } else {
          if (vLo !== 0 && vLo !== 8) throw BAIL;
          spanS = pos;
          spanE = pe;
        }
        pos = pe;
        break;
      }
      default:
        pos = skipField(pos, e, w);
    }
  }

  // The record's canonical JSON, fields in field-number order of the JSON mapping (as decodeLogRecord).
  // Output stays within EXPANSION bytes per input byte; a record larger than an entry may be
  // (mostly skipped fields, say) is left to the full decoder, so `out` stays bounded.
  if (e - s > maxPiece) throw BAIL;
  const need = o + head.length + EXPANSION * (e - s) + RECORD_SLACK;
  if (need > out.length) grow(need);
  const start = o;
  put(head);
  const recordStart = o;
  utf16Fewer = 0;
  // Each member is written with its leading comma; the first one's comma becomes the '{'.
  if (timeLo !== 0 || timeHi !== 0) {
    put(M_TIME);
    u64(timeLo, timeHi);
    out[o++] = 0x22;
  }
  if (severity !== 0) {
    put(M_SEVERITY);
    if (severity > 0) decimal(severity);
    else ascii(String(severity));
  }
  if (textE > textS) {
    put(M_SEVERITY_TEXT);
    jsonString(textS, textE);
  }
  if (bodyKind !== K_ABSENT) {
    put(M_BODY);
    writeAnyValue(bodyKind, bodyA, bodyB);
  }
  if (nAttrs > 0) {
    put(M_ATTRIBUTES);
    for (let i = 0; i < nAttrs; i++) {
      if (i > 0) out[o++] = 0x2c;
      writeKeyValue(i);
    }
    out[o++] = 0x5d;
  }
  if (dropped !== 0) {
    put(M_DROPPED);
    decimal(dropped);
  }
  if (flags !== 0) {
    put(M_FLAGS);
    decimal(flags);
  }
  if (traceE > traceS) {
    put(M_TRACE_ID);
    ascii(src.toString('hex', traceS, traceE));
    out[o++] = 0x22;
  }
  if (spanE > spanS) {
    put(M_SPAN_ID);
    ascii(src.toString('hex', spanS, spanE));
    out[o++] = 0x22;
  }
  if (obsLo !== 0 || obsHi !== 0) {
    put(M_OBSERVED);
    u64(obsLo, obsHi);
    out[o++] = 0x22;
  }
  if (eventE > eventS) {
    put(M_EVENT_NAME);
    jsonString(eventS, eventE);
  }
  if (o === recordStart) out[o++] = 0x7b;
  else out[recordStart] = 0x7b;
  out[o++] = 0x7d;
  const recordBytes = o - recordStart;
  const recordChars = recordBytes - utf16Fewer;

  // The full decoder's budgets (Budget.entry): the request's canonical text in UTF-16 units, each
  // entry in UTF-8 bytes.
  run.canonical += contextChars + recordChars;
  if (run.canonical > run.limits.maxCanonicalSize) throw BAIL;
  if (contextBytes + recordBytes > maxPiece) throw BAIL;

  view.severityNumber = severity;
  view.textS = textS;
  view.textE = textE;
  view.eventS = eventS;
  view.eventE = eventE;
  if (!run.filter(view)) {
    run.filtered++;
    o = start;
    return;
  }
  if (run.context !== null) {
    run.tally ??= newTally();
    const hasTime = timeLo !== 0 || timeHi !== 0 || obsLo !== 0 || obsHi !== 0;
    run.context.checkRecord(run.tally, run.records - 1, hasTime, view.attributes, view.resourceAttributes);
  }
  out[o++] = 0x7d; // closes the entry
  run.ends.push(o);
}
