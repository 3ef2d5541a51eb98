// LevelDB key layout of the buffer (see store.ts for the design). Keys are ASCII strings;
// fixed-width decimal positions make lexicographic order equal to log order.
import { pos } from '../../verify/layout.js';

export const CHAIN_KEY = 'h!chain'; // chain identity, written once at genesis
export const HEAD_KEY = 'h!head'; // ledger: chain head, counters, seal state
/** Key of the segment whose first entry is `seq` (see store.ts). */
export const segmentKey = (seq: number): string => `e!${pos(seq)}`;
export const batchKey = (start: number): string => `b!${pos(start)}`;
export const cursorKey = (sinkId: string): string => `c!${sinkId}`;
export const SEGMENT_RANGE = { gte: 'e!', lt: 'e"' };
