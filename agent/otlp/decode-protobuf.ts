// Protobuf wire decoder for opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest
// (proto/opentelemetry/proto/...), written straight to canonical OTLP/JSON text (canonical.ts).
//
// The bytes come from the network, so everything is distrusted: every length is checked
// against its enclosing message, varints longer than 10 bytes (or with bits beyond 64) are
// rejected, known fields must carry their declared wire type, strings must be valid UTF-8
// (rejected, never replaced, so the chained text is exactly what was sent), trace/span ids
// must be 16/8 bytes. Unknown fields are skipped as proto3 requires; group wire types (3, 4)
// are refused because skipping them needs unbounded nesting. Recursion happens only through
// AnyValue and is cut at `maxDepth`.
//
// proto3 merge semantics are kept: a scalar field seen twice keeps the last value, a singular
// message field seen twice (resource, scope, body, KeyValue.value, the array/kvlist member of
// AnyValue) is the merge of its occurrences, decoded here by parsing their concatenation.
import { isUtf8 } from 'node:buffer';
import { SealtrailError } from '../../lib/errors.js';
import {
  Budget,
  EMPTY_ATTRS,
  AttrList,
  badRequest,
  closeObject,
  doubleJson,
  doubleView,
  i64ToDecimal,
  tooDeep,
  tooLarge,
  u64ToDecimal,
  type Piece,
} from './canonical.js';
import { DEFAULT_DECODE_LIMITS, type DecodeLimits, type DecodedRecord, type DecodedRequest } from './model.js';

const WT_VARINT = 0;
const WT_I64 = 1;
const WT_LEN = 2;
const WT_I32 = 5;

// Scratch results of the helpers below. Decoding is synchronous, so one set per module is safe
// and saves allocating a result object per field.
let vLo = 0; // varint low 32 bits (uint32)
let vHi = 0; // varint high 32 bits (uint32)
let tagField = 0;
let tagWire = 0;
let kvKey = '';
let kvView: string | null = null;
let anyView: string | null = null;
let maxDepth = DEFAULT_DECODE_LIMITS.maxDepth;
let budget = new Budget(DEFAULT_DECODE_LIMITS);
let schemaUrls = 0;

/**
 * proto3 lets a singular message field repeat (the occurrences merge); no encoder does it, and
 * each occurrence costs a Buffer view until the merge, so past this many the request is refused.
 */
const MAX_OCCURRENCES = 64;

function repeated(more: Buffer[], what: string): void {
  if (more.length >= MAX_OCCURRENCES) throw tooLarge(`${what}: a singular field occurs more than ${MAX_OCCURRENCES} times`);
}

function truncated(what: string): SealtrailError {
  return badRequest(`invalid protobuf: ${what}: truncated`);
}

function wrongWire(what: string, wire: number): SealtrailError {
  return badRequest(`invalid protobuf: ${what}: unexpected wire type ${wire}`);
}

/** Reads a varint at `pos` into vLo/vHi; returns the position after it. */
function readVarint(b: Buffer, pos: number, end: number, what: string): number {
  if (pos >= end) throw truncated(what);
  let byte = b[pos++]!;
  if (byte < 0x80) {
    vLo = byte;
    vHi = 0;
    return pos;
  }
  let lo = byte & 0x7f;
  for (let shift = 7; shift < 28; shift += 7) {
    if (pos >= end) throw truncated(what);
    byte = b[pos++]!;
    lo |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      vLo = lo >>> 0;
      vHi = 0;
      return pos;
    }
  }
  if (pos >= end) throw truncated(what);
  byte = b[pos++]!; // bits 28..34 straddle the two halves
  lo |= (byte & 0x0f) << 28;
  let hi = (byte & 0x7f) >>> 4;
  if (byte < 0x80) {
    vLo = lo >>> 0;
    vHi = hi;
    return pos;
  }
  for (let shift = 3; shift < 31; shift += 7) {
    if (pos >= end) throw truncated(what);
    byte = b[pos++]!;
    hi |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      vLo = lo >>> 0;
      vHi = hi >>> 0;
      return pos;
    }
  }
  if (pos >= end) throw truncated(what);
  byte = b[pos++]!; // the tenth byte may only carry bit 63
  if (byte > 1) throw badRequest(`invalid protobuf: ${what}: varint overflows 64 bits`);
  vLo = lo >>> 0;
  vHi = (hi | (byte << 31)) >>> 0;
  return pos;
}

function readTag(b: Buffer, pos: number, end: number, what: string): number {
  pos = readVarint(b, pos, end, what);
  if (vHi !== 0 || vLo < 8) throw badRequest(`invalid protobuf: ${what}: invalid field tag`);
  tagField = vLo >>> 3;
  tagWire = vLo & 7;
  return pos;
}

/** Reads a length prefix, checked against `end`; returns the payload start, its length is in vLo. */
function readLen(b: Buffer, pos: number, end: number, what: string): number {
  pos = readVarint(b, pos, end, what);
  if (vHi !== 0 || vLo > end - pos) throw truncated(what);
  return pos;
}

function skipField(b: Buffer, pos: number, end: number, wire: number, what: string): number {
  switch (wire) {
    case WT_VARINT:
      return readVarint(b, pos, end, what);
    case WT_I64:
      if (end - pos < 8) throw truncated(what);
      return pos + 8;
    case WT_LEN:
      pos = readLen(b, pos, end, what);
      return pos + vLo;
    case WT_I32:
      if (end - pos < 4) throw truncated(what);
      return pos + 4;
    default:
      throw badRequest(`invalid protobuf: ${what}: unsupported wire type ${wire}`);
  }
}

// Buffer's per-encoding slice methods skip toString's encoding dispatch, which showed up in
// profiles at several percent; they exist on every Node Buffer but are not in the typings.
interface SliceMethods {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
  hexSlice(start: number, end: number): string;
  base64Slice(start: number, end: number): string;
}

function slices(b: Buffer): SliceMethods {
  return b as unknown as SliceMethods;
}

function readString(b: Buffer, s: number, e: number, what: string): string {
  budget.piece(e - s, what); // escaping only lengthens it
  for (let i = s; i < e; i++) {
    if (b[i]! >= 0x80) {
      if (!isUtf8(b.subarray(s, e))) throw badRequest(`invalid protobuf: ${what}: invalid UTF-8`);
      return slices(b).utf8Slice(s, e);
    }
  }
  if (e - s <= 12) {
    // Short ASCII: building the string in JS is cheaper than a call into C++.
    let out = '';
    for (let i = s; i < e; i++) out += String.fromCharCode(b[i]!);
    return out;
  }
  return slices(b).latin1Slice(s, e); // pure ASCII: latin1 is the cheapest exact decode
}

/** Merges repeated occurrences of a singular message field: proto3 parses their concatenation. */
function concatRanges(b: Buffer, first: [number, number], more: Buffer[]): Buffer {
  return Buffer.concat([b.subarray(first[0], first[1]), ...more]);
}

// AnyValue kinds, numbered as the oneof fields.
const K_NONE = 0;
const K_STRING = 1;
const K_BOOL = 2;
const K_INT = 3;
const K_DOUBLE = 4;
const K_ARRAY = 5;
const K_KVLIST = 6;
const K_BYTES = 7;

/** Canonical JSON of an AnyValue at nesting `depth` (1 = outermost); sets anyView. */
function decodeAnyValue(b: Buffer, s: number, e: number, depth: number): string {
  if (depth > maxDepth) throw tooDeep('AnyValue', maxDepth);
  let kind = K_NONE;
  let str = '';
  let bool = false;
  let lo = 0;
  let hi = 0;
  let dbl = 0;
  let bs = 0; // bytes or sub-message range
  let be = 0;
  let more: Buffer[] | null = null;
  let pos = s;
  while (pos < e) {
    pos = readTag(b, pos, e, 'AnyValue');
    const f = tagField;
    const w = tagWire;
    if (f >= 1 && f <= 7) {
      const wantWire = f === K_BOOL || f === K_INT ? WT_VARINT : f === K_DOUBLE ? WT_I64 : WT_LEN;
      if (w !== wantWire) throw wrongWire(`AnyValue field ${f}`, w);
      if (f === K_BOOL || f === K_INT) {
        pos = readVarint(b, pos, e, 'AnyValue');
        bool = vLo !== 0 || vHi !== 0;
        lo = vLo;
        hi = vHi;
      } else if (f === K_DOUBLE) {
        if (e - pos < 8) throw truncated('AnyValue.double_value');
        dbl = b.readDoubleLE(pos);
        pos += 8;
      } else {
        pos = readLen(b, pos, e, 'AnyValue');
        const pe = pos + vLo;
        if (f === K_STRING) {
          str = readString(b, pos, pe, 'AnyValue.string_value');
        } else if ((f === K_ARRAY || f === K_KVLIST) && kind === f) {
          repeated((more ??= []), 'AnyValue');
          more.push(b.subarray(pos, pe));
        } else {
          bs = pos;
          be = pe;
          more = null;
        }
        pos = pe;
      }
      kind = f;
    } else {
      pos = skipField(b, pos, e, w, 'AnyValue');
    }
  }
  switch (kind) {
    case K_STRING:
      anyView = str;
      return '{"stringValue":' + JSON.stringify(str) + '}';
    case K_BOOL:
      anyView = bool ? 'true' : 'false';
      return bool ? '{"boolValue":true}' : '{"boolValue":false}';
    case K_INT: {
      const d = i64ToDecimal(lo, hi);
      anyView = d;
      return '{"intValue":"' + d + '"}';
    }
    case K_DOUBLE:
      anyView = doubleView(dbl);
      return '{"doubleValue":' + doubleJson(dbl) + '}';
    case K_BYTES: {
      const b64 = slices(b).base64Slice(bs, be);
      anyView = b64;
      return '{"bytesValue":"' + b64 + '"}';
    }
    case K_ARRAY:
    case K_KVLIST: {
      let items: string;
      if (more === null) items = decodeValues(b, bs, be, kind, depth);
      else {
        const m = concatRanges(b, [bs, be], more);
        items = decodeValues(m, 0, m.length, kind, depth);
      }
      anyView = null;
      const inner = items === '' ? '{}' : '{"values":[' + items + ']}';
      return kind === K_ARRAY ? '{"arrayValue":' + inner + '}' : '{"kvlistValue":' + inner + '}';
    }
    default:
      anyView = null;
      return '{}';
  }
}

/** The `values` of an ArrayValue or KeyValueList, each prefixed by a comma. */
function decodeValues(b: Buffer, s: number, e: number, kind: number, depth: number): string {
  const what = kind === K_ARRAY ? 'ArrayValue.values' : 'KeyValueList.values';
  let out = '';
  let pos = s;
  while (pos < e) {
    pos = readTag(b, pos, e, what);
    if (tagField === 1) {
      if (tagWire !== WT_LEN) throw wrongWire(what, tagWire);
      pos = readLen(b, pos, e, what);
      const pe = pos + vLo;
      out += (out === '' ? '' : ',') + (kind === K_ARRAY ? decodeAnyValue(b, pos, pe, depth + 1) : decodeKeyValue(b, pos, pe, depth + 1));
      budget.piece(out.length, what);
      pos = pe;
    } else {
      pos = skipField(b, pos, e, tagWire, what);
    }
  }
  return out;
}

/** Canonical JSON of a KeyValue whose value sits at nesting `depth`; sets kvKey and kvView. */
function decodeKeyValue(b: Buffer, s: number, e: number, depth: number): string {
  let key = '';
  let vs = -1;
  let ve = -1;
  let more: Buffer[] | null = null;
  let pos = s;
  while (pos < e) {
    pos = readTag(b, pos, e, 'KeyValue');
    if (tagField === 1 || tagField === 2) {
      if (tagWire !== WT_LEN) throw wrongWire(tagField === 1 ? 'KeyValue.key' : 'KeyValue.value', tagWire);
      pos = readLen(b, pos, e, 'KeyValue');
      const pe = pos + vLo;
      if (tagField === 1) key = readString(b, pos, pe, 'KeyValue.key');
      else if (vs < 0) {
        vs = pos;
        ve = pe;
      } else {
        repeated((more ??= []), 'KeyValue.value');
        more.push(b.subarray(pos, pe));
      }
      pos = pe;
    } else {
      pos = skipField(b, pos, e, tagWire, 'KeyValue');
    }
  }
  let json = key === '' ? '' : '{"key":' + JSON.stringify(key);
  if (vs >= 0) {
    let v: string;
    if (more === null) v = decodeAnyValue(b, vs, ve, depth);
    else {
      const m = concatRanges(b, [vs, ve], more);
      v = decodeAnyValue(m, 0, m.length, depth);
    }
    json += (json === '' ? '{"value":' : ',"value":') + v;
    kvView = anyView;
  } else {
    kvView = null;
  }
  kvKey = key;
  return closeObject(json);
}

export interface Described extends Piece {
  attrs: ReadonlyMap<string, string | null>;
  name: string;
}

/** Resource (isScope=false) or InstrumentationScope (isScope=true). */
function decodeResourceOrScope(b: Buffer, s: number, e: number, isScope: boolean): Described {
  const what = isScope ? 'InstrumentationScope' : 'Resource';
  const attrField = isScope ? 3 : 1;
  const droppedField = isScope ? 4 : 2;
  let name = '';
  let version = '';
  let attrs = '';
  let kv: Array<string | null> | null = null;
  let dropped = 0;
  let nAttrs = 0;
  let refs = '';
  let nRefs = 0;
  let pos = s;
  while (pos < e) {
    pos = readTag(b, pos, e, what);
    const f = tagField;
    if (f === attrField || (isScope && (f === 1 || f === 2)) || (!isScope && f === 3)) {
      if (tagWire !== WT_LEN) throw wrongWire(`${what} field ${f}`, tagWire);
      pos = readLen(b, pos, e, what);
      const pe = pos + vLo;
      if (f === attrField) {
        budget.attribute(++nAttrs, what);
        attrs += (attrs === '' ? '' : ',') + decodeKeyValue(b, pos, pe, 1);
        budget.piece(attrs.length, what);
        (kv ??= []).push(kvKey, kvView);
      } else if (!isScope) {
        budget.attribute(++nRefs, 'Resource.entity_refs'); // the attributes' limit, counted apart
        refs += (refs === '' ? '' : ',') + decodeEntityRef(b, pos, pe);
        budget.piece(refs.length, what);
      } else if (f === 1) name = readString(b, pos, pe, 'InstrumentationScope.name');
      else version = readString(b, pos, pe, 'InstrumentationScope.version');
      pos = pe;
    } else if (f === droppedField) {
      if (tagWire !== WT_VARINT) throw wrongWire(`${what}.dropped_attributes_count`, tagWire);
      pos = readVarint(b, pos, e, what);
      dropped = vLo;
    } else {
      pos = skipField(b, pos, e, tagWire, what);
    }
  }
  let json = '';
  if (name !== '') json += (json === '' ? '{"name":' : ',"name":') + JSON.stringify(name);
  if (version !== '') json += (json === '' ? '{"version":' : ',"version":') + JSON.stringify(version);
  if (attrs !== '') json += (json === '' ? '{"attributes":[' : ',"attributes":[') + attrs + ']';
  if (dropped !== 0) json += (json === '' ? '{"droppedAttributesCount":' : ',"droppedAttributesCount":') + dropped;
  if (refs !== '') json += (json === '' ? '{"entityRefs":[' : ',"entityRefs":[') + refs + ']';
  json = closeObject(json);
  json.charCodeAt(0); // flatten the rope (see Budget.entry)
  return { json, bytes: -1, attrs: kv === null ? EMPTY_ATTRS : new AttrList(kv), name };
}

/**
 * Canonical JSON of an opentelemetry.proto.common.v1.EntityRef (Resource.entity_refs, field 3
 * in OTLP 1.7+): schema_url = 1, type = 2, repeated id_keys = 3, repeated description_keys = 4.
 */
function decodeEntityRef(b: Buffer, s: number, e: number): string {
  let schemaUrl = '';
  let type = '';
  let ids = '';
  let descs = '';
  let pos = s;
  while (pos < e) {
    pos = readTag(b, pos, e, 'EntityRef');
    const f = tagField;
    if (f >= 1 && f <= 4) {
      if (tagWire !== WT_LEN) throw wrongWire(`EntityRef field ${f}`, tagWire);
      pos = readLen(b, pos, e, 'EntityRef');
      const pe = pos + vLo;
      const v = readString(b, pos, pe, 'EntityRef');
      if (f === 1) schemaUrl = v;
      else if (f === 2) type = v;
      else if (f === 3) ids += (ids === '' ? '' : ',') + JSON.stringify(v);
      else descs += (descs === '' ? '' : ',') + JSON.stringify(v);
      budget.piece(ids.length + descs.length, 'EntityRef');
      pos = pe;
    } else {
      pos = skipField(b, pos, e, tagWire, 'EntityRef');
    }
  }
  let json = '';
  if (schemaUrl !== '') json += '{"schemaUrl":' + JSON.stringify(schemaUrl);
  if (type !== '') json += (json === '' ? '{"type":' : ',"type":') + JSON.stringify(type);
  if (ids !== '') json += (json === '' ? '{"idKeys":[' : ',"idKeys":[') + ids + ']';
  if (descs !== '') json += (json === '' ? '{"descriptionKeys":[' : ',"descriptionKeys":[') + descs + ']';
  return closeObject(json);
}

/** The absent resource or scope; its `bytes` field is the only one ever written (2). */
function noResource(): Described {
  return { json: '{}', bytes: 2, attrs: EMPTY_ATTRS, name: '' };
}

/**
 * Finds the singular message field `field` of the message at [s, e) (validating the framing of
 * every field on the way) and decodes the merge of its occurrences.
 */
function decodeSingular(b: Buffer, s: number, e: number, field: number, what: string, isScope: boolean): Described {
  let first: [number, number] | null = null;
  let more: Buffer[] | null = null;
  let pos = s;
  while (pos < e) {
    pos = readTag(b, pos, e, what);
    if (tagField === field) {
      if (tagWire !== WT_LEN) throw wrongWire(what, tagWire);
      pos = readLen(b, pos, e, what);
      const pe = pos + vLo;
      if (first === null) first = [pos, pe];
      else {
        repeated((more ??= []), what);
        more.push(b.subarray(pos, pe));
      }
      pos = pe;
    } else if (tagField === 3) {
      // schema_url: not part of the entry (counted as dropped), but still a string that must be UTF-8
      if (tagWire !== WT_LEN) throw wrongWire(`${what}.schema_url`, tagWire);
      pos = readLen(b, pos, e, what);
      readString(b, pos, pos + vLo, `${what}.schema_url`);
      if (vLo > 0) schemaUrls++;
      pos += vLo;
    } else {
      pos = skipField(b, pos, e, tagWire, what);
    }
  }
  if (first === null) return noResource();
  if (more === null) return decodeResourceOrScope(b, first[0], first[1], isScope);
  const m = concatRanges(b, first, more);
  return decodeResourceOrScope(m, 0, m.length, isScope);
}

function decodeResourceLogs(b: Buffer, s: number, e: number, out: DecodedRecord[]): void {
  const resource = decodeSingular(b, s, e, 1, 'ResourceLogs', false);
  let pos = s;
  while (pos < e) {
    pos = readTag(b, pos, e, 'ResourceLogs');
    if (tagField === 2) {
      if (tagWire !== WT_LEN) throw wrongWire('ResourceLogs.scope_logs', tagWire);
      pos = readLen(b, pos, e, 'ResourceLogs.scope_logs');
      const pe = pos + vLo;
      decodeScopeLogs(b, pos, pe, resource, out);
      pos = pe;
    } else {
      pos = skipField(b, pos, e, tagWire, 'ResourceLogs');
    }
  }
}

function decodeScopeLogs(b: Buffer, s: number, e: number, resource: Described, out: DecodedRecord[]): void {
  const scope = decodeSingular(b, s, e, 1, 'ScopeLogs', true);
  let pos = s;
  while (pos < e) {
    pos = readTag(b, pos, e, 'ScopeLogs');
    if (tagField === 2) {
      if (tagWire !== WT_LEN) throw wrongWire('ScopeLogs.log_records', tagWire);
      pos = readLen(b, pos, e, 'ScopeLogs.log_records');
      const pe = pos + vLo;
      budget.record(); // before the work: a million tiny records stop at the limit
      out.push(decodeLogRecord(b, pos, pe, resource, scope));
      pos = pe;
    } else {
      pos = skipField(b, pos, e, tagWire, 'ScopeLogs');
    }
  }
}

function decodeLogRecord(b: Buffer, s: number, e: number, resource: Described, scope: Described): DecodedRecord {
  let timeLo = 0;
  let timeHi = 0;
  let obsLo = 0;
  let obsHi = 0;
  let severity = 0;
  let severityText = '';
  let bodyS = -1;
  let bodyE = -1;
  let bodyMore: Buffer[] | null = null;
  let attrs = '';
  let kv: Array<string | null> | null = null;
  let nAttrs = 0;
  let dropped = 0;
  let flags = 0;
  let traceS = 0;
  let traceE = 0;
  let spanS = 0;
  let spanE = 0;
  let eventName = '';
  let pos = s;
  while (pos < e) {
    pos = readTag(b, pos, e, 'LogRecord');
    const f = tagField;
    const w = tagWire;
    switch (f) {
      case 1:
      case 11: {
        if (w !== WT_I64) throw wrongWire(f === 1 ? 'LogRecord.time_unix_nano' : 'LogRecord.observed_time_unix_nano', w);
        if (e - pos < 8) throw truncated('LogRecord');
        const lo = b.readUInt32LE(pos);
        const hi = b.readUInt32LE(pos + 4);
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
        if (w !== WT_VARINT) throw wrongWire(f === 2 ? 'LogRecord.severity_number' : 'LogRecord.dropped_attributes_count', w);
        pos = readVarint(b, pos, e, 'LogRecord');
        if (f === 2)
          severity = vLo | 0; // enum = int32
        else dropped = vLo;
        break;
      case 8:
        if (w !== WT_I32) throw wrongWire('LogRecord.flags', w);
        if (e - pos < 4) throw truncated('LogRecord.flags');
        flags = b.readUInt32LE(pos);
        pos += 4;
        break;
      case 3:
      case 5:
      case 6:
      case 9:
      case 10:
      case 12: {
        if (w !== WT_LEN) throw wrongWire(`LogRecord field ${f}`, w);
        pos = readLen(b, pos, e, 'LogRecord');
        const pe = pos + vLo;
        if (f === 6) {
          budget.attribute(++nAttrs, 'LogRecord');
          attrs += (attrs === '' ? '' : ',') + decodeKeyValue(b, pos, pe, 1);
          budget.piece(attrs.length, 'LogRecord.attributes');
          (kv ??= []).push(kvKey, kvView);
        } else if (f === 3) severityText = readString(b, pos, pe, 'LogRecord.severity_text');
        else if (f === 12) eventName = readString(b, pos, pe, 'LogRecord.event_name');
        else if (f === 5) {
          if (bodyS < 0) {
            bodyS = pos;
            bodyE = pe;
          } else {
            repeated((bodyMore ??= []), 'LogRecord.body');
            bodyMore.push(b.subarray(pos, pe));
          }
        } else if (f === 9) {
          if (vLo !== 0 && vLo !== 16) throw badRequest('invalid protobuf: LogRecord.trace_id: must be 16 bytes');
          traceS = pos;
          traceE = pe;
        } else {
          if (vLo !== 0 && vLo !== 8) throw badRequest('invalid protobuf: LogRecord.span_id: must be 8 bytes');
          spanS = pos;
          spanE = pe;
        }
        pos = pe;
        break;
      }
      default:
        pos = skipField(b, pos, e, w, 'LogRecord');
    }
  }
  let json = '';
  if (timeLo !== 0 || timeHi !== 0) json += (json === '' ? '{"timeUnixNano":"' : ',"timeUnixNano":"') + u64ToDecimal(timeLo, timeHi) + '"';
  if (severity !== 0) json += (json === '' ? '{"severityNumber":' : ',"severityNumber":') + severity;
  if (severityText !== '') json += (json === '' ? '{"severityText":' : ',"severityText":') + JSON.stringify(severityText);
  if (bodyS >= 0) {
    if (bodyMore === null) json += (json === '' ? '{"body":' : ',"body":') + decodeAnyValue(b, bodyS, bodyE, 1);
    else {
      const m = concatRanges(b, [bodyS, bodyE], bodyMore);
      json += (json === '' ? '{"body":' : ',"body":') + decodeAnyValue(m, 0, m.length, 1);
    }
  }
  if (attrs !== '') json += (json === '' ? '{"attributes":[' : ',"attributes":[') + attrs + ']';
  if (dropped !== 0) json += (json === '' ? '{"droppedAttributesCount":' : ',"droppedAttributesCount":') + dropped;
  if (flags !== 0) json += (json === '' ? '{"flags":' : ',"flags":') + flags;
  if (traceE > traceS) json += (json === '' ? '{"traceId":"' : ',"traceId":"') + slices(b).hexSlice(traceS, traceE) + '"';
  if (spanE > spanS) json += (json === '' ? '{"spanId":"' : ',"spanId":"') + slices(b).hexSlice(spanS, spanE) + '"';
  if (obsLo !== 0 || obsHi !== 0)
    json += (json === '' ? '{"observedTimeUnixNano":"' : ',"observedTimeUnixNano":"') + u64ToDecimal(obsLo, obsHi) + '"';
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
      attributes: kv === null ? EMPTY_ATTRS : new AttrList(kv),
      resourceAttributes: resource.attrs,
    },
  };
}

/**
 * For the byte transcoder (transcode-protobuf.ts), which decodes each Resource and scope here
 * and writes the records itself: resets the per-request state (budgets, schema_url count).
 */
export function beginRequest(limits: DecodeLimits): void {
  maxDepth = limits.maxDepth;
  budget = new Budget(limits);
  schemaUrls = 0;
}

/** The Resource (field 1 of ResourceLogs) or scope (field 1 of ScopeLogs) of the message at [s, e). */
export function decodeResourceOrScopeOf(b: Buffer, s: number, e: number, isScope: boolean): Described {
  return decodeSingular(b, s, e, 1, isScope ? 'ScopeLogs' : 'ResourceLogs', isScope);
}

/** schema_url values seen since beginRequest (see DecodedRequest.schemaUrlsDropped). */
export function schemaUrlsSeen(): number {
  return schemaUrls;
}

/**
 * Decodes a protobuf ExportLogsServiceRequest. Throws SealtrailError BAD_REQUEST for malformed
 * input, TOO_DEEP for AnyValue nesting over `limits.maxDepth` and TOO_LARGE past any other
 * budget of `limits` (unset ones take DEFAULT_DECODE_LIMITS).
 */
export function decodeProtobufRequest(bytes: Uint8Array, limits: Partial<DecodeLimits> = DEFAULT_DECODE_LIMITS): DecodedRequest {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const l = limits === DEFAULT_DECODE_LIMITS ? DEFAULT_DECODE_LIMITS : { ...DEFAULT_DECODE_LIMITS, ...limits };
  beginRequest(l);
  const records: DecodedRecord[] = [];
  const e = b.length;
  let pos = 0;
  while (pos < e) {
    pos = readTag(b, pos, e, 'ExportLogsServiceRequest');
    if (tagField === 1) {
      if (tagWire !== WT_LEN) throw wrongWire('ExportLogsServiceRequest.resource_logs', tagWire);
      pos = readLen(b, pos, e, 'ExportLogsServiceRequest.resource_logs');
      const pe = pos + vLo;
      decodeResourceLogs(b, pos, pe, records);
      pos = pe;
    } else {
      pos = skipField(b, pos, e, tagWire, 'ExportLogsServiceRequest');
    }
  }
  return { records, schemaUrlsDropped: schemaUrls };
}
