// Exact JSON numbers for OTLP/JSON on Node 20, whose JSON.parse neither gives a reviver the
// source text (V8 11.4+) nor keeps digits beyond a double: 18446744073709551615 would come out
// as 18446744073709552000. Before JSON.parse, one pass over the text
//   - counts values (each comma, plus two per object or array as those cost ~90 bytes each
//     once parsed), so a body of 5 million `{}` or `1.5` is refused before its tree is built;
//   - rewrites every number literal a double may not hold exactly (an exponent, or more than
//     15 digits) into a string marked by a leading U+DBFF, so the decoder sees its digits.
// The marker is a lone high surrogate, which no accepted OTLP string may contain; a body that
// spells that surrogate as an escape while also needing a rewrite is refused rather than
// risking a string being read as a number.
import { badRequest, tooLarge } from './canonical.js';

/** First character of a rewritten number literal (the rest is the literal's text). */
export const NUMBER_MARK = '\udbff';

function tooManyValues(max: number): Error {
  return tooLarge(`JSON body holds more than ${max} values (objects and arrays count twice; max_request_canonical_size / 8)`);
}

const NUMBER_RE = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
const MARK_ESCAPE_RE = /\\u[dD][bB][fF][fF]/;

// Whether the last prepareJson call rewrote a literal: only then can a marked string be one of
// ours (otherwise a sent "\udbff12" would pass for the number 12).
let marked = false;

/** The literal's text if `v` is a rewritten number (of the last prepared body), else null. */
export function numberLiteral(v: unknown): string | null {
  return marked && typeof v === 'string' && v.charCodeAt(0) === 0xdbff ? v.slice(1) : null;
}

/**
 * Returns `text` with inexact number literals rewritten (or `text` itself when none is).
 * Malformed JSON is left for JSON.parse to report, except a malformed literal that would
 * have been rewritten. Throws TOO_LARGE when commas + 2 * (objects + arrays) exceed `maxCost`.
 */
export function prepareJson(text: string, maxCost: number): string {
  marked = false;
  let cost = 0;
  let out: string[] | null = null;
  let copied = 0; // text before this index is already in `out`
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string: find a quote preceded by an even number of backslashes.
      let q = i;
      for (;;) {
        q = text.indexOf('"', q + 1);
        if (q < 0) return text; // unterminated: JSON.parse reports it
        let k = q - 1;
        while (text.charCodeAt(k) === 0x5c) k--;
        if ((q - 1 - k) % 2 === 0) break;
      }
      i = q;
    } else if (c === 0x2c || c === 0x7b || c === 0x5b) {
      if ((cost += c === 0x2c ? 1 : 2) > maxCost) throw tooManyValues(maxCost);
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      let digits = c === 0x2d ? 0 : 1;
      let exponent = false;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d >= 0x30 && d <= 0x39) digits++;
        else if (d === 0x65 || d === 0x45) exponent = true;
        else if (d !== 0x2e && d !== 0x2b && d !== 0x2d) break;
      }
      if (exponent || digits > 15) {
        const lit = text.slice(i, j);
        if (!NUMBER_RE.test(lit)) throw badRequest(`invalid OTLP/JSON: malformed number ${lit.slice(0, 40)}`);
        (out ??= []).push(text.slice(copied, i), '"\\udbff', lit, '"');
        copied = j;
      }
      i = j - 1;
    }
  }
  if (out === null) return text;
  if (MARK_ESCAPE_RE.test(text)) {
    throw badRequest(
      'invalid OTLP/JSON: a body with \\udbff escapes cannot also carry numbers beyond 15 digits or with exponents; send 64-bit integers as strings',
    );
  }
  out.push(text.slice(copied));
  marked = true;
  return out.join('');
}

/**
 * The exact integer a JSON number literal denotes, or null when it is not an integer.
 * Values with more than 20 digits come back as 2^64 + 1 (outside every 64-bit range) without
 * building a huge BigInt.
 */
export function literalInteger(lit: string): bigint | null {
  const m = NUMBER_RE.exec(lit);
  if (m === null) return null;
  let digits = (m[1]! + (m[2] ?? '').slice(1)).replace(/^0+/, '');
  if (digits === '') return 0n;
  const expText = m[3] === undefined ? '0' : m[3].slice(1);
  let exp = -((m[2] ?? '.').length - 1);
  // A long exponent only matters through its sign: the digits alone are at most the text's length.
  const e = expText.replace(/^[+-]?0*/, '');
  if (e.length > 9) return expText.startsWith('-') ? null : OVER;
  exp += Number(expText);
  const trimmed = digits.replace(/0+$/, '');
  exp += digits.length - trimmed.length;
  digits = trimmed;
  if (exp < 0) return null;
  if (digits.length + exp > 20) return OVER;
  const v = BigInt(digits) * 10n ** BigInt(exp);
  return lit.startsWith('-') ? -v : v;
}

const OVER = (1n << 64n) + 1n;
