// What a gateway checks before it stores a batch from another agent (docs/gateway.md), using
// the verifier library: the checkpoint's signature by a key trusted for the origin, the
// entries' chain links and Merkle root against the signed root, and consistency with the last
// checkpoint held for the origin (the batch must extend the held tree exactly). Pure: the
// caller persists the returned state. Everything here is attacker-controlled input.
import { gunzipSync } from 'node:zlib';
import { genesisInfo, parseEntryHead, prevMatches, toHex } from '../verify/entry-line.js';
import { checkpointObjectName, entriesObjectName, parseObjectName } from '../verify/layout.js';
import { CompactFrontier, leafHash } from '../verify/merkle.js';
import { NoteError, b64, parseCheckpointBody, parseNote, verifyNote, type VerifierKey } from '../verify/note.js';

export type RefusalCode = 'MALFORMED' | 'UNKNOWN_KEY' | 'BAD_SIGNATURE' | 'TAMPERED' | 'FORK' | 'GAP';

export class Refusal extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
    this.name = 'Refusal';
  }
}

export interface IncomingBatch {
  origin: string;
  start: number;
  end: number;
  gzip: boolean;
  /** The entries object exactly as the agent stores it (gzip or not). */
  entriesObject: Uint8Array;
  checkpoint: string;
}

/** The gateway's view of one origin: the verified tree and every checkpoint root it accepted. */
export interface OriginState {
  origin: string;
  size: number;
  frontier: string[]; // hex subtree roots (CompactFrontier)
  lastHash: string; // hex entry hash of entry size-1; '' when size is 0
  roots: Record<string, string>; // tree size -> base64 root of each accepted checkpoint
}

export interface TrustedKeyEntry {
  originPrefix: string;
  key: VerifierKey;
}

const ZERO = new Uint8Array(32);

export function objectNames(b: IncomingBatch): { entries: string; checkpoint: string } {
  return { entries: entriesObjectName(b.origin, b.start, b.end, b.gzip), checkpoint: checkpointObjectName(b.origin, b.start, b.end) };
}

/**
 * Verifies `b` against the held state. Returns the state after it, and `duplicate` when the
 * batch is one already accepted (redelivery after a lost acknowledgement). Throws Refusal.
 */
export function verifyBatch(
  b: IncomingBatch,
  state: OriginState | null,
  trusted: readonly TrustedKeyEntry[],
  maxEntriesBytes: number,
): { next: OriginState; duplicate: boolean } {
  if (!Number.isSafeInteger(b.start) || !Number.isSafeInteger(b.end) || b.start < 0 || b.end <= b.start)
    throw new Refusal('MALFORMED', `bad batch range [${b.start}, ${b.end})`);
  if (parseObjectName(entriesObjectName(b.origin, b.start, b.end, b.gzip)) === null)
    throw new Refusal('MALFORMED', `bad origin ${JSON.stringify(b.origin)}`);

  let note;
  let cp;
  try {
    note = parseNote(b.checkpoint);
    cp = parseCheckpointBody(note.text);
  } catch (err) {
    throw new Refusal('MALFORMED', `checkpoint: ${(err as Error).message}`);
  }
  if (cp.origin !== b.origin || cp.size !== b.end)
    throw new Refusal('MALFORMED', `checkpoint is for ${cp.origin} size ${cp.size}, the batch for ${b.origin} [${b.start}, ${b.end})`);

  const keys = trusted.filter((t) => b.origin.startsWith(t.originPrefix)).map((t) => t.key);
  if (keys.length === 0) throw new Refusal('UNKNOWN_KEY', `no key is trusted for origin ${b.origin}`);
  try {
    verifyNote(note, keys);
  } catch (err) {
    if (err instanceof NoteError && err.code === 'UNKNOWN_KEY') throw new Refusal('UNKNOWN_KEY', `${b.origin}: ${err.message}`);
    throw new Refusal('BAD_SIGNATURE', `${b.origin}: ${(err as Error).message}`);
  }
  const rootB64 = b64(cp.root);

  // A signed checkpoint at a size already held must carry the held root: two signed
  // checkpoints of one origin that disagree are a fork.
  if (state !== null && state.roots[String(b.end)] !== undefined) {
    if (state.roots[String(b.end)] !== rootB64)
      throw new Refusal(
        'FORK',
        `${b.origin}: checkpoint at size ${b.end} has root ${rootB64}, the gateway holds ${state.roots[String(b.end)]}`,
      );
    return { next: state, duplicate: true };
  }
  const held = state?.size ?? 0;
  if (b.start !== held) {
    if (b.end <= held)
      throw new Refusal(
        'FORK',
        `${b.origin}: signed checkpoint at size ${b.end} inside the held tree (size ${held}) at a size the gateway never saw`,
      );
    throw new Refusal(
      'GAP',
      `${b.origin}: batch starts at ${b.start}, the gateway holds ${held} entries${held === 0 ? ' (the first batch of an origin must start at 0)' : ''}`,
    );
  }

  let lines: Uint8Array;
  try {
    lines = b.gzip ? new Uint8Array(gunzipSync(b.entriesObject, { maxOutputLength: maxEntriesBytes })) : b.entriesObject;
  } catch (err) {
    throw new Refusal('TAMPERED', `${b.origin}: entries object does not decompress: ${(err as Error).message}`);
  }
  const frontier = new CompactFrontier(
    held,
    (state?.frontier ?? []).map((h) => Uint8Array.from(Buffer.from(h, 'hex'))),
  );
  let prev: Uint8Array = state && state.lastHash !== '' ? Uint8Array.from(Buffer.from(state.lastHash, 'hex')) : ZERO;
  let at = 0;
  let seq = b.start;
  while (at < lines.length) {
    const nl = lines.indexOf(0x0a, at);
    if (nl < 0) throw new Refusal('TAMPERED', `${b.origin}: entries object does not end with a newline`);
    const line = lines.subarray(at, nl);
    at = nl + 1;
    if (seq >= b.end) throw new Refusal('TAMPERED', `${b.origin}: more than ${b.end - b.start} entries`);
    const head = parseEntryHead(line);
    if (!head.ok) throw new Refusal('TAMPERED', `${b.origin} seq ${seq}: ${head.reason}`);
    if (head.seq !== seq) throw new Refusal('TAMPERED', `${b.origin}: entry ${seq} says seq ${head.seq}`);
    if (!prevMatches(head, prev)) {
      if (seq === b.start && seq > 0)
        throw new Refusal(
          'FORK',
          `${b.origin}: entry ${seq} does not extend the chain held for this origin (prev ${toHex(prev)} expected)`,
        );
      throw new Refusal('TAMPERED', `${b.origin}: entry ${seq} prev does not match the hash of entry ${seq - 1}`);
    }
    if (seq === 0 && genesisInfo(line).origin !== b.origin)
      throw new Refusal('TAMPERED', `${b.origin}: the genesis entry names another origin`);
    prev = leafHash(line);
    frontier.append(prev);
    seq++;
  }
  if (seq !== b.end) throw new Refusal('TAMPERED', `${b.origin}: ${seq - b.start} entries, the checkpoint covers ${b.end - b.start}`);
  if (b64(frontier.root()) !== rootB64)
    throw new Refusal('TAMPERED', `${b.origin}: entries [${b.start}, ${b.end}) do not hash to the signed root`);
  return {
    next: {
      origin: b.origin,
      size: b.end,
      frontier: frontier.hashes.map((h) => toHex(h)),
      lastHash: toHex(prev),
      roots: { ...(state?.roots ?? {}), [String(b.end)]: rootB64 },
    },
    duplicate: false,
  };
}
