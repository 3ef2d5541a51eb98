import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandString } from '../../config/env.js';
import { parseDuration, parseSize } from '../../config/units.js';

test('parseSize: units, decimals, and refusals', () => {
  const ok: Array<[unknown, number]> = [
    [0, 0],
    [1234, 1234],
    ['1234', 1234],
    ['1B', 1],
    ['512KiB', 524288],
    ['4MiB', 4194304],
    ['1GiB', 1073741824],
    ['1TiB', 2 ** 40],
    ['10MB', 10_000_000],
    ['2kB', 2000],
    ['2KB', 2000],
    ['1.5MiB', 1572864],
    [' 4 MiB ', 4194304],
  ];
  for (const [v, want] of ok) assert.equal(parseSize(v), want, String(v));
  for (const v of [-1, 1.5, '1.5', '4mib', '4Mb', 'MiB', '', '4 MeB', '0x10', null, true, {}, '1e3', '99999999TiB']) {
    assert.equal(parseSize(v), null, JSON.stringify(v));
  }
});

test('parseDuration: Go-style units, composites, and refusals', () => {
  const ok: Array<[string, number]> = [
    ['0', 0],
    ['500ms', 500],
    ['5s', 5000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1h2m3s4ms', 3_723_004],
  ];
  for (const [v, want] of ok) assert.equal(parseDuration(v), want, v);
  for (const v of ['5', '', 's', '5 s', '5S', '5d', '-1s', '5s5', 5, null]) assert.equal(parseDuration(v), null, String(v));
});

test('expandString: every rule of the documented grammar', () => {
  const env = { A: 'a', EMPTY: '', DOLLAR: '$$' };
  const cases: Array<[string, string]> = [
    ['${env:A}', 'a'],
    ['x${env:A}y${env:A}', 'xaya'],
    ['${env:EMPTY}', ''],
    ['${env:MISSING:-d}', 'd'],
    ['${env:EMPTY:-d}', 'd'],
    ['${env:A:-d}', 'a'],
    ['${env:MISSING:-}', ''],
    ['${env:MISSING:-a:-b c}', 'a:-b c'],
    ['$$', '$'],
    ['$${env:A}', '${env:A}'],
    ['$$$', '$$'],
    ['$', '$'],
    ['a$b', 'a$b'],
    ['${env:DOLLAR}', '$$'], // values are not expanded again
  ];
  for (const [s, want] of cases) assert.deepEqual(expandString(s, env), { value: want, errors: [] }, s);
  const bad: Array<[string, string]> = [
    ['${env:MISSING}', 'environment variable MISSING is not set (use ${env:MISSING:-default} to give a default)'],
    ['${A}', 'unsupported substitution "${A}" (use ${env:VAR} or ${env:VAR:-default}; $$ for a literal $)'],
    ['${}', 'unsupported substitution "${}" (use ${env:VAR} or ${env:VAR:-default}; $$ for a literal $)'],
    ['${env:}', 'invalid environment variable name "" in "${env:}"'],
    ['${env:1X}', 'invalid environment variable name "1X" in "${env:1X}"'],
    ['${env:A', 'unterminated "${" (write $$ for a literal $)'],
  ];
  for (const [s, msg] of bad) assert.deepEqual(expandString(s, env).errors, [msg], s);
});
