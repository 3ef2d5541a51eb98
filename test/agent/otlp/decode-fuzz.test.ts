// Decoder fuzz test: random and mutated OTLP protobuf and JSON, decoded by our decoders and by
// protobufjs from proto/ (the reference). For every input: the same records (compared as parsed
// JSON, so -0, exact 64-bit strings and NaN must match) or our SealtrailError, never another
// exception and never a different value. Seeded, so a failure names a reproducible case.
//
// Tolerated differences (each is a refusal on our side, never a different stored value):
//   - we refuse what protobufjs accepts leniently: invalid UTF-8 (it substitutes U+FFFD), a wrong
//     wire type for a known field, trace/span ids of the wrong length, group wire types,
//     nesting over max_depth, budgets (TOO_LARGE);
//   - proto3 merges repeated occurrences of a singular message field; protobufjs keeps the last.
//     Inputs where the two differ for that reason are counted (mergeDiffs) and checked by the
//     decode.test.ts merge test instead;
//   - JSON: protobufjs' fromObject is not a proto3 JSON parser (it coerces types); mutated JSON
//     is therefore checked against our own protobuf decoder on the protobufjs encoding of the
//     same object, only when our JSON decoder accepted it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtobufRequest } from '../../../agent/otlp/decode-protobuf.js';
import { decodeJsonRequest } from '../../../agent/otlp/decode-json.js';
import { isSealtrailError } from '../../../lib/errors.js';
import type { DecodedRequest } from '../../../agent/otlp/model.js';
import { requestType } from './otlp-fixtures.js';
import { prng } from '../../helpers/prng.js';

const Req = requestType();

type Rnd = () => number;
const int = (r: Rnd, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rnd, xs: readonly T[]): T => xs[int(r, xs.length)]!;

const CHARS = ['a', 'Z', '0', ' ', '"', '\\', '\n', '\u0000', '\u0001', '\u001f', '\u007f', 'é', '✓', '\u2028', '😀', '\ufeff'];
function str(r: Rnd, max = 12): string {
  let s = '';
  for (let i = int(r, max); i > 0; i--) s += pick(r, CHARS);
  return s;
}

const U64 = [0n, 1n, (1n << 53n) + 1n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n, 1700000000123456789n];
const I64 = [0n, -1n, 1n, (1n << 53n) + 1n, -(1n << 63n), (1n << 63n) - 1n, -9007199254740993n];
const DOUBLES = [0, -0, 1.5, -2.25e-300, 1e300, 5e-324, Number.MAX_VALUE, NaN, Infinity, -Infinity, 0.1, 123456789.123];

function anyValue(r: Rnd, depth: number): Record<string, unknown> {
  switch (int(r, depth > 2 ? 6 : 8)) {
    case 0:
      return { stringValue: str(r) };
    case 1:
      return { boolValue: r() < 0.5 };
    case 2:
      return { intValue: pick(r, I64).toString() };
    case 3:
      return { doubleValue: pick(r, DOUBLES) };
    case 4:
      return { bytesValue: Buffer.from(Array.from({ length: int(r, 6) }, () => int(r, 256))).toString('base64') };
    case 5:
      return {};
    case 6:
      return { arrayValue: { values: Array.from({ length: int(r, 4) }, () => anyValue(r, depth + 1)) } };
    default:
      return { kvlistValue: { values: attrs(r, 3, depth + 1) } };
  }
}

function attrs(r: Rnd, max: number, depth = 1): object[] {
  return Array.from({ length: int(r, max + 1) }, () => (r() < 0.1 ? { key: str(r, 4) } : { key: str(r, 6), value: anyValue(r, depth) }));
}

const hex = (r: Rnd, n: number) => Buffer.from(Array.from({ length: n }, () => int(r, 256))).toString('base64');

/** A random request as a protobufjs toObject-shaped value (64-bit as decimal strings, bytes as base64). */
function randomRequest(r: Rnd): Record<string, unknown> {
  const record = (): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    if (r() < 0.7) o.timeUnixNano = pick(r, U64).toString();
    if (r() < 0.3) o.observedTimeUnixNano = pick(r, U64).toString();
    if (r() < 0.5) o.severityNumber = int(r, 25);
    if (r() < 0.3) o.severityText = str(r, 5);
    if (r() < 0.7) o.body = anyValue(r, 1);
    if (r() < 0.7) o.attributes = attrs(r, 4);
    if (r() < 0.2) o.droppedAttributesCount = int(r, 5);
    if (r() < 0.2) o.flags = int(r, 0x1ff);
    if (r() < 0.3) o.traceId = hex(r, 16);
    if (r() < 0.3) o.spanId = hex(r, 8);
    if (r() < 0.4) o.eventName = str(r, 8);
    return o;
  };
  const resourceLogs = Array.from({ length: 1 + int(r, 2) }, () => {
    const rl: Record<string, unknown> = {
      scopeLogs: Array.from({ length: int(r, 3) }, () => {
        const sl: Record<string, unknown> = { logRecords: Array.from({ length: int(r, 4) }, record) };
        if (r() < 0.7) sl.scope = { name: str(r, 5), version: str(r, 3), attributes: attrs(r, 2), droppedAttributesCount: int(r, 2) };
        if (r() < 0.2) sl.schemaUrl = str(r, 5);
        return sl;
      }),
    };
    if (r() < 0.8) {
      const res: Record<string, unknown> = { attributes: attrs(r, 3), droppedAttributesCount: int(r, 2) };
      if (r() < 0.3) {
        res.entityRefs = Array.from({ length: 1 + int(r, 2) }, () => ({
          schemaUrl: str(r, 3),
          type: str(r, 4),
          idKeys: [str(r, 3)],
          descriptionKeys: r() < 0.5 ? [] : [str(r, 3), str(r, 2)],
        }));
      }
      rl.resource = res;
    }
    if (r() < 0.2) rl.schemaUrl = str(r, 5);
    return rl;
  });
  return { resourceLogs };
}

// ---- The reference: protobufjs' decoded message turned into the canonical OTLP/JSON shape. ----
type J = Record<string, unknown>;
const TO_OBJECT = { longs: String, enums: Number, bytes: String, defaults: false, arrays: false } as const;

function refAny(v: J | undefined): J {
  if (v === undefined || v === null) return {};
  if (v.stringValue !== undefined) return { stringValue: v.stringValue };
  if (v.boolValue !== undefined) return { boolValue: v.boolValue };
  if (v.intValue !== undefined) return { intValue: typeof v.intValue === 'string' ? v.intValue : JSON.stringify(v.intValue) };
  if (v.doubleValue !== undefined) {
    const d = v.doubleValue as number | string;
    return { doubleValue: typeof d === 'number' && Number.isFinite(d) ? d : String(d) };
  }
  if (v.bytesValue !== undefined) return v.bytesValue === '' ? { bytesValue: '' } : { bytesValue: v.bytesValue };
  if (v.arrayValue !== undefined) {
    const values = ((v.arrayValue as J).values as J[] | undefined) ?? [];
    return { arrayValue: values.length ? { values: values.map(refAny) } : {} };
  }
  if (v.kvlistValue !== undefined) {
    const values = ((v.kvlistValue as J).values as J[] | undefined) ?? [];
    return { kvlistValue: values.length ? { values: values.map(refKv) } : {} };
  }
  return {};
}

function refKv(kv: J): J {
  const o: J = {};
  if (kv.key) o.key = kv.key;
  if (kv.value !== undefined && kv.value !== null) o.value = refAny(kv.value as J);
  return o;
}

function refAttrs(o: J, x: J | undefined): void {
  const a = (x?.attributes as J[] | undefined) ?? [];
  if (a.length) o.attributes = a.map(refKv);
  if (x?.droppedAttributesCount) o.droppedAttributesCount = x.droppedAttributesCount;
}

function refResource(x: J | undefined): J {
  const o: J = {};
  refAttrs(o, x);
  const refs = (x?.entityRefs as J[] | undefined) ?? [];
  if (refs.length) {
    o.entityRefs = refs.map((e) => {
      const r: J = {};
      if (e.schemaUrl) r.schemaUrl = e.schemaUrl;
      if (e.type) r.type = e.type;
      if ((e.idKeys as string[] | undefined)?.length) r.idKeys = e.idKeys;
      if ((e.descriptionKeys as string[] | undefined)?.length) r.descriptionKeys = e.descriptionKeys;
      return r;
    });
  }
  return o;
}

function refScope(x: J | undefined): J {
  const o: J = {};
  if (x?.name) o.name = x.name;
  if (x?.version) o.version = x.version;
  refAttrs(o, x);
  return o;
}

const b64hex = (s: unknown) => Buffer.from(String(s), 'base64').toString('hex');

function refRecord(x: J): J {
  const o: J = {};
  if (x.timeUnixNano && x.timeUnixNano !== '0') o.timeUnixNano = x.timeUnixNano;
  if (x.severityNumber) o.severityNumber = x.severityNumber;
  if (x.severityText) o.severityText = x.severityText;
  if (x.body !== undefined && x.body !== null) o.body = refAny(x.body as J);
  refAttrs(o, x);
  if (x.flags) o.flags = x.flags;
  if (x.traceId) o.traceId = b64hex(x.traceId);
  if (x.spanId) o.spanId = b64hex(x.spanId);
  if (x.observedTimeUnixNano && x.observedTimeUnixNano !== '0') o.observedTimeUnixNano = x.observedTimeUnixNano;
  if (x.eventName) o.eventName = x.eventName;
  return o;
}

/** The records protobufjs sees in `bytes`, as [resource, scope, record] objects. */
function reference(bytes: Uint8Array): J[][] {
  const msg = Req.toObject(Req.decode(bytes), TO_OBJECT);
  const out: J[][] = [];
  for (const rl of (msg.resourceLogs as J[] | undefined) ?? []) {
    const res = refResource(rl.resource as J | undefined);
    for (const sl of (rl.scopeLogs as J[] | undefined) ?? []) {
      const sc = refScope(sl.scope as J | undefined);
      for (const rec of (sl.logRecords as J[] | undefined) ?? []) out.push([res, sc, refRecord(rec)]);
    }
  }
  return out;
}

const ours = (d: DecodedRequest): J[][] =>
  d.records.map((r) => [JSON.parse(r.resource) as J, JSON.parse(r.scope) as J, JSON.parse(r.record) as J]);

/** Runs our decoder: its records, or null for a SealtrailError; anything else fails the test. */
function tryOurs(fn: () => DecodedRequest, what: string): J[][] | null {
  try {
    return ours(fn());
  } catch (err) {
    if (isSealtrailError(err)) return null;
    assert.fail(`${what}: not a SealtrailError: ${err instanceof Error ? err.stack : String(err)}`);
  }
}

function encode(obj: object): Uint8Array {
  return Req.encode(Req.fromObject(obj)).finish();
}

/** proto3 JSON text of a toObject-shaped request: NaN/Infinity as strings, -0 as -0.0, 64-bit as numbers or strings. */
function jsonText(obj: unknown, r: Rnd): string {
  const marks: string[] = [];
  const text = JSON.stringify(obj, (k, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
    if (Object.is(v, -0)) return '\u0000NEGZERO';
    // A 64-bit field sent as a bare JSON number half of the time: digits kept exactly.
    if ((k === 'intValue' || k === 'timeUnixNano' || k === 'observedTimeUnixNano') && typeof v === 'string' && r() < 0.5) {
      marks.push(v);
      return `\u0000NUM${marks.length - 1}`;
    }
    if ((k === 'traceId' || k === 'spanId') && typeof v === 'string') return b64hex(v);
    return v;
  });
  return text.replaceAll('"\\u0000NEGZERO"', '-0.0').replace(/"\\u0000NUM(\d+)"/g, (_m, i: string) => marks[Number(i)]!);
}

const CASES = 1500;

test(`fuzz: ${CASES} random requests: protobuf and JSON decode to what protobufjs sees`, () => {
  const r = prng(0x5ea1);
  for (let c = 0; c < CASES; c++) {
    const obj = randomRequest(r);
    const bytes = encode(obj);
    const ref = reference(bytes);
    const p = tryOurs(() => decodeProtobufRequest(bytes), `case ${c} protobuf`);
    assert.notEqual(p, null, `case ${c}: a valid request was refused`);
    assert.deepStrictEqual(p, ref, `case ${c} protobuf`);
    const text = jsonText(Req.toObject(Req.decode(bytes), TO_OBJECT), r);
    const j = tryOurs(() => decodeJsonRequest(Buffer.from(text)), `case ${c} JSON`);
    assert.deepStrictEqual(j, ref, `case ${c} JSON: ${text.slice(0, 300)}`);
  }
});

function mutate(r: Rnd, b: Uint8Array): Buffer {
  const out = Buffer.from(b);
  const n = 1 + int(r, 4);
  let buf = out;
  for (let i = 0; i < n && buf.length > 0; i++) {
    const at = int(r, buf.length);
    switch (int(r, 4)) {
      case 0:
        buf[at] = int(r, 256);
        break;
      case 1:
        buf[at] = buf[at]! ^ (1 << int(r, 8));
        break;
      case 2:
        buf = buf.subarray(0, at);
        break;
      default:
        buf = Buffer.concat([buf.subarray(0, at), Buffer.from([int(r, 256)]), buf.subarray(at)]);
    }
  }
  return buf;
}

test(`fuzz: ${CASES * 2} mutated protobuf requests: same records as protobufjs or our refusal`, (t) => {
  const r = prng(0xb17e);
  let refused = 0;
  let accepted = 0;
  let mergeDiffs = 0;
  for (let c = 0; c < CASES * 2; c++) {
    const bytes = mutate(r, encode(randomRequest(r)));
    const p = tryOurs(() => decodeProtobufRequest(bytes), `case ${c}`);
    if (p === null) {
      refused++;
      continue;
    }
    let ref: J[][];
    try {
      ref = reference(bytes);
    } catch (err) {
      assert.fail(`case ${c}: we accepted what protobufjs refuses (${String(err)}): ${bytes.toString('hex')}`);
    }
    accepted++;
    try {
      assert.deepStrictEqual(p, ref);
    } catch (err) {
      // proto3 merge of a repeated singular message field (protobufjs keeps the last). Only
      // tolerated when the input has one; then protobufjs' re-encoding (one occurrence each)
      // must decode to exactly what protobufjs saw.
      if (!hasRepeatedSingular(bytes)) throw err;
      const reencoded = encode(Req.toObject(Req.decode(bytes), TO_OBJECT));
      assert.deepStrictEqual(
        tryOurs(() => decodeProtobufRequest(reencoded), `case ${c} re-encoded`),
        reference(reencoded),
        `case ${c} re-encoded`,
      );
      mergeDiffs++;
    }
  }
  t.diagnostic(`refused ${refused}, accepted ${accepted} (${mergeDiffs} differing only by proto3 merge)`);
  // Most mutations break framing; enough must survive for the comparison to mean something.
  assert.ok(refused > 0 && accepted > CASES / 10, `refused ${refused}, accepted ${accepted}`);
  assert.ok(mergeDiffs < accepted / 10, `merge differences ${mergeDiffs} of ${accepted}`);
});

/** Whether some message in `b` repeats a singular message field (a proto3 merge). Rough: walks known nesting. */
function hasRepeatedSingular(b: Uint8Array): boolean {
  // Singular message fields: ResourceLogs.resource(1), ScopeLogs.scope(1), LogRecord.body(5),
  // KeyValue.value(2), AnyValue.array_value(5)/kvlist_value(6). A mutation that makes one of
  // them occur twice shows up as the same (field, LEN) tag twice at one level.
  const seen = (s: number, e: number, depth: number): boolean => {
    if (depth > 12) return false;
    const tags = new Map<number, number>();
    let pos = s;
    while (pos < e) {
      let tag = 0;
      let shift = 0;
      for (;;) {
        if (pos >= e) return false;
        const x = b[pos++]!;
        tag += (x & 0x7f) * 2 ** shift;
        shift += 7;
        if (x < 0x80 || shift > 35) break;
      }
      const wire = tag % 8;
      if (wire === 0) {
        while (pos < e && b[pos++]! >= 0x80);
      } else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else if (wire === 2) {
        let len = 0;
        shift = 0;
        for (;;) {
          if (pos >= e) return false;
          const x = b[pos++]!;
          len += (x & 0x7f) * 2 ** shift;
          shift += 7;
          if (x < 0x80 || shift > 35) break;
        }
        tags.set(tag, (tags.get(tag) ?? 0) + 1);
        if (pos + len <= e && seen(pos, pos + len, depth + 1)) return true;
        pos += len;
      } else return false;
    }
    for (const [tag, n] of tags) if (n > 1 && [1, 2, 5, 6].includes(Math.floor(tag / 8))) return true;
    return false;
  };
  return seen(0, b.length, 0);
}

/** Replaces one random leaf or member of `v` with a random JSON value. */
function mutateJson(r: Rnd, v: unknown): unknown {
  const odd = (): unknown =>
    pick(r, [
      null,
      true,
      'x',
      '',
      -1,
      1.5,
      1e308,
      '12',
      [],
      {},
      { stringValue: 1 },
      'NaN',
      '-Infinity',
      4294967296,
      'SEVERITY_NUMBER_WARN',
    ]);
  if (Array.isArray(v)) {
    if (v.length === 0 || r() < 0.15) return r() < 0.5 ? odd() : [...v, odd()];
    const i = int(r, v.length);
    return (v as unknown[]).map((x, k) => (k === i ? mutateJson(r, x) : x));
  }
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 0 || r() < 0.15)
      return r() < 0.5
        ? odd()
        : {
            ...v,
            [pick(r, ['stringValue', 'intValue', 'body', 'attributes', 'severityNumber', 'flags', 'traceId', 'key', 'value', 'values'])]:
              odd(),
          };
    const k = pick(r, keys);
    return { ...v, [k]: mutateJson(r, (v as J)[k]) };
  }
  return odd();
}

test(`fuzz: ${CASES * 2} mutated JSON requests and texts: a SealtrailError or the value sent`, (t) => {
  const r = prng(0x150e);
  let accepted = 0;
  let refused = 0;
  for (let c = 0; c < CASES * 2; c++) {
    const obj = Req.toObject(Req.decode(encode(randomRequest(r))), TO_OBJECT);
    const m = mutateJson(r, obj);
    let text = jsonText(m, r);
    if (c % 2 === 1) {
      // Text-level damage as well: a byte replaced, cut, or a big number literal inserted.
      const at = int(r, text.length);
      text = pick(r, [
        () =>
          text.slice(0, at) + pick(r, ['"', '{', ']', ',', '1e400', '-0', '18446744073709551616', '\\u', '\u0000']) + text.slice(at + 1),
        () => text.slice(0, at),
        () => text.replace(/"intValue":"(-?\d+)"/, '"intValue":$1e0'),
      ])();
    }
    const j = tryOurs(() => decodeJsonRequest(Buffer.from(text)), `case ${c}: ${text.slice(0, 200)}`);
    if (j === null) {
      refused++;
      continue;
    }
    accepted++;
    // What we accepted, re-sent as protobuf by protobufjs, must decode to the same records
    // (only where protobufjs can represent it: its fromObject coerces, so it is the witness,
    // not the judge, of what the JSON meant).
    let bytes: Uint8Array;
    try {
      bytes = encode(objFromOurs(j));
    } catch {
      continue;
    }
    assert.deepStrictEqual(
      tryOurs(() => decodeProtobufRequest(bytes), `case ${c} re-encoded`),
      j,
      `case ${c}: ${text.slice(0, 300)}`,
    );
  }
  t.diagnostic(`accepted ${accepted}, refused ${refused}`);
  assert.ok(accepted > CASES / 4 && refused > CASES / 4, `accepted ${accepted}, refused ${refused}`);
});

// Our records regrouped one ResourceLogs per record, in protobufjs' fromObject form (ids as
// base64, non-finite doubles as numbers; built directly so -0 survives).
function objFromOurs(recs: J[][]): object {
  const conv = (v: unknown, key: string): unknown => {
    if (key === 'doubleValue' && typeof v === 'string') return Number(v);
    if ((key === 'traceId' || key === 'spanId') && typeof v === 'string') return Buffer.from(v, 'hex').toString('base64');
    if (Array.isArray(v)) return v.map((x) => conv(x, ''));
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, conv(x, k)]));
    return v;
  };
  return { resourceLogs: recs.map(([res, sc, rec]) => conv({ resource: res, scopeLogs: [{ scope: sc, logRecords: [rec] }] }, '')) };
}
