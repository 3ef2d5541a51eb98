// The verifier reads archives through this interface, so a directory, an S3 prefix or any
// other store with the shared layout (layout.ts) plugs in the same way.

export interface ArchiveReader {
  /** A human name for reports, e.g. "/data/archive" or "s3://bucket/prefix". */
  readonly location: string;
  /** Every object name under the archive root, relative ("/"-separated), in ascending order. */
  list(): AsyncIterable<string>;
  /** The object's bytes, streamed in chunks. Throws if the object does not exist. */
  open(name: string): AsyncIterable<Uint8Array>;
}
