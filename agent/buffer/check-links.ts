// The check of entry lines read back from the buffer, before any sink gets them. Its own module
// so the sink worker can run it (exporters/worker/sink-worker.ts) without loading the buffer.
import { SealtrailError } from '../../lib/errors.js';
import { leafHash } from '../../verify/merkle.js';
import { sha256String } from '../../verify/sha256.js';

const HEAD = Buffer.from('{"v":1,"seq":', 'latin1');
const PREV = Buffer.from(',"prev":"', 'latin1');
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/**
 * Checks what LevelDB hands back before it is delivered: a damaged table must stop delivery
 * (BUFFER_CORRUPT, retried and reported), never reach a sink. Each line must end in '\n', start
 * with `{"v":1,"seq":<the next seq>,"prev":"<64 lowercase hex>"` and link to the hash of the line
 * before it (the first line's link is checked by verifiers). Runs for every entry of a lagging
 * sink's batches, so it reads bytes, not strings: the byte before a line briefly holds the leaf
 * prefix 0x00 while the line is hashed, and is put back.
 */
export function checkLinks(lines: Buffer, start: number): void {
  let from = 0;
  let seq = start;
  // Hashes as latin1 strings: node:crypto returns a string digest for a third of the cost of a Buffer one.
  let prev: string | null = null;
  while (from < lines.length) {
    const nl = lines.indexOf(0x0a, from);
    if (nl < 0 || !linksTo(lines, from, nl, seq, prev)) {
      throw new SealtrailError('BUFFER_CORRUPT', `entry ${seq} read back from the buffer is damaged`);
    }
    if (from === 0) prev = Buffer.from(leafHash(lines.subarray(0, nl))).toString('latin1');
    else {
      const before = lines[from - 1]!;
      lines[from - 1] = 0x00; // the leaf prefix
      prev = sha256String(lines.subarray(from - 1, nl));
      lines[from - 1] = before;
    }
    seq++;
    from = nl + 1;
  }
}

/** Whether the line at [s, e) carries `seq` and links to `prev` (any hex when null). */
function linksTo(b: Buffer, s: number, e: number, seq: number, prev: string | null): boolean {
  let p = s;
  if (e - p < HEAD.length || b.compare(HEAD, 0, HEAD.length, p, p + HEAD.length) !== 0) return false;
  p += HEAD.length;
  let n = 0;
  const digits = p;
  while (p < e && p - digits <= 16 && b[p]! >= 0x30 && b[p]! <= 0x39) n = n * 10 + (b[p++]! - 0x30);
  if (p === digits || n !== seq) return false;
  if (e - p < PREV.length + 65 || b.compare(PREV, 0, PREV.length, p, p + PREV.length) !== 0) return false;
  p += PREV.length;
  for (let i = 0; i < 32; i++) {
    const hi = b[p + 2 * i]!;
    const lo = b[p + 2 * i + 1]!;
    if (prev !== null) {
      const h = prev.charCodeAt(i);
      if (hi !== HEX[h >>> 4] || lo !== HEX[h & 15]) return false;
    } else if (!isHex(hi) || !isHex(lo)) return false;
  }
  return b[p + 64] === 0x22;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
}
