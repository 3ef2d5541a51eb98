// The check of entry lines read back from the buffer, before any sink gets them. Its own module
// so the sink worker can run it (exporters/worker/sink-worker.ts) without loading the buffer.
import { SealtrailError } from '../../lib/errors.js';
import { entryHash } from '../chain/entry.js';

/**
 * Checks what LevelDB hands back before it is delivered: a damaged table must stop delivery
 * (BUFFER_CORRUPT, retried and reported), never reach a sink. Each line must carry the next seq
 * and link to the hash of the line before it (the first line's link is checked by verifiers).
 */
export function checkLinks(lines: Buffer, start: number): void {
  let from = 0;
  let seq = start;
  let prev: string | null = null;
  while (from < lines.length) {
    const nl = lines.indexOf(0x0a, from);
    const line = lines.subarray(from, nl < 0 ? lines.length : nl);
    const head = /^\{"v":1,"seq":(\d+),"prev":"([0-9a-f]{64})"/.exec(line.subarray(0, 100).toString('latin1'));
    if (nl < 0 || head === null || Number(head[1]) !== seq || (prev !== null && head[2] !== prev)) {
      throw new SealtrailError('BUFFER_CORRUPT', `entry ${seq} read back from the buffer is damaged`);
    }
    prev = Buffer.from(entryHash(line)).toString('hex');
    seq++;
    from = nl + 1;
  }
}
