// The verifier reads archives through this interface, so a directory, an S3 prefix or any
// other store with the shared layout (layout.ts) plugs in the same way.

export interface ArchiveReader {
  /** A human name for reports, e.g. "/data/archive" or "s3://bucket/prefix". */
  readonly location: string;
  /** Every object name under the archive root, relative ("/"-separated), in ascending order. */
  list(): AsyncIterable<string>;
  /** The object's bytes, streamed in chunks. Throws if the object does not exist. */
  open(name: string): AsyncIterable<Uint8Array>;
  /**
   * Stores that keep versions (S3): after list(), the names whose history shows writes after
   * the first version or delete markers. The verifier reads the first version and reports these.
   */
  history?(): readonly VersionHistory[];
}

export interface ObjectVersion {
  size: number | null;
  etag: string | null;
}

export interface VersionHistory {
  name: string;
  /** The version that was read and verified; null when only delete markers remain. */
  first: ObjectVersion | null;
  /** Versions written after the first one (0 when none). */
  laterVersions: number;
  deleteMarkers: number;
  /** What a plain GET returns: the newest version, or null when the newest is a delete marker. */
  current: ObjectVersion | null;
}
