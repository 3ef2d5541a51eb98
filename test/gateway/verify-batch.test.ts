// The gateway's checks on real-format batches (test/verify/fixtures.ts): each way a batch can
// be wrong is refused with its own code, and an accepted batch moves the held state on.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import {
  Refusal,
  verifyBatch,
  type IncomingBatch,
  type OriginState,
  type RefusalCode,
  type TrustedKeyEntry,
} from '../../gateway/verify-batch.js';
import { formatCheckpointBody, parseVerifierKey } from '../../verify/note.js';
import { buildArchive, newSigner, tempDir } from '../verify/fixtures.js';

const signer = newSigner('agent-key');
const trusted: TrustedKeyEntry[] = [{ originPrefix: 'sealtrail/fx/', key: parseVerifierKey(signer.verifierKey()) }];
const MAX = 1 << 24;
const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true }))));

async function batches(n = 3, size = 4): Promise<IncomingBatch[]> {
  const dir = await tempDir();
  dirs.push(dir);
  const fx = await buildArchive(dir, { entries: n * size, batchSize: size, agentName: 'fx', signer });
  return Promise.all(
    fx.batches.map(async (b) => ({
      origin: fx.origin,
      start: b.start,
      end: b.end,
      gzip: false,
      entriesObject: new Uint8Array(await fs.readFile(path.join(dir, b.entries))),
      checkpoint: b.note,
    })),
  );
}

function refused(fn: () => unknown, code: RefusalCode): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof Refusal, String(err));
    assert.equal(err.code, code, err.message);
    return true;
  });
}

function editLine(b: IncomingBatch, i: number, edit: (line: string) => string): IncomingBatch {
  const lines = Buffer.from(b.entriesObject).toString('utf8').split('\n');
  lines[i] = edit(lines[i]!);
  return { ...b, entriesObject: new Uint8Array(Buffer.from(lines.join('\n'))) };
}

describe('gateway batch verification', () => {
  it('accepts a chain batch by batch, gzip or not, and acknowledges a redelivery as a duplicate', async () => {
    const [b0, b1, b2] = await batches();
    let state: OriginState | null = null;
    for (const b of [b0!, { ...b1!, gzip: true, entriesObject: new Uint8Array(gzipSync(b1!.entriesObject)) }, b2!]) {
      const r = verifyBatch(b, state, trusted, MAX);
      assert.equal(r.duplicate, false);
      assert.equal(r.next.size, b.end);
      state = r.next;
    }
    assert.deepEqual(Object.keys(state!.roots), ['4', '8', '12']);
    const again = verifyBatch(b1!, state, trusted, MAX);
    assert.equal(again.duplicate, true);
    assert.equal(again.next, state);
  });

  it('refuses: unknown key, untrusted origin, bad signature, gap, tampered entries, forks', async () => {
    const [b0, b1] = await batches();
    const s0 = verifyBatch(b0!, null, trusted, MAX).next;
    const rogue = newSigner('agent-key'); // same name, other key
    refused(
      () =>
        verifyBatch(
          { ...b0!, checkpoint: rogue.signNote(b0!.checkpoint.slice(0, b0!.checkpoint.indexOf('\n\n') + 1)) },
          null,
          trusted,
          MAX,
        ),
      'UNKNOWN_KEY',
    );
    refused(() => verifyBatch(b0!, null, [{ ...trusted[0]!, originPrefix: 'sealtrail/other/' }], MAX), 'UNKNOWN_KEY');
    const sig = b0!.checkpoint.lastIndexOf(' ') + 20; // past the 4-byte key id, inside the signature
    const flipped = b0!.checkpoint.slice(0, sig) + (b0!.checkpoint[sig] === 'A' ? 'B' : 'A') + b0!.checkpoint.slice(sig + 1);
    refused(() => verifyBatch({ ...b0!, checkpoint: flipped }, null, trusted, MAX), 'BAD_SIGNATURE');
    refused(() => verifyBatch(b1!, null, trusted, MAX), 'GAP');
    refused(
      () =>
        verifyBatch(
          editLine(b1!, 2, (l) => l.replace('updated setting', 'deleted setting')),
          s0,
          trusted,
          MAX,
        ),
      'TAMPERED',
    );
    refused(
      () =>
        verifyBatch(
          editLine(b1!, 1, (l) => l.replace('"seq":5', '"seq":6')),
          s0,
          trusted,
          MAX,
        ),
      'TAMPERED',
    );
    refused(
      () => verifyBatch({ ...b1!, entriesObject: b1!.entriesObject.subarray(0, b1!.entriesObject.length - 1) }, s0, trusted, MAX),
      'TAMPERED',
    );
    const forged = signer.signNote(formatCheckpointBody(b0!.origin, b0!.end, randomBytes(32)));
    refused(() => verifyBatch({ ...b0!, checkpoint: forged }, s0, trusted, MAX), 'FORK');
    // A second chain under the same origin and key, extending a different history: a fork.
    const other = await batches();
    const relabelled = { ...other[1]!, origin: b0!.origin };
    const body = relabelled.checkpoint.slice(0, relabelled.checkpoint.indexOf('\n\n') + 1).replace(other[1]!.origin, b0!.origin);
    refused(() => verifyBatch({ ...relabelled, checkpoint: signer.signNote(body) }, s0, trusted, MAX), 'FORK');
  });
});
