// The verification report. `code` strings are stable (docs/verifying.md lists them); tools and
// tests branch on them, never on `message`.

export type ProblemCode =
  | 'MALFORMED_ENTRY' // a line that is not an entry of format v1
  | 'ENTRY_HASH_MISMATCH' // an entry's hash differs from the prev link its successor recorded
  | 'PREV_MISMATCH' // entry 0's prev is not 64 zeros
  | 'GENESIS_MISSING' // entry 0 is not a sealtrail.genesis entry, or names another origin
  | 'SEQ_GAP' // an entry is missing
  | 'SEQ_DUPLICATE' // a seq appears twice
  | 'SEQ_REORDER' // entries out of order
  | 'BATCH_LENGTH_MISMATCH' // an entries object holds a different number of lines than its name says
  | 'MISSING_BATCH' // neither entries nor checkpoint for a range of seqs
  | 'MISSING_CHECKPOINT' // entries object without its checkpoint
  | 'MISSING_ENTRIES' // checkpoint without its entries object
  | 'DUPLICATE_OBJECT' // both .entries.jsonl and .entries.jsonl.gz for one batch
  | 'OVERLAPPING_BATCH' // a batch whose range overlaps entries already covered
  | 'MALFORMED_CHECKPOINT' // not a signed note / tlog-checkpoint
  | 'UNKNOWN_KEY' // no signature by any of the given keys
  | 'BAD_SIGNATURE' // a signature by a given key that does not verify
  | 'ORIGIN_MISMATCH' // checkpoint origin differs from the origin in its object name
  | 'CHECKPOINT_SIZE_MISMATCH' // checkpoint size differs from the batch end in its object name
  | 'ROOT_MISMATCH' // signed root differs from the root recomputed from the entries
  | 'FORK' // two signed checkpoints of one size with different roots (anywhere in the archive or trusted)
  | 'TRUNCATED' // a trusted or signed checkpoint is larger than the archive
  | 'CORRUPT_OBJECT' // an object that cannot be decoded (e.g. gzip error)
  | 'CHAIN_UNTERMINATED' // a chain ends without a stop entry and no later chain records its end
  | 'RECORDED_LOSS' // a genesis records acknowledged entries of the previous chain that were lost
  | 'OBJECT_OVERWRITTEN' // S3: later versions were written over a name; a plain GET sees the newest
  | 'OBJECT_DELETE_MARKER'; // S3: a delete marker was placed on a name; a plain GET may see it deleted

export type WarningCode =
  | 'UNREFERENCED_OBJECT' // not part of the layout (and not a trusted-key checkpoint disagreeing with the chain)
  | 'PREVIOUS_ORIGIN_MISSING' // a genesis names a previous chain this archive does not hold
  | 'CHAIN_UNTERMINATED'; // with `live`: the chain of a running agent has no stop entry yet

export interface Finding<C extends string> {
  code: C;
  /** Archive object name (relative), a missing range "<origin>/<start>-<end>", or "trusted checkpoint #i". */
  object: string;
  /** The entry the finding is about; for batch-level findings, the first entry of the batch. */
  seq?: number;
  message: string;
}

export type Problem = Finding<ProblemCode>;
export type Warning = Finding<WarningCode>;

export interface OriginReport {
  origin: string;
  /** Entries covered by the contiguous run of batches from 0. */
  size: number;
  /** Base64 RFC 6962 root recomputed over those entries; null when it cannot be (a missing batch). */
  root: string | null;
  batches: number;
  entries: number;
}

export interface Report {
  ok: boolean;
  location: string;
  origins: OriginReport[];
  problems: Problem[];
  warnings: Warning[];
}

export interface Progress {
  origin: string;
  object: string;
  entries: number;
  bytes: number;
}
