// Start-up of the buffer: read the high-water mark, open (or quarantine) LevelDB, and bring the
// chain to a state that can take new records: a genesis for a new chain (naming any chain that
// was abandoned and what of it was lost), a seal of a tail left by a crash, and the start entry.
// Every write goes through the BufferWriter, so the high-water mark covers all of them.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { NoteSigner } from '../keys/signer.js';
import type { SealConfig } from '../../config/types.js';
import type { LogFn } from '../../lib/log.js';
import { SealtrailError } from '../../lib/errors.js';
import { AGENT_VERSION, ownEntry, ownResource } from '../own-events.js';
import { makeOrigin } from '../../verify/layout.js';
import { formatCheckpointBody, hexId } from '../../verify/note.js';
import { HighWaterFile } from './high-water.js';
import { emptyLedger, openStore, readCursor, type ChainInfo, type Quarantine } from './store.js';
import { BufferWriter } from './writer.js';
import { chainHelperUnavailable } from '../chain/chain-append.js';
import { unmapTableReads } from './leveldb-mmap.js';
import { crc32cUnavailable } from './leveldb-crc32c.js';

export const BUFFER_DIR = 'buffer';
export const HIGH_WATER_FILE = 'buffer.hwm';

export interface OpenChainOptions {
  dataDir: string;
  agentName: string;
  environment: string;
  signer: NoteSigner;
  sinkIds: string[];
  seal: SealConfig;
  maxBufferBytes: number;
  configDigest: string;
  log: LogFn;
}

export interface OpenedChain {
  writer: BufferWriter;
  highWater: HighWaterFile;
  origin: string;
  quarantined: Quarantine | null;
}

export async function openChain(o: OpenChainOptions): Promise<OpenedChain> {
  const hwFile = path.join(o.dataDir, HIGH_WATER_FILE);
  const mark = await HighWaterFile.read(hwFile);
  const dir = path.join(o.dataDir, BUFFER_DIR);
  const store = await openStore(dir, mark);
  const highWater = await HighWaterFile.open(hwFile).catch(async (err: unknown) => {
    await store.db.close();
    throw new SealtrailError('STORAGE', `cannot open the high-water mark ${hwFile}: ${(err as Error).message}`, { cause: err });
  });
  const { quarantined } = store;
  if (quarantined) {
    o.log('error', 'the buffer was damaged or went back in time; it was quarantined (kept, not deleted) and a new chain starts', {
      quarantine: quarantined.path,
      reason: quarantined.reason,
      previous_origin: quarantined.previousOrigin,
      lost_entries: quarantined.lost ? quarantined.lost.to - quarantined.lost.from : null,
    });
  }
  if (store.highWaterWarning) o.log('warn', `${store.highWaterWarning}; a new one starts from the buffer as it is`, { file: hwFile });

  let chain = store.chain;
  let ledger = store.ledger;
  const newChain = chain === null || ledger === null;
  if (chain === null || ledger === null) {
    const chainId = randomBytes(16).toString('hex');
    chain = {
      origin: makeOrigin(o.agentName, chainId),
      agentName: o.agentName,
      chainId,
      keyName: o.signer.name,
      keyId: hexId(o.signer.keyId),
      createdAt: new Date().toISOString(),
    } satisfies ChainInfo;
    ledger = emptyLedger();
  } else if (chain.agentName !== o.agentName) {
    await store.db.close();
    await highWater.close();
    throw new SealtrailError(
      'CONFIG',
      `agent.name is ${JSON.stringify(o.agentName)} but the buffer in ${o.dataDir} belongs to agent ${JSON.stringify(chain.agentName)}; use that name or another data_dir`,
    );
  }

  const mapped = unmapTableReads();
  if (mapped !== '') {
    o.log('info', 'buffer: LevelDB keeps its tables memory-mapped; they count in RSS as far as they are read', { reason: mapped });
  }
  const crc = crc32cUnavailable();
  if (crc !== '') {
    o.log('info', "buffer: LevelDB computes its checksums without the CPU's CRC32C instruction, at 5-8 % more CPU per record", {
      reason: crc,
    });
  }
  if (chainHelperUnavailable !== '') {
    o.log('info', 'chain: native helper unavailable; entries are written and hashed in JavaScript, at about 2.5 times the cost', {
      reason: chainHelperUnavailable,
    });
  }
  const cursors = new Map<string, number | null>();
  for (const id of o.sinkIds) cursors.set(id, newChain ? null : await readCursor(store.db, id));
  const writer = new BufferWriter({
    db: store.db,
    dir,
    chainInfo: chain,
    ledger,
    cursors,
    newChain,
    highWater,
    env: o.environment,
    signer: o.signer,
    seal: o.seal,
    maxBufferBytes: o.maxBufferBytes,
    log: o.log,
  });
  try {
    await writer.initialize();
    const resource = ownResource(o.agentName, o.environment);
    if (ledger.chain.size === 0) {
      await writer.append([ownEntry(resource, 'sealtrail.genesis', 'chain created', genesisAttributes(chain, o, quarantined))], true);
    }
    const unsealed = ledger.chain.size - ledger.sealedSize;
    if (unsealed > 0) {
      o.log('warn', 'sealing the tail an earlier run left unsealed (it did not shut down cleanly)', { entries: unsealed });
      await writer.sealNow();
    }
    await writer.append(
      [
        ownEntry(resource, 'sealtrail.start', 'agent started', {
          'sealtrail.version': AGENT_VERSION,
          'sealtrail.config_digest': o.configDigest,
          'sealtrail.verifier_key': o.signer.verifierKey(),
          'sealtrail.pid': process.pid,
          'sealtrail.recovered_unsealed_entries': ledger.chain.size > 0 ? unsealed : 0,
        }),
      ],
      true,
    );
    // Sealed at once so the start entry (and a genesis naming a lost chain) reaches the sinks
    // without waiting for max_age: the record of a loss must not itself wait in the buffer.
    await writer.sealNow();
  } catch (err) {
    await writer.close();
    await highWater.close();
    throw err;
  }
  return { writer, highWater, origin: chain.origin, quarantined };
}

function genesisAttributes(chain: ChainInfo, o: OpenChainOptions, q: Quarantine | null): Record<string, string | number | boolean> {
  const a: Record<string, string | number | boolean> = {
    'sealtrail.origin': chain.origin,
    'sealtrail.chain_id': chain.chainId,
    'sealtrail.verifier_key': o.signer.verifierKey(),
    'sealtrail.version': AGENT_VERSION,
    'sealtrail.config_digest': o.configDigest,
    'sealtrail.environment': o.environment,
  };
  if (q === null) return a;
  a['sealtrail.quarantined_buffer'] = q.path;
  a['sealtrail.quarantine_reason'] = q.reason;
  a['sealtrail.previous_origin'] = q.previousOrigin ?? '';
  // Re-signing the same (origin, size, root) yields the same checkpoint the previous chain
  // published (Ed25519 is deterministic), so this names it without signing anything new.
  a['sealtrail.previous_checkpoint'] =
    q.previousOrigin && q.previousSealed
      ? o.signer.signNote(formatCheckpointBody(q.previousOrigin, q.previousSealed.size, Buffer.from(q.previousSealed.root, 'hex')))
      : '';
  if (q.lost) {
    a['sealtrail.lost_from'] = q.lost.from;
    a['sealtrail.lost_to'] = q.lost.to;
  }
  return a;
}
