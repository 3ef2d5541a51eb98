// Canonical OTLP/JSON pieces shared by the protobuf and the JSON decoder, so both produce
// byte-identical text for the same logical content. The rules are the proto3 JSON mapping as
// OTLP profiles it (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
// lowerCamelCase keys in field-number order, 64-bit integers as decimal strings, enums as
// numbers, bytes as standard base64 (traceId/spanId as lowercase hex), default values omitted,
// doubles as JSON numbers with "NaN", "Infinity" and "-Infinity" as strings.
import { SealtrailError } from '../../lib/errors.js';
import type { DecodeLimits } from './model.js';
import { SEVERITY_LEVEL_NAMES } from '../../verify/severity.js';

export function badRequest(message: string): SealtrailError {
  return new SealtrailError('BAD_REQUEST', message);
}

export function tooLarge(message: string): SealtrailError {
  return new SealtrailError('TOO_LARGE', message);
}

export function tooDeep(where: string, maxDepth: number): SealtrailError {
  return new SealtrailError('TOO_DEEP', `${where}: AnyValue nesting exceeds ${maxDepth}`);
}

const TWO_32 = 4294967296;
const E7 = 10000000;

function pad7(n: number): string {
  const s = String(n);
  return s.length >= 7 ? s : '0000000'.slice(s.length) + s;
}

/**
 * Decimal text of the unsigned 64-bit value hi*2^32+lo without BigInt. Values above 2^53 are
 * split into 24-bit limbs and re-based to base 10^7: 2^24 = 1*10^7 + 6777216 and
 * 2^48 = 2*10^14 + 8147497*10^7 + 6710656, so every partial sum stays an exact double.
 */
export function u64ToDecimal(lo: number, hi: number): string {
  if (hi < 0x200000) return String(hi * TWO_32 + lo);
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
  if (d2 > 0) return String(d2) + pad7(d1) + pad7(d0);
  return String(d1) + pad7(d0);
}

/** Decimal text of the two's-complement signed 64-bit value (hi, lo as uint32). */
export function i64ToDecimal(lo: number, hi: number): string {
  if ((hi & 0x80000000) === 0) return u64ToDecimal(lo, hi);
  const nlo = (~lo + 1) >>> 0;
  const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
  return '-' + u64ToDecimal(nlo, nhi);
}

/**
 * JSON text of a double under the proto3 mapping (non-finite values are strings). -0 keeps its
 * sign ("-0", as protobuf's own JSON printers write it): String(-0) and JSON.stringify(-0)
 * would both give "0", which is another value than the one sent.
 */
export function doubleJson(n: number): string {
  if (Number.isFinite(n)) return n === 0 && 1 / n < 0 ? '-0' : String(n);
  return Number.isNaN(n) ? '"NaN"' : n > 0 ? '"Infinity"' : '"-Infinity"';
}

/** The filter's string form of a double: the JSON number text, or NaN/Infinity/-Infinity. */
export function doubleView(n: number): string {
  if (Number.isFinite(n)) return n === 0 && 1 / n < 0 ? '-0' : String(n);
  return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
}

/**
 * The per-request budgets of DecodeLimits, tracked while one request is decoded. Counting
 * happens before the work it guards (a record is counted before it is decoded, an attribute
 * before its value), so an amplifying request costs at most one budget's worth of work.
 */
export class Budget {
  /** Longest text (UTF-16 units) one record, resource or scope may reach: its UTF-8 bytes are at least that many. */
  readonly maxPiece: number;
  private records = 0;
  private canonical = 0;

  constructor(readonly limits: DecodeLimits) {
    this.maxPiece = limits.maxEntryBytes - limits.entryOverheadBytes;
  }

  /** Called before each LogRecord is decoded. */
  record(): void {
    if (++this.records > this.limits.maxRecords) {
      throw tooLarge(`request has more than ${this.limits.maxRecords} log records (max_records_per_request)`);
    }
  }

  /** Called before the `n`-th (1-based) attribute of `what` is decoded. */
  attribute(n: number, what: string): void {
    if (n > this.limits.maxAttributes) {
      throw tooLarge(`${what} has more than ${this.limits.maxAttributes} attributes (max_attributes_per_record)`);
    }
  }

  /** Checks text being built for one entry (a string, a value list, an attribute list). */
  piece(length: number, what: string): void {
    if (length > this.maxPiece) throw entryTooLarge(what, this.limits);
  }

  /**
   * Accounts one decoded record; resource/scope bytes are their exact UTF-8 lengths. Flattens
   * the record: built by concatenation it is a rope of ~40-byte nodes, 5-6 per attribute, which
   * made a request of tiny attributes cost ~300 bytes of heap per attribute instead of ~60.
   */
  entry(resource: Piece, scope: Piece, record: string): void {
    record.charCodeAt(0); // V8 flattens a rope in place on indexed access
    const chars = resource.json.length + scope.json.length + record.length;
    this.canonical += chars;
    if (this.canonical > this.limits.maxCanonicalSize) {
      throw tooLarge(
        `request decodes to more than ${this.limits.maxCanonicalSize} bytes of canonical OTLP/JSON (max_request_canonical_size)`,
      );
    }
    // UTF-8 needs at most 3 bytes per UTF-16 unit: only records near the limit are measured.
    if (chars * 3 <= this.maxPiece) return;
    if (resource.bytes < 0) resource.bytes = Buffer.byteLength(resource.json, 'utf8');
    if (scope.bytes < 0) scope.bytes = Buffer.byteLength(scope.json, 'utf8');
    if (resource.bytes + scope.bytes + Buffer.byteLength(record, 'utf8') > this.maxPiece) throw entryTooLarge('LogRecord', this.limits);
  }
}

/** Canonical text of a resource or scope and its UTF-8 length (-1 until measured). */
export interface Piece {
  json: string;
  bytes: number;
}

function entryTooLarge(what: string, l: DecodeLimits): SealtrailError {
  return tooLarge(
    `${what}: the entry line would exceed ${l.maxEntryBytes} bytes (max_entry_size; canonical JSON with escapes, resource, scope and envelope included)`,
  );
}

export const EMPTY_ATTRS: ReadonlyMap<string, string | null> = new Map();

/**
 * A record's attributes for the filter, as decoded: keys and values in one flat array
 * [k0, v0, k1, v1, ...]. Reads behave as the Map built by set() in that order (a repeated key
 * keeps its first position and its last value); the Map itself is built only if something
 * iterates. The filter reads one or two keys of a handful, so a per-record hash table is waste.
 */
export class AttrList implements ReadonlyMap<string, string | null> {
  private map: Map<string, string | null> | null = null;
  private unique = -1;

  constructor(private readonly kv: Array<string | null>) {}

  get(key: string): string | null | undefined {
    const kv = this.kv;
    for (let i = kv.length - 2; i >= 0; i -= 2) if (kv[i] === key) return kv[i + 1];
    return undefined;
  }

  has(key: string): boolean {
    const kv = this.kv;
    for (let i = 0; i < kv.length; i += 2) if (kv[i] === key) return true;
    return false;
  }

  get size(): number {
    if (this.unique < 0) this.unique = this.kv.length <= 16 ? countUnique(this.kv) : this.asMap().size;
    return this.unique;
  }

  private asMap(): Map<string, string | null> {
    if (this.map === null) {
      this.map = new Map();
      for (let i = 0; i < this.kv.length; i += 2) this.map.set(this.kv[i]!, this.kv[i + 1]!);
    }
    return this.map;
  }

  forEach(cb: (value: string | null, key: string, map: ReadonlyMap<string, string | null>) => void): void {
    this.asMap().forEach((v, k) => cb(v, k, this));
  }
  entries(): MapIterator<[string, string | null]> {
    return this.asMap().entries();
  }
  keys(): MapIterator<string> {
    return this.asMap().keys();
  }
  values(): MapIterator<string | null> {
    return this.asMap().values();
  }
  [Symbol.iterator](): MapIterator<[string, string | null]> {
    return this.asMap().entries();
  }
}

function countUnique(kv: Array<string | null>): number {
  let n = 0;
  outer: for (let i = 0; i < kv.length; i += 2) {
    for (let j = 0; j < i; j += 2) if (kv[j] === kv[i]) continue outer;
    n++;
  }
  return n;
}

/**
 * Closes an object built as `{"a":1` + `,"b":2` ... (the first member carries the brace, so
 * no slicing is needed: slicing a concatenated string would flatten, i.e. copy, it).
 */
export function closeObject(members: string): string {
  return members === '' ? '{}' : members + '}';
}

/** SeverityNumber enum names, accepted in JSON input as the proto3 mapping allows. */
export const SEVERITY_NAMES: ReadonlyMap<string, number> = new Map(SEVERITY_LEVEL_NAMES.map((n, i) => ['SEVERITY_NUMBER_' + n, i]));
