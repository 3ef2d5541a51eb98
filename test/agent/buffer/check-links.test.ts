// checkLinks, the check of lines read back from the buffer: a chain of real v1 entry lines
// passes and is left byte for byte as it was; each kind of damage is refused with
// BUFFER_CORRUPT naming the first entry that does not link.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLinks } from '../../../agent/buffer/check-links.js';
import { encodeEntry, entryHash } from '../../../agent/chain/entry.js';
import { isSealtrailError } from '../../../lib/errors.js';

function chainLines(start: number, n: number, firstPrev = 'ab'.repeat(32)): string[] {
  const lines: string[] = [];
  let prev = firstPrev;
  for (let i = 0; i < n; i++) {
    const line = encodeEntry(start + i, prev, '2026-12-02T10:00:00.000Z', '"prod"', {
      resource: '{}',
      scope: '{"name":"é"}',
      record: JSON.stringify({ body: { stringValue: `record ${i} ✓` } }),
    });
    lines.push(line);
    prev = Buffer.from(entryHash(Buffer.from(line, 'utf8'))).toString('hex');
  }
  return lines;
}

const joined = (lines: string[]) => Buffer.from(lines.map((l) => l + '\n').join(''), 'utf8');

function refused(buf: Buffer, start: number, entry: number): void {
  assert.throws(
    () => checkLinks(buf, start),
    (e: unknown) => isSealtrailError(e, 'BUFFER_CORRUPT') && e.message === `entry ${entry} read back from the buffer is damaged`,
  );
}

test('checkLinks: a linked run of entry lines passes and is left unchanged', () => {
  for (const start of [0, 7, 123456789012]) {
    const buf = joined(chainLines(start, 20));
    const copy = Buffer.from(buf);
    checkLinks(buf, start);
    assert.equal(Buffer.compare(buf, copy), 0);
  }
});

test('checkLinks: each kind of damage is refused at the first entry that does not link', () => {
  const lines = chainLines(5, 6);
  refused(joined(lines), 4, 4); // another seq than expected
  refused(joined(lines).subarray(0, joined(lines).length - 1), 5, 10); // the last line lost its newline
  const changed = [...lines];
  changed[2] = changed[2]!.replace('record 2', 'record X'); // its own head is fine: the next one no longer links
  refused(joined(changed), 5, 8);
  const dropped = [...lines.slice(0, 3), ...lines.slice(4)]; // a line missing: the seq jumps
  refused(joined(dropped), 5, 8); // entry 8 was expected where 9 stands
  const upper = chainLines(5, 2, 'AB'.repeat(32)); // the first prev must be lowercase hex
  refused(joined(upper), 5, 5);
  refused(Buffer.from('{"v":1,"seq":5,"prev":"' + 'ab'.repeat(31) + '"}\n'), 5, 5); // a short prev
  refused(Buffer.from('{"v":2,"seq":5}\n'), 5, 5);
  refused(Buffer.from('\n'), 5, 5);
});
