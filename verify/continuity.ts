// What an agent's own entries say about the continuity between chains (issue 9): a genesis
// that names the chain it replaced (quarantined or rolled-back buffer), the last checkpoint the
// agent signed for it, and the range of acknowledged entries it could not recover; and the
// stop entry that ends a chain cleanly. Attribute names are the agent's (agent/own-events.ts).
import { ownEntryInfo } from './entry-line.js';

export const GENESIS_EVENT = 'sealtrail.genesis';
export const STOP_EVENT = 'sealtrail.stop';

export interface GenesisFacts {
  /** The chain this genesis starts. */
  origin: string;
  /** The entries object holding it. */
  object: string;
  /** The chain it replaced; null when none. */
  previousOrigin: string | null;
  /** Full signed note text of the last checkpoint signed for the previous chain; null when none. */
  previousCheckpoint: string | null;
  /** Acknowledged entries [from, to) of the previous chain that could not be recovered; null when none recorded. */
  lost: [number, number] | null;
  quarantineReason: string | null;
  quarantinedBuffer: string | null;
}

const nonEmpty = (s: string | undefined): string | null => (s === undefined || s === '' ? null : s);

function count(s: string | undefined): number | null {
  if (s === undefined || !/^(0|[1-9][0-9]{0,15})$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/** The continuity facts of entry 0 of `origin`; null when the line is not a genesis entry. */
export function genesisFacts(origin: string, object: string, line: Uint8Array): GenesisFacts | null {
  const e = ownEntryInfo(line);
  if (e.eventName !== GENESIS_EVENT) return null;
  const a = e.attributes;
  const from = count(a.get('sealtrail.lost_from'));
  const to = count(a.get('sealtrail.lost_to'));
  return {
    origin,
    object,
    previousOrigin: nonEmpty(a.get('sealtrail.previous_origin')),
    previousCheckpoint: nonEmpty(a.get('sealtrail.previous_checkpoint')),
    lost: from !== null && to !== null && to > from ? [from, to] : null,
    quarantineReason: nonEmpty(a.get('sealtrail.quarantine_reason')),
    quarantinedBuffer: nonEmpty(a.get('sealtrail.quarantined_buffer')),
  };
}

/** The event name of an entry line (null when it has none or does not parse). */
export function eventNameOf(line: Uint8Array): string | null {
  return ownEntryInfo(line).eventName;
}
