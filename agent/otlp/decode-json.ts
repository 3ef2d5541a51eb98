// OTLP/JSON decoder (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding) for
// ExportLogsServiceRequest, producing the same canonical text as decode-protobuf.ts for the
// same logical content (canonical.ts holds the shared rules).
//
// The body is distrusted: invalid UTF-8 is rejected (fatal TextDecoder), not replaced; every
// field's JSON type is checked and a mismatch names the field's path; strings with lone
// surrogates are rejected because protobuf strings cannot carry them. Accepted as the proto3
// JSON mapping allows: lowerCamelCase or original snake_case keys, int64 as number or string,
// enums as numbers or names, null as "absent"; unknown keys are ignored. JSON.parse itself is
// not recursive in V8; our walk recurses only through AnyValue and stops at `maxDepth`.
// Numbers are taken exactly as written (json-numbers.ts): a 64-bit integer beyond 2^53 keeps
// its digits, a literal that overflows a double (1e400) is refused, -0 keeps its sign.
import { Budget, EMPTY_ATTRS, SEVERITY_NAMES, badRequest, closeObject, doubleJson, doubleView, tooDeep, type Piece } from './canonical.js';
import { literalInteger, numberLiteral, prepareJson } from './json-numbers.js';
import { SealtrailError } from '../../lib/errors.js';
import { DEFAULT_DECODE_LIMITS, type DecodeLimits, type DecodedRecord, type DecodedRequest } from './model.js';

type Obj = Record<string, unknown>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

// Path of the value being decoded, kept as a stack so it is only joined when an error is thrown.
const path: (string | number)[] = [];
let maxDepth = DEFAULT_DECODE_LIMITS.maxDepth;
let budget = new Budget(DEFAULT_DECODE_LIMITS);
let anyView: string | null = null;
let kvKey = '';
let kvView: string | null = null;

function pathText(leaf?: string): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : '.' + p;
  if (leaf !== undefined && leaf !== '') s += s === '' ? leaf : '.' + leaf;
  return s === '' ? '<root>' : s;
}

function wrongType(leaf: string, expected: string): SealtrailError {
  return badRequest(`invalid OTLP/JSON: ${pathText(leaf)}: expected ${expected}`);
}

// String.prototype.isWellFormed exists on Node 20 but not in the ES2022 lib typings.
function wellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A field by its lowerCamelCase or original proto name; null means absent (proto3 JSON). */
function field(o: Obj, camel: string, snake?: string): unknown {
  let v = o[camel];
  if (v === undefined && snake !== undefined) v = o[snake];
  return v === null ? undefined : v;
}

function objField(o: Obj, camel: string, snake?: string): Obj | undefined {
  const v = field(o, camel, snake);
  if (v === undefined || isObj(v)) return v;
  throw wrongType(camel, 'an object');
}

function arrField(o: Obj, camel: string, snake?: string): unknown[] | undefined {
  const v = field(o, camel, snake);
  if (v === undefined || Array.isArray(v)) return v;
  throw wrongType(camel, 'an array');
}

/** Checks a string value: well-formed (a rewritten number is not a string), within the entry budget. */
function checkString(v: string, leaf: string): void {
  if (!wellFormed(v)) {
    if (numberLiteral(v) !== null) throw wrongType(leaf, 'a string');
    throw badRequest(`invalid OTLP/JSON: ${pathText(leaf)}: lone surrogate in string`);
  }
  budget.piece(v.length, pathText(leaf));
}

function strField(o: Obj, camel: string, snake?: string): string {
  const v = field(o, camel, snake);
  if (v === undefined) return '';
  if (typeof v !== 'string') throw wrongType(camel, 'a string');
  checkString(v, camel);
  return v;
}

const UINT_RE = /^[0-9]+$/;
const INT_RE = /^-?[0-9]+$/;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function checkRange(big: bigint, signed: boolean, leaf: string): void {
  if (signed ? big < I64_MIN || big > I64_MAX : big < 0n || big > U64_MAX) {
    throw badRequest(`invalid OTLP/JSON: ${pathText(leaf)}: out of ${signed ? 'int64' : 'uint64'} range`);
  }
}

/** The exact integer of a rewritten number literal (json-numbers.ts); refuses fractions. */
function exactInteger(lit: string, leaf: string, expected: string): bigint {
  const big = literalInteger(lit);
  if (big === null) throw wrongType(leaf, expected);
  return big;
}

/**
 * Canonical decimal text of a 64-bit integer given as a JSON number or string. Number
 * literals a double cannot hold exactly arrive as their text (prepareJson), so no digit is lost.
 */
function int64Text(v: unknown, signed: boolean, leaf: string): string {
  let big: bigint;
  const lit = numberLiteral(v);
  if (lit !== null) {
    big = exactInteger(lit, leaf, 'an integer');
    checkRange(big, signed, leaf);
    return big.toString();
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw wrongType(leaf, 'an integer');
    if (Number.isSafeInteger(v) && (signed || v >= 0)) return String(v === 0 ? 0 : v);
    big = BigInt(v);
  } else if (typeof v === 'string') {
    if (!(signed ? INT_RE : UINT_RE).test(v)) throw wrongType(leaf, 'a decimal integer');
    // Fast path: up to 18 digits without a leading zero is already canonical and in range.
    if (v.length <= 18 && v[0] !== '0' && v[0] !== '-') return v;
    big = BigInt(v);
  } else {
    throw wrongType(leaf, 'an integer (number or string)');
  }
  checkRange(big, signed, leaf);
  return big.toString();
}

function uint32(v: unknown, leaf: string): number {
  const lit = numberLiteral(v);
  if (lit !== null) v = literalSmallInt(lit, leaf, 'a uint32');
  const n = typeof v === 'string' && UINT_RE.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) throw wrongType(leaf, 'a uint32');
  return n;
}

function severityNumber(v: unknown): number {
  if (typeof v === 'string') {
    const n = SEVERITY_NAMES.get(v);
    if (n !== undefined) return n;
  }
  const lit = numberLiteral(v);
  if (lit !== null) v = literalSmallInt(lit, 'severityNumber', 'a SeverityNumber (integer or enum name)');
  const n = typeof v === 'string' && INT_RE.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) {
    throw wrongType('severityNumber', 'a SeverityNumber (integer or enum name)');
  }
  return n === 0 ? 0 : n;
}

/** A rewritten literal for a 32-bit field: its exact integer, or NaN (refused by the caller's range check) when beyond 2^53. */
function literalSmallInt(lit: string, leaf: string, expected: string): number {
  const big = exactInteger(lit, leaf, expected);
  return big >= -(1n << 53n) && big <= 1n << 53n ? Number(big) : NaN;
}

function overflow(leaf: string): SealtrailError {
  return badRequest(`invalid OTLP/JSON: ${pathText(leaf)}: number overflows a double (send "Infinity" or "-Infinity" if meant)`);
}

function double(v: unknown, leaf: string): number {
  const lit = numberLiteral(v);
  if (lit !== null) {
    const n = Number(lit);
    if (!Number.isFinite(n)) throw overflow(leaf);
    return n;
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw overflow(leaf);
    return v;
  }
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    const n = Number(v);
    if (v.trim() !== '' && Number.isFinite(n)) return n;
  }
  throw wrongType(leaf, 'a number');
}

const B64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Standard padded base64 of a base64 or base64url string (the proto3 JSON mapping accepts both). */
function base64(v: unknown, leaf: string): string {
  if (typeof v !== 'string' || !B64_RE.test(v) || v.replace(/=+$/, '').length % 4 === 1) {
    throw wrongType(leaf, 'base64');
  }
  return Buffer.from(v, 'base64').toString('base64');
}

const HEX_RE = /^[0-9a-fA-F]*$/;

function hexIdField(v: unknown, leaf: string, bytes: number): string {
  if (v === undefined || v === '') return '';
  if (typeof v !== 'string' || v.length !== bytes * 2 || !HEX_RE.test(v)) {
    throw wrongType(leaf, `${bytes} bytes as hex`);
  }
  return v.toLowerCase();
}

const ONEOF: ReadonlyArray<readonly [string, string]> = [
  ['stringValue', 'string_value'],
  ['boolValue', 'bool_value'],
  ['intValue', 'int_value'],
  ['doubleValue', 'double_value'],
  ['arrayValue', 'array_value'],
  ['kvlistValue', 'kvlist_value'],
  ['bytesValue', 'bytes_value'],
];

/** Canonical JSON of an AnyValue at nesting `depth` (1 = outermost); sets anyView. */
function decodeAnyValue(v: unknown, leaf: string, depth: number): string {
  if (depth > maxDepth) throw tooDeep(pathText(leaf), maxDepth);
  if (!isObj(v)) throw wrongType(leaf, 'an AnyValue object');
  let which = -1;
  let val: unknown;
  for (let i = 0; i < 7; i++) {
    const x = field(v, ONEOF[i]![0], ONEOF[i]![1]);
    if (x === undefined) continue;
    if (which >= 0) throw badRequest(`invalid OTLP/JSON: ${pathText(leaf)}: more than one value set`);
    which = i;
    val = x;
  }
  const name = which >= 0 ? (leaf === '' ? '' : leaf + '.') + ONEOF[which]![0] : leaf;
  switch (which) {
    case 0: {
      if (typeof val !== 'string') throw wrongType(name, 'a string');
      checkString(val, name);
      anyView = val;
      return '{"stringValue":' + JSON.stringify(val) + '}';
    }
    case 1:
      if (typeof val !== 'boolean') throw wrongType(name, 'a boolean');
      anyView = val ? 'true' : 'false';
      return val ? '{"boolValue":true}' : '{"boolValue":false}';
    case 2: {
      const d = int64Text(val, true, name);
      anyView = d;
      return '{"intValue":"' + d + '"}';
    }
    case 3: {
      const n = double(val, name);
      anyView = doubleView(n);
      return '{"doubleValue":' + doubleJson(n) + '}';
    }
    case 4:
    case 5: {
      if (!isObj(val)) throw wrongType(name, 'an object');
      if (leaf !== '') path.push(leaf);
      path.push(ONEOF[which]![0]);
      const values = arrField(val, 'values');
      let items = '';
      if (values !== undefined) {
        path.push('values');
        for (let i = 0; i < values.length; i++) {
          path.push(i);
          items +=
            (items === '' ? '' : ',') + (which === 4 ? decodeAnyValue(values[i], '', depth + 1) : decodeKeyValue(values[i], '', depth + 1));
          budget.piece(items.length, pathText());
          path.pop();
        }
        path.pop();
      }
      path.pop();
      if (leaf !== '') path.pop();
      anyView = null;
      const inner = items === '' ? '{}' : '{"values":[' + items + ']}';
      return which === 4 ? '{"arrayValue":' + inner + '}' : '{"kvlistValue":' + inner + '}';
    }
    case 6: {
      const b64 = base64(val, name);
      anyView = b64;
      return '{"bytesValue":"' + b64 + '"}';
    }
    default:
      anyView = null;
      return '{}';
  }
}

/** Canonical JSON of a KeyValue whose value sits at nesting `depth`; sets kvKey and kvView. */
function decodeKeyValue(kv: unknown, leaf: string, depth: number): string {
  if (!isObj(kv)) throw wrongType(leaf, 'a KeyValue object');
  if (leaf !== '') path.push(leaf);
  const key = strField(kv, 'key');
  let json = key === '' ? '' : '{"key":' + JSON.stringify(key);
  const value = field(kv, 'value');
  if (value !== undefined) {
    json += (json === '' ? '{"value":' : ',"value":') + decodeAnyValue(value, 'value', depth);
    kvView = anyView;
  } else {
    kvView = null;
  }
  if (leaf !== '') path.pop();
  kvKey = key;
  return closeObject(json);
}

/** Decodes `attributes` of `o`; returns the comma-prefixed members and fills the view map. */
function decodeAttributes(o: Obj, what: string): { json: string; map: Map<string, string | null> | null } {
  const list = arrField(o, 'attributes');
  if (list === undefined || list.length === 0) return { json: '', map: null };
  budget.attribute(list.length, what);
  path.push('attributes');
  let json = '';
  const map = new Map<string, string | null>();
  for (let i = 0; i < list.length; i++) {
    path.push(i);
    json += (json === '' ? '' : ',') + decodeKeyValue(list[i], '', 1);
    budget.piece(json.length, pathText());
    map.set(kvKey, kvView);
    path.pop();
  }
  path.pop();
  return { json, map };
}

interface Described extends Piece {
  attrs: ReadonlyMap<string, string | null>;
  name: string;
}

const NONE: Described = { json: '{}', bytes: 2, attrs: EMPTY_ATTRS, name: '' };

/** Canonical JSON of the Resource's entityRefs members (EntityRef, OTLP 1.7+), comma-joined. */
function decodeEntityRefs(o: Obj): string {
  const list = arrField(o, 'entityRefs', 'entity_refs');
  if (list === undefined || list.length === 0) return '';
  budget.attribute(list.length, 'Resource.entityRefs');
  path.push('entityRefs');
  let out = '';
  for (let i = 0; i < list.length; i++) {
    path.push(i);
    const r = list[i];
    if (!isObj(r)) throw wrongType('', 'an EntityRef object');
    let json = '';
    const schemaUrl = strField(r, 'schemaUrl', 'schema_url');
    if (schemaUrl !== '') json += '{"schemaUrl":' + JSON.stringify(schemaUrl);
    const type = strField(r, 'type');
    if (type !== '') json += (json === '' ? '{"type":' : ',"type":') + JSON.stringify(type);
    for (const [camel, snake] of [
      ['idKeys', 'id_keys'],
      ['descriptionKeys', 'description_keys'],
    ] as const) {
      const keys = arrField(r, camel, snake);
      if (keys === undefined || keys.length === 0) continue;
      path.push(camel);
      let items = '';
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k];
        if (typeof key !== 'string') throw wrongType(String(k), 'a string');
        checkString(key, String(k));
        items += (items === '' ? '' : ',') + JSON.stringify(key);
        budget.piece(items.length, pathText());
      }
      path.pop();
      json += (json === '' ? `{"${camel}":[` : `,"${camel}":[`) + items + ']';
    }
    out += (out === '' ? '' : ',') + closeObject(json);
    budget.piece(out.length, pathText());
    path.pop();
  }
  path.pop();
  return out;
}

function decodeResourceOrScope(o: Obj | undefined, isScope: boolean): Described {
  if (o === undefined) return NONE;
  let json = '';
  let name = '';
  if (isScope) {
    name = strField(o, 'name');
    const version = strField(o, 'version');
    if (name !== '') json += (json === '' ? '{"name":' : ',"name":') + JSON.stringify(name);
    if (version !== '') json += (json === '' ? '{"version":' : ',"version":') + JSON.stringify(version);
  }
  const attrs = decodeAttributes(o, isScope ? 'InstrumentationScope' : 'Resource');
  if (attrs.json !== '') json += (json === '' ? '{"attributes":[' : ',"attributes":[') + attrs.json + ']';
  const dropped = field(o, 'droppedAttributesCount', 'dropped_attributes_count');
  const d = dropped === undefined ? 0 : uint32(dropped, 'droppedAttributesCount');
  if (d !== 0) json += (json === '' ? '{"droppedAttributesCount":' : ',"droppedAttributesCount":') + d;
  if (!isScope) {
    const refs = decodeEntityRefs(o);
    if (refs !== '') json += (json === '' ? '{"entityRefs":[' : ',"entityRefs":[') + refs + ']';
  }
  json = closeObject(json);
  json.charCodeAt(0); // flatten the rope (see Budget.entry)
  return { json, bytes: -1, attrs: attrs.map ?? EMPTY_ATTRS, name };
}

function decodeLogRecord(r: unknown, resource: Described, scope: Described): DecodedRecord {
  if (!isObj(r)) throw wrongType('', 'a LogRecord object');
  let json = '';
  const time = field(r, 'timeUnixNano', 'time_unix_nano');
  if (time !== undefined) {
    const t = int64Text(time, false, 'timeUnixNano');
    if (t !== '0') json += (json === '' ? '{"timeUnixNano":"' : ',"timeUnixNano":"') + t + '"';
  }
  const sevRaw = field(r, 'severityNumber', 'severity_number');
  const severity = sevRaw === undefined ? 0 : severityNumber(sevRaw);
  if (severity !== 0) json += (json === '' ? '{"severityNumber":' : ',"severityNumber":') + severity;
  const severityText = strField(r, 'severityText', 'severity_text');
  if (severityText !== '') json += (json === '' ? '{"severityText":' : ',"severityText":') + JSON.stringify(severityText);
  const body = field(r, 'body');
  if (body !== undefined) json += (json === '' ? '{"body":' : ',"body":') + decodeAnyValue(body, 'body', 1);
  const attrs = decodeAttributes(r, 'LogRecord');
  if (attrs.json !== '') json += (json === '' ? '{"attributes":[' : ',"attributes":[') + attrs.json + ']';
  const dropped = field(r, 'droppedAttributesCount', 'dropped_attributes_count');
  const d = dropped === undefined ? 0 : uint32(dropped, 'droppedAttributesCount');
  if (d !== 0) json += (json === '' ? '{"droppedAttributesCount":' : ',"droppedAttributesCount":') + d;
  const flagsRaw = field(r, 'flags');
  const flags = flagsRaw === undefined ? 0 : uint32(flagsRaw, 'flags');
  if (flags !== 0) json += (json === '' ? '{"flags":' : ',"flags":') + flags;
  const traceId = hexIdField(field(r, 'traceId', 'trace_id'), 'traceId', 16);
  if (traceId !== '') json += (json === '' ? '{"traceId":"' : ',"traceId":"') + traceId + '"';
  const spanId = hexIdField(field(r, 'spanId', 'span_id'), 'spanId', 8);
  if (spanId !== '') json += (json === '' ? '{"spanId":"' : ',"spanId":"') + spanId + '"';
  const observed = field(r, 'observedTimeUnixNano', 'observed_time_unix_nano');
  if (observed !== undefined) {
    const t = int64Text(observed, false, 'observedTimeUnixNano');
    if (t !== '0') json += (json === '' ? '{"observedTimeUnixNano":"' : ',"observedTimeUnixNano":"') + t + '"';
  }
  const eventName = strField(r, 'eventName', 'event_name');
  if (eventName !== '') json += (json === '' ? '{"eventName":' : ',"eventName":') + JSON.stringify(eventName);
  const record = closeObject(json);
  budget.entry(resource, scope, record);
  return {
    resource: resource.json,
    scope: scope.json,
    record,
    view: {
      eventName,
      severityNumber: severity,
      severityText,
      scopeName: scope.name,
      attributes: attrs.map ?? EMPTY_ATTRS,
      resourceAttributes: resource.attrs,
    },
  };
}

/** A ResourceLogs/ScopeLogs schemaUrl: checked like any string, not stored; 1 when sent. */
function schemaUrl(o: Obj): number {
  return strField(o, 'schemaUrl', 'schema_url') === '' ? 0 : 1;
}

function walk(root: unknown, out: DecodedRecord[]): number {
  let schemaUrls = 0;
  if (!isObj(root)) throw badRequest('invalid OTLP/JSON: the request must be a JSON object');
  const rls = arrField(root, 'resourceLogs', 'resource_logs') ?? [];
  for (let i = 0; i < rls.length; i++) {
    path.push('resourceLogs', i);
    const rl = rls[i];
    if (!isObj(rl)) throw wrongType('', 'a ResourceLogs object');
    schemaUrls += schemaUrl(rl);
    path.push('resource');
    const resource = decodeResourceOrScope(objField(rl, 'resource'), false);
    path.pop();
    const sls = arrField(rl, 'scopeLogs', 'scope_logs') ?? [];
    for (let j = 0; j < sls.length; j++) {
      path.push('scopeLogs', j);
      const sl = sls[j];
      if (!isObj(sl)) throw wrongType('', 'a ScopeLogs object');
      schemaUrls += schemaUrl(sl);
      path.push('scope');
      const scope = decodeResourceOrScope(objField(sl, 'scope'), true);
      path.pop();
      const lrs = arrField(sl, 'logRecords', 'log_records') ?? [];
      for (let k = 0; k < lrs.length; k++) {
        path.push('logRecords', k);
        budget.record();
        out.push(decodeLogRecord(lrs[k], resource, scope));
        path.pop();
        path.pop();
      }
      path.pop();
      path.pop();
    }
    path.pop();
    path.pop();
  }
  return schemaUrls;
}

/**
 * Decodes an OTLP/JSON ExportLogsServiceRequest body. Throws SealtrailError BAD_REQUEST for
 * invalid UTF-8, malformed JSON or wrong field types, TOO_DEEP for AnyValue nesting over
 * `limits.maxDepth`, TOO_LARGE past any other budget of `limits` (unset ones take
 * DEFAULT_DECODE_LIMITS).
 */
export function decodeJsonRequest(bytes: Uint8Array, limits: Partial<DecodeLimits> = DEFAULT_DECODE_LIMITS): DecodedRequest {
  const l = limits === DEFAULT_DECODE_LIMITS ? DEFAULT_DECODE_LIMITS : { ...DEFAULT_DECODE_LIMITS, ...limits };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw badRequest('invalid OTLP/JSON: body is not valid UTF-8');
  }
  text = prepareJson(text, Math.max(64, Math.floor(l.maxCanonicalSize / 8)));
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (err) {
    throw badRequest(`invalid OTLP/JSON: ${err instanceof Error ? err.message : 'malformed JSON'}`);
  }
  maxDepth = l.maxDepth;
  budget = new Budget(l);
  path.length = 0;
  const records: DecodedRecord[] = [];
  const schemaUrlsDropped = walk(root, records);
  return { records, schemaUrlsDropped };
}
