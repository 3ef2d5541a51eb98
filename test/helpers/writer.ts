// A BufferWriter on a real LevelDB in `dir`, for unit tests of the buffer and of what sits on
// it (pipeline, forwarder). Reopening the same dir continues the stored chain.
import path from 'node:path';
import { emptyLedger, openStore, readCursor, type Ledger } from '../../agent/buffer/store.js';
import { HighWaterFile } from '../../agent/buffer/high-water.js';
import { BufferWriter } from '../../agent/buffer/writer.js';
import { generateKey, NoteSigner } from '../../agent/keys/signer.js';
import { parseSignerKey } from '../../verify/note.js';

export const TEST_ORIGIN = 'sealtrail/t/0123456789abcdef0123456789abcdef';
export const testKey = generateKey('test-key');
const signer = new NoteSigner('test-key', parseSignerKey(testKey.signerKey).seed);

/** An entry's parts with body "r<i>". */
export const item = (i: number) => ({ resource: '{}', scope: '{}', record: JSON.stringify({ body: { stringValue: `r${i}` } }) });

export interface TestWriterOptions {
  maxRecords?: number;
  maxBytes?: number;
  maxAgeMs?: number;
  bufferMax?: number;
  sinks?: string[];
}

export async function openTestWriter(dir: string, opts: TestWriterOptions = {}) {
  const hwFile = path.join(dir, 'buffer.hwm');
  const store = await openStore(path.join(dir, 'buffer'), await HighWaterFile.read(hwFile));
  const highWater = await HighWaterFile.open(hwFile);
  const chainInfo = store.chain ?? {
    origin: TEST_ORIGIN,
    agentName: 't',
    chainId: '0123456789abcdef0123456789abcdef',
    keyName: 'test-key',
    keyId: '00000000',
    createdAt: '',
  };
  const newChain = store.ledger === null;
  const ledger: Ledger = store.ledger ?? emptyLedger();
  const cursors = new Map<string, number | null>();
  for (const s of opts.sinks ?? []) cursors.set(s, newChain ? null : await readCursor(store.db, s));
  const writer = new BufferWriter({
    db: store.db,
    dir: path.join(dir, 'buffer'),
    chainInfo,
    ledger,
    newChain,
    highWater,
    cursors,
    env: 'test',
    signer,
    seal: { maxRecords: opts.maxRecords ?? 1000, maxBytes: opts.maxBytes ?? 1 << 22, maxAgeMs: opts.maxAgeMs ?? 60000 },
    maxBufferBytes: opts.bufferMax ?? 1 << 30,
  });
  await writer.initialize();
  return {
    store,
    writer,
    close: async () => {
      await writer.close();
      await highWater.close();
    },
  };
}
