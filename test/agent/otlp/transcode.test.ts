// The decode worker's byte transcoder (agent/otlp/transcode-protobuf.ts) against the full
// decoder: for every input, either the transcoder gives up (null) or its entry tails, counts and
// context tally are exactly what decodeProtobufRequest + prepareRequest give, and it never
// accepts what the full decoder refuses. Inputs are random requests written field by field
// (escapes, non-ASCII, 64-bit extremes, repeated and unknown fields, nested values, invalid
// UTF-8), the same requests mutated byte by byte, tight budgets, and several filters and
// audit_context configs. Seeded, so a failure names a reproducible case. Requests that use only
// what SDKs send must take the fast path: otherwise the test would pass with a transcoder that
// always gives up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { transcodeProtobuf } from '../../../agent/otlp/transcode-protobuf.js';
import { decodeProtobufRequest } from '../../../agent/otlp/decode-protobuf.js';
import { prepareRequest, type PreparedRequest } from '../../../agent/pipeline/prepare.js';
import { compileFilter, DEFAULT_RULES, type AuditFilter } from '../../../agent/filter/audit-filter.js';
import { AuditContextProcessor } from '../../../agent/context/audit-context.js';
import { auditContextProcessor } from '../../../config/audit-context.js';
import { INVALID, type Ctx } from '../../../config/schema.js';
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from '../../../agent/otlp/model.js';
import { entryOverheadBytes } from '../../../agent/chain/entry.js';
import { isSealtrailError } from '../../../lib/errors.js';
import type { AuditContextConfig } from '../../../config/types.js';
import { prng } from '../../helpers/prng.js';

type Rnd = () => number;
const int = (r: Rnd, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rnd, xs: readonly T[]): T => xs[int(r, xs.length)]!;

// ---- protobuf written field by field, so repeated, unknown and malformed fields can be made ----
function varint(v: bigint): Buffer {
  let u = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
  return Buffer.from(out);
}
const tag = (field: number, wire: number) => varint(BigInt((field << 3) | wire));
const len = (field: number, payload: Buffer) => Buffer.concat([tag(field, 2), varint(BigInt(payload.length)), payload]);
const vfield = (field: number, v: bigint) => Buffer.concat([tag(field, 0), varint(v)]);
function fixed64(field: number, v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return Buffer.concat([tag(field, 1), b]);
}
function double(field: number, d: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(d);
  return Buffer.concat([tag(field, 1), b]);
}
function fixed32(field: number, n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return Buffer.concat([tag(field, 5), b]);
}
const utf8 = (s: string) => Buffer.from(s, 'utf8');

const CHARS = [
  'a',
  'Z',
  '0',
  ' ',
  '"',
  '\\',
  '\n',
  '\t',
  '\b',
  '\f',
  '\r',
  '\u0000',
  '\u0001',
  '\u001f',
  '\u007f',
  'é',
  '✓',
  '\u2028',
  '😀',
  '/',
];
function text(r: Rnd, max = 12): string {
  let s = '';
  for (let i = int(r, max); i > 0; i--) s += pick(r, CHARS);
  return s;
}
const U64 = [
  0n,
  1n,
  1000n,
  (1n << 53n) - 1n,
  (1n << 53n) + 1n,
  (1n << 63n) - 1n,
  1n << 63n,
  (1n << 64n) - 1n,
  1700000000123456789n,
  9999999n,
  10000000n,
];
const I64 = [0n, -1n, 1n, 9n, 10n, (1n << 53n) + 1n, -(1n << 63n), (1n << 63n) - 1n, -9007199254740993n, 12345678901234n];
const DOUBLES = [0, -0, 1.5, -2.25e-300, 1e300, 1e21, 5e-324, Number.MAX_VALUE, NaN, Infinity, -Infinity, 0.1, 123456789.123];
const INVALID_UTF8 = Buffer.from([0x61, 0xc3, 0x28]);

/** What a generated request holds that sends the transcoder to the full decoder. */
interface Gen {
  r: Rnd;
  /** The request uses only what the transcoder handles itself. */
  clean: boolean;
  /** Allow features the transcoder leaves to the full decoder. */
  wild: boolean;
}

function anyValue(g: Gen, depth: number): Buffer {
  const r = g.r;
  const parts: Buffer[] = [];
  const kinds = g.wild ? 9 : 6;
  switch (int(r, kinds)) {
    case 0:
      parts.push(len(1, utf8(text(r))));
      break;
    case 1:
      parts.push(vfield(2, r() < 0.5 ? 1n : 0n));
      break;
    case 2:
      parts.push(vfield(3, pick(r, I64)));
      break;
    case 3:
      parts.push(double(4, pick(r, DOUBLES)));
      break;
    case 4:
      parts.push(len(7, Buffer.from(Array.from({ length: int(r, 7) }, () => int(r, 256)))));
      break;
    case 5:
      break; // an empty AnyValue
    case 6:
      g.clean = false;
      parts.push(
        len(5, Buffer.concat(Array.from({ length: int(r, 3) }, () => len(1, depth < 3 ? anyValue(g, depth + 1) : Buffer.alloc(0))))),
      );
      break;
    case 7:
      g.clean = false;
      parts.push(len(6, Buffer.concat(Array.from({ length: int(r, 3) }, () => len(1, keyValue(g, depth + 1))))));
      break;
    default:
      g.clean = false;
      parts.push(len(1, INVALID_UTF8));
  }
  // A value field sent twice (last wins), and unknown fields, which are skipped.
  if (r() < 0.1) parts.push(pick(r, [len(1, utf8(text(r, 4))), vfield(3, pick(r, I64)), vfield(2, 1n)]));
  if (r() < 0.1) parts.push(vfield(15, 7n));
  return Buffer.concat(parts);
}

const KEYS = ['audit', 'user.id', 'actor', 'action', 'resource', 'result', 'environment', 'deployment.environment.name', 'n', ''];

function keyValue(g: Gen, depth: number): Buffer {
  const r = g.r;
  const parts: Buffer[] = [];
  if (r() < 0.9) parts.push(len(1, utf8(r() < 0.7 ? pick(r, KEYS) : text(r, 6))));
  if (r() < 0.9) parts.push(len(2, anyValue(g, depth)));
  if (r() < 0.05) parts.push(len(1, utf8(pick(r, KEYS)))); // a second key: the last wins
  if (g.wild && r() < 0.05) {
    g.clean = false;
    parts.push(len(2, anyValue(g, depth))); // a second value: merged by the full decoder
  }
  if (r() < 0.05) parts.push(fixed32(9, 3));
  return Buffer.concat(r() < 0.2 ? parts.reverse() : parts);
}

const attribute = (key: string, value: Buffer) => len(6, Buffer.concat([len(1, utf8(key)), len(2, value)]));

function logRecord(g: Gen): Buffer {
  const r = g.r;
  const f: Buffer[] = [];
  if (r() < 0.8) f.push(fixed64(1, pick(r, U64)));
  if (r() < 0.4) f.push(fixed64(11, pick(r, U64)));
  if (r() < 0.6) f.push(vfield(2, BigInt(pick(r, [1, 9, 17, 24, -3, 2147483647, 4294967295]))));
  if (r() < 0.4) f.push(len(3, utf8(pick(r, ['INFO', 'WARN', text(r, 5)]))));
  if (r() < 0.7) f.push(len(5, anyValue(g, 1)));
  if (r() < 0.7) f.push(attribute('audit', vfield(2, 1n)));
  if (r() < 0.3) f.push(attribute('audit', len(1, utf8('true'))));
  for (let i = int(r, 6); i > 0; i--) f.push(len(6, keyValue(g, 1)));
  if (r() < 0.5) f.push(attribute(pick(r, ['user.id', 'action', 'resource', 'result']), len(1, utf8(pick(r, ['alice', '', 'x'])))));
  if (r() < 0.2) f.push(vfield(7, BigInt(int(r, 5))));
  if (r() < 0.2) f.push(fixed32(8, int(r, 0x1ff)));
  if (r() < 0.3) f.push(len(9, Buffer.alloc(pick(r, g.wild ? [16, 16, 0, 5] : [16, 0]), 0xab)));
  if (r() < 0.3) f.push(len(10, Buffer.alloc(pick(r, g.wild ? [8, 8, 0, 3] : [8, 0]), 0x5c)));
  if (r() < 0.4) f.push(len(12, utf8(pick(r, ['audit.login', 'other', text(r, 6)]))));
  if (r() < 0.1) f.push(vfield(20, 1n)); // unknown
  if (r() < 0.05) f.push(len(3, utf8(text(r, 3)))); // severity_text again: the last wins
  if (g.wild && r() < 0.05) {
    g.clean = false;
    f.push(len(5, anyValue(g, 1))); // a second body: merged by the full decoder
  }
  if (g.wild && r() < 0.03) {
    g.clean = false;
    f.push(len(12, INVALID_UTF8));
  }
  for (let i = f.length - 1; i > 0; i--) {
    if (r() < 0.3) {
      const j = int(r, i + 1);
      [f[i], f[j]] = [f[j]!, f[i]!];
    }
  }
  const out = Buffer.concat(f);
  // A slot of a buffer whose fields happened to come out with a wrong length: left to the decoder.
  if (g.wild && (out.includes(Buffer.from([0x4a, 0x05])) || out.includes(Buffer.from([0x52, 0x03])))) g.clean = false;
  return out;
}

function request(g: Gen): Buffer {
  const r = g.r;
  const rls: Buffer[] = [];
  for (let i = 1 + int(r, 2); i > 0; i--) {
    const rl: Buffer[] = [];
    if (r() < 0.8) {
      const res: Buffer[] = [attribute('service.name', len(1, utf8(pick(r, ['billing', 'svc "q"', 'é']))))];
      if (r() < 0.5) res.push(attribute('deployment.environment.name', len(1, utf8(pick(r, ['prod', 'staging'])))));
      if (r() < 0.3) res.push(len(1, keyValue(g, 1)));
      if (r() < 0.2) res.push(vfield(2, 2n));
      rl.push(len(1, Buffer.concat(res)));
    }
    if (r() < 0.2) rl.push(len(3, utf8('https://schema/' + text(r, 3))));
    for (let j = int(r, 3); j > 0; j--) {
      const sl: Buffer[] = [];
      if (r() < 0.8) sl.push(len(1, Buffer.concat([len(1, utf8(pick(r, ['audit-lib', 'lib', text(r, 4)]))), len(2, utf8('1.2.3'))])));
      if (r() < 0.2) sl.push(len(3, utf8('s')));
      for (let k = int(r, 6); k > 0; k--) sl.push(len(2, logRecord(g)));
      rl.push(len(2, Buffer.concat(sl)));
    }
    rls.push(len(1, Buffer.concat(rl)));
  }
  if (r() < 0.1) rls.push(vfield(9, 1n));
  return Buffer.concat(rls);
}

function contextConfig(raw: unknown): AuditContextConfig {
  const ctx: Ctx = { errors: [], cwd: '/' };
  const c = auditContextProcessor(raw, 'processors.audit_context', ctx);
  assert.notEqual(c, INVALID, ctx.errors.join('\n'));
  return c as AuditContextConfig;
}

const FILTERS: Array<[string, AuditFilter]> = [
  ['default rules', compileFilter(DEFAULT_RULES)],
  ['attribute n=9', compileFilter([{ attribute: { key: 'n', value: '9' } }])],
  ['any attribute n, severity >= 17', compileFilter([{ attribute: { key: 'n', value: null } }, { minSeverity: 17 }])],
  ['scope and resource', compileFilter([{ scopeName: 'lib' }, { resourceAttribute: { key: 'service.name', value: 'billing' } }])],
  ['event name', compileFilter([{ eventName: 'audit.login' }, { scopeNamePrefix: 'audit' }])],
];

const CONTEXTS: Array<[string, AuditContextProcessor | null]> = [
  ['no audit_context', null],
  ['audit_context count', new AuditContextProcessor(contextConfig({}), 'prod')],
  [
    'audit_context reject',
    new AuditContextProcessor(contextConfig({ fields: { actor: { missing: 'reject' } }, environment_mismatch: 'reject' }), 'prod'),
  ],
];

const TIGHT: DecodeLimits = {
  ...DEFAULT_DECODE_LIMITS,
  maxRecords: 6,
  maxAttributes: 5,
  maxEntryBytes: entryOverheadBytes('development') + 420,
  maxCanonicalSize: 2500,
};

function plain(p: PreparedRequest) {
  return {
    ...p,
    tails: p.tails === null ? null : { bytes: Buffer.from(p.tails.bytes).toString('latin1'), ends: Array.from(p.tails.ends) },
  };
}

/** Runs both paths on `body`; fails on any difference. Returns whether the transcoder answered. */
function compare(body: Buffer, limits: DecodeLimits, filter: AuditFilter, context: AuditContextProcessor | null, what: string): boolean {
  let slow: { prepared: PreparedRequest } | { error: Error };
  try {
    const req = decodeProtobufRequest(body, limits);
    slow = { prepared: prepareRequest(req, filter, context) };
  } catch (err) {
    assert.ok(isSealtrailError(err), `${what}: the full decoder threw a non-SealtrailError: ${String(err)}`);
    slow = { error: err };
  }
  const fast = transcodeProtobuf(body, limits, filter, context);
  if (fast === null) return false;
  if ('error' in slow) assert.fail(`${what}: the transcoder accepted what the full decoder refuses (${slow.error.message})`);
  assert.deepEqual(plain(fast), plain(slow.prepared), what);
  return true;
}

test('transcoder: requests of what SDKs send take the fast path and give the full decoder’s bytes', () => {
  const r = prng(0x7a11);
  let cases = 0;
  let audit = 0;
  for (let c = 0; c < 400; c++) {
    const g: Gen = { r, clean: true, wild: false };
    const body = request(g);
    for (const [fname, filter] of FILTERS) {
      for (const [cname, context] of CONTEXTS) {
        const what = `clean case ${c}, ${fname}, ${cname}`;
        const fast = compare(body, DEFAULT_DECODE_LIMITS, filter, context, what);
        if (cname === 'audit_context reject' && !fast) continue; // a reject is left to the full decoder
        assert.ok(fast, `${what}: the transcoder gave up on a request it covers`);
        cases++;
        audit += transcodeProtobuf(body, DEFAULT_DECODE_LIMITS, filter, context)!.audit;
      }
    }
  }
  assert.ok(cases > 5000, `only ${cases} comparisons`);
  assert.ok(audit > 3000, `only ${audit} audit records compared`);
});

test('transcoder: nested values, repeated fields, invalid UTF-8, wrong lengths and tight budgets: same result or the full decoder decides', () => {
  const r = prng(0xbad5eed);
  let fast = 0;
  let slowOnly = 0;
  for (let c = 0; c < 600; c++) {
    const g: Gen = { r, clean: true, wild: true };
    const body = request(g);
    for (const limits of [DEFAULT_DECODE_LIMITS, TIGHT]) {
      const [fname, filter] = pick(r, FILTERS);
      const [cname, context] = pick(r, CONTEXTS);
      const what = `wild case ${c}, ${limits === TIGHT ? 'tight' : 'default'} limits, ${fname}, ${cname}`;
      if (compare(body, limits, filter, context, what)) fast++;
      else slowOnly++;
    }
  }
  assert.ok(fast > 100 && slowOnly > 100, `fast ${fast}, full decoder ${slowOnly}: the inputs do not exercise both paths`);
});

test('transcoder: mutated requests (flipped, dropped, repeated bytes) never give another result than the full decoder', () => {
  const r = prng(0x3017);
  let fast = 0;
  for (let c = 0; c < 1500; c++) {
    const g: Gen = { r, clean: true, wild: c % 2 === 0 };
    const body = Buffer.from(request(g));
    const n = 1 + int(r, 3);
    let m = body;
    for (let k = 0; k < n && m.length > 0; k++) {
      const at = int(r, m.length);
      switch (int(r, 4)) {
        case 0:
          m[at] = int(r, 256);
          break;
        case 1:
          m = m.subarray(0, at);
          break;
        case 2:
          m = Buffer.concat([m.subarray(0, at), m.subarray(at + 1 + int(r, 4))]);
          break;
        default:
          m = Buffer.concat([m.subarray(0, at), m.subarray(at, at + 1 + int(r, 6)), m.subarray(at)]);
      }
    }
    const [fname, filter] = pick(r, FILTERS);
    const [cname, context] = pick(r, CONTEXTS);
    if (compare(m, c % 3 === 0 ? TIGHT : DEFAULT_DECODE_LIMITS, filter, context, `mutated case ${c}, ${fname}, ${cname}`)) fast++;
  }
  assert.ok(fast > 50, `only ${fast} mutated requests took the fast path`);
});

test('transcoder: escapes, non-ASCII and number edges, one record at a time', () => {
  const filter = compileFilter([{ attribute: { key: 'k', value: null } }]);
  const values: Buffer[] = [
    len(1, utf8('')),
    len(1, utf8('"\\/\b\f\n\r\t\u0000\u0001\u001f\u007f é ✓ \u2028 😀 \ufeff')),
    vfield(2, 0n),
    vfield(2, 5n),
    ...I64.map((v) => vfield(3, v)),
    ...DOUBLES.map((d) => double(4, d)),
    len(7, Buffer.alloc(0)),
    len(7, Buffer.from([0, 255, 1, 2, 3])),
    Buffer.alloc(0),
  ];
  for (const [i, v] of values.entries()) {
    for (const t of U64) {
      const rec = Buffer.concat([fixed64(1, t), vfield(2, -5n), attribute('k', v), len(5, v), fixed64(11, t)]);
      const body = len(1, len(2, len(2, rec)));
      assert.ok(compare(body, DEFAULT_DECODE_LIMITS, filter, null, `value ${i}, time ${t}`), `value ${i}, time ${t}: not transcoded`);
    }
  }
});

test('transcoder: a record whose entry would exceed max_entry_size is left to the full decoder, which refuses it', () => {
  const limits: DecodeLimits = { ...DEFAULT_DECODE_LIMITS, maxEntryBytes: DEFAULT_DECODE_LIMITS.entryOverheadBytes + 300 };
  const filter = compileFilter(DEFAULT_RULES);
  // 150 quotes: 150 bytes of protobuf, 300 once escaped, so the record is over 300 bytes.
  const rec = Buffer.concat([attribute('audit', vfield(2, 1n)), len(5, len(1, utf8('"'.repeat(150))))]);
  const body = len(1, len(2, len(2, rec)));
  assert.equal(transcodeProtobuf(body, limits, filter, null), null);
  assert.throws(
    () => decodeProtobufRequest(body, limits),
    (e: unknown) => isSealtrailError(e, 'TOO_LARGE'),
  );
});

test('transcoder: a string longer than an entry may be is refused by the full decoder even when a later occurrence replaces it', () => {
  const limits: DecodeLimits = { ...DEFAULT_DECODE_LIMITS, maxEntryBytes: DEFAULT_DECODE_LIMITS.entryOverheadBytes + 300 };
  const filter = compileFilter(DEFAULT_RULES);
  const long = utf8('x'.repeat(400));
  const records = [
    Buffer.concat([attribute('audit', vfield(2, 1n)), len(3, long), len(3, utf8('INFO'))]), // severity_text twice
    Buffer.concat([attribute('audit', vfield(2, 1n)), len(6, Buffer.concat([len(1, long), len(1, utf8('k'))]))]), // key twice
    Buffer.concat([attribute('audit', Buffer.concat([len(1, long), vfield(2, 1n)]))]), // string value, then bool
  ];
  for (const [i, rec] of records.entries()) {
    const body = len(1, len(2, len(2, rec)));
    assert.equal(transcodeProtobuf(body, limits, filter, null), null, `record ${i}`);
    assert.throws(
      () => decodeProtobufRequest(body, limits),
      (e: unknown) => isSealtrailError(e, 'TOO_LARGE'),
      `record ${i}`,
    );
  }
});
