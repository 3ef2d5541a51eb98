// Reads a stopped agent's LevelDB buffer directly, for assertions.
import path from 'node:path';
import { ClassicLevel } from '../../agent/buffer/level.js';

export interface BufferContents {
  chain: { origin: string; chainId: string; agentName: string } | null;
  head: {
    chain: { size: number; lastHash: string; frontier: string[] };
    sealedSize: number;
    bytes: number;
    entries: number;
    lowWater: number;
  } | null;
  entries: Array<{ seq: number; line: string }>;
  batches: Array<{ start: number; end: number; checkpoint: string }>;
  cursors: Map<string, number>;
}

export async function readBuffer(dataDir: string): Promise<BufferContents> {
  const db = new ClassicLevel<string, Buffer>(path.join(dataDir, 'buffer'), { keyEncoding: 'utf8', valueEncoding: 'buffer' });
  await db.open();
  try {
    const out: BufferContents = { chain: null, head: null, entries: [], batches: [], cursors: new Map() };
    for await (const [k, v] of db.iterator()) {
      if (k === 'h!chain') out.chain = JSON.parse(v.toString());
      else if (k === 'h!head') out.head = JSON.parse(v.toString());
      else if (k.startsWith('e!')) {
        // A segment: consecutive entries from seq, each line ending in '\n'.
        const lines = v.toString('utf8').split('\n');
        if (lines.pop() !== '') throw new Error(`segment ${k} does not end with a newline`);
        lines.forEach((line, i) => out.entries.push({ seq: Number(k.slice(2)) + i, line }));
      } else if (k.startsWith('b!')) out.batches.push(JSON.parse(v.toString()));
      else if (k.startsWith('c!')) out.cursors.set(k.slice(2), JSON.parse(v.toString()).next);
    }
    return out;
  } finally {
    await db.close();
  }
}
