// The chain's high-water mark, kept next to the buffer and outside LevelDB, so a buffer that
// went back in time (restored, truncated, log lost, replaced) is caught at start-up instead of
// continuing an origin from an older head and signing a fork.
//
// File format (<data_dir>/buffer.hwm): two fixed 256-byte slots. Each write goes to the slot
// that does not hold the newest record, followed by fdatasync, so a torn write can only damage
// the slot being written and the other one still holds the previous mark. A slot:
//   0   8  magic "STHWM\x001\n"
//   8   8  counter, u64 BE (grows by one per write; the valid slot with the larger one wins)
//   16  8  committed size: entries acknowledged (chain size after the last synced commit)
//   24  8  sealed size: tree size of the last signed checkpoint
//   32  8  delivered size: every sink has every entry below it
//   40 32  committed root (RFC 6962 root at the committed size)
//   72 32  sealed root
//   104 1  origin length, then 127 bytes of origin (UTF-8, zero padded)
//   232 16 SHA-256 of bytes 0..231, first 16 bytes
//   248 8  zero
// The record is written after the LevelDB batch it describes is synced, so the buffer is
// never behind the mark unless it lost data; it can be one commit ahead after a crash.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { SealtrailError } from '../../lib/errors.js';

export interface HighWater {
  origin: string;
  committedSize: number;
  committedRoot: string; // hex, '' when size 0
  sealedSize: number;
  sealedRoot: string; // hex, '' when nothing sealed
  deliveredSize: number;
}

const SLOT = 256;
const MAGIC = Buffer.from('STHWM\x001\n', 'latin1');
const DIGEST_AT = 232;
const MAX_ORIGIN = 127;

export function encodeSlot(hw: HighWater, counter: bigint): Buffer {
  const b = Buffer.alloc(SLOT);
  MAGIC.copy(b, 0);
  b.writeBigUInt64BE(counter, 8);
  b.writeBigUInt64BE(BigInt(hw.committedSize), 16);
  b.writeBigUInt64BE(BigInt(hw.sealedSize), 24);
  b.writeBigUInt64BE(BigInt(hw.deliveredSize), 32);
  writeRoot(b, 40, hw.committedRoot);
  writeRoot(b, 72, hw.sealedRoot);
  const origin = Buffer.from(hw.origin, 'utf8');
  if (origin.length > MAX_ORIGIN) throw new SealtrailError('CONFIG', `origin ${hw.origin} is too long for the high-water mark`);
  b[104] = origin.length;
  origin.copy(b, 105);
  createHash('sha256').update(b.subarray(0, DIGEST_AT)).digest().copy(b, DIGEST_AT, 0, 16);
  return b;
}

function writeRoot(b: Buffer, at: number, hex: string): void {
  if (hex === '') return;
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`bad root ${hex}`);
  Buffer.from(hex, 'hex').copy(b, at);
}

/** Decodes one slot; null when it is empty, torn or damaged (its digest does not match). */
export function decodeSlot(b: Buffer): { hw: HighWater; counter: bigint } | null {
  if (b.length !== SLOT || !b.subarray(0, 8).equals(MAGIC)) return null;
  const digest = createHash('sha256').update(b.subarray(0, DIGEST_AT)).digest().subarray(0, 16);
  if (!digest.equals(b.subarray(DIGEST_AT, DIGEST_AT + 16))) return null;
  const num = (at: number): number => {
    const v = b.readBigUInt64BE(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) return -1;
    return Number(v);
  };
  const committedSize = num(16);
  const sealedSize = num(24);
  const deliveredSize = num(32);
  const len = b[104]!;
  if (committedSize < 0 || sealedSize < 0 || deliveredSize < 0 || len > MAX_ORIGIN) return null;
  if (sealedSize > committedSize || deliveredSize > sealedSize) return null;
  const root = (at: number, size: number): string => (size === 0 ? '' : b.subarray(at, at + 32).toString('hex'));
  return {
    counter: b.readBigUInt64BE(8),
    hw: {
      origin: b.subarray(105, 105 + len).toString('utf8'),
      committedSize,
      committedRoot: root(40, committedSize),
      sealedSize,
      sealedRoot: root(72, sealedSize),
      deliveredSize,
    },
  };
}

export type HighWaterRead = { state: 'missing' } | { state: 'unreadable'; reason: string } | { state: 'ok'; hw: HighWater };

/** The open mark file; write() is called once per group commit, after the LevelDB sync. */
export class HighWaterFile {
  private constructor(
    private readonly fh: fs.FileHandle,
    private counter: bigint,
    private last: HighWater | null,
  ) {}

  static async read(file: string): Promise<HighWaterRead> {
    let data: Buffer;
    try {
      data = await fs.readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
      throw new SealtrailError('STORAGE', `cannot read the high-water mark ${file}: ${(err as Error).message}`, { cause: err });
    }
    const best = newest(data);
    if (best === null) return { state: 'unreadable', reason: `${file} holds no valid record (${data.length} bytes)` };
    return { state: 'ok', hw: best.hw };
  }

  static async open(file: string): Promise<HighWaterFile> {
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(file, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      fh = await fs.open(file, 'w+', 0o600);
    }
    const data = await fh.readFile();
    const best = newest(data);
    return new HighWaterFile(fh, best?.counter ?? 0n, best?.hw ?? null);
  }

  /** The newest mark written or read. */
  get current(): HighWater | null {
    return this.last;
  }

  /** Writes `hw` into the older slot and syncs it. Skips a write that changes nothing. */
  async write(hw: HighWater): Promise<void> {
    if (this.last !== null && sameMark(this.last, hw)) return;
    const counter = this.counter + 1n;
    const slot = Number(counter % 2n);
    const b = encodeSlot(hw, counter);
    const { bytesWritten } = await this.fh.write(b, 0, SLOT, slot * SLOT);
    if (bytesWritten !== SLOT) throw new SealtrailError('STORAGE', `short write to the high-water mark (${bytesWritten} of ${SLOT} bytes)`);
    await this.fh.datasync();
    this.counter = counter;
    this.last = { ...hw };
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

function newest(data: Buffer): { hw: HighWater; counter: bigint } | null {
  let best: { hw: HighWater; counter: bigint } | null = null;
  for (let at = 0; at + SLOT <= data.length && at < 2 * SLOT; at += SLOT) {
    const r = decodeSlot(data.subarray(at, at + SLOT));
    if (r !== null && (best === null || r.counter > best.counter)) best = r;
  }
  return best;
}

function sameMark(a: HighWater, b: HighWater): boolean {
  return (
    a.origin === b.origin &&
    a.committedSize === b.committedSize &&
    a.committedRoot === b.committedRoot &&
    a.sealedSize === b.sealedSize &&
    a.sealedRoot === b.sealedRoot &&
    a.deliveredSize === b.deliveredSize
  );
}
