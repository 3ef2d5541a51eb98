// ArchiveReader over an S3 prefix, `s3://bucket/prefix`, for `sealtrail verify` and `cat`.
// Connection settings come from the standard AWS environment, so the verifier needs no config
// file: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) or any other source of
// the SDK's default credential chain, AWS_REGION (default us-east-1), and AWS_ENDPOINT_URL_S3
// or AWS_ENDPOINT_URL for S3-compatible stores; with an endpoint, path-style addressing is used.
//
// Which version is read. On a versioned bucket (every Object Lock bucket) a PUT over an
// existing name adds a new version and makes it current; it cannot change the version the
// sink wrote, which stays locked. The archive of record is therefore the *first* version of
// each name: by default the reader lists versions (ListObjectVersions) and reads the oldest
// one by VersionId, and keeps each name's history: names with later versions (`overwritten`)
// and delete markers, which history() hands to the verifier to report (a plain GET reader sees
// the newest version, or nothing after a delete marker). Without Object Lock the first version can be deleted by someone with the
// rights to do so, and then whatever is left is read and verified like anything else.
// `versions: 'current'` reads what a plain GET returns instead (ListObjectsV2 + GetObject).
import { GetObjectCommand, ListObjectVersionsCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { ArchiveReader, ObjectVersion, VersionHistory } from './archive.js';
import { VerifyError } from './errors.js';

export interface S3Location {
  bucket: string;
  /** '' or ending in '/'. */
  prefix: string;
}

// Bucket names per the S3 naming rules (lenient on dots); anything else is a usage error.
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Parses `s3://bucket[/prefix]`; returns null when `location` is not an s3 URL. Throws on a malformed one. */
export function parseS3Location(location: string): S3Location | null {
  if (!location.startsWith('s3://')) return null;
  const rest = location.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  let prefix = slash < 0 ? '' : rest.slice(slash + 1);
  if (!BUCKET_RE.test(bucket)) throw new VerifyError('USAGE', `invalid S3 bucket name in ${JSON.stringify(location)}`);
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  return { bucket, prefix };
}

/** Client settings from the AWS environment variables (see the header comment). */
export function s3ClientConfigFromEnv(env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  const endpoint = env['AWS_ENDPOINT_URL_S3'] || env['AWS_ENDPOINT_URL'] || undefined;
  const cfg: S3ClientConfig = {
    region: env['AWS_REGION'] || env['AWS_DEFAULT_REGION'] || 'us-east-1',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (endpoint) {
    cfg.endpoint = endpoint;
    cfg.forcePathStyle = true;
  }
  return cfg;
}

export interface S3ArchiveOptions {
  /** 'original' (default): the first version of each name; 'current': the latest one. */
  versions?: 'original' | 'current';
  client?: S3Client;
}

export class S3ArchiveReader implements ArchiveReader {
  readonly location: string;
  /** After list(): names that have versions written after the first one (overwrite attempts). */
  readonly overwritten: string[] = [];
  readonly #loc: S3Location;
  readonly #client: S3Client;
  readonly #mode: 'original' | 'current';
  /** name -> VersionId of the version to read ('original' mode, filled by list()). */
  readonly #version = new Map<string, string>();
  /** name -> what the version listing showed ('original' mode, filled by list()). */
  readonly #history = new Map<string, VersionHistory>();

  constructor(loc: S3Location, opts: S3ArchiveOptions = {}) {
    this.#loc = loc;
    this.#client = opts.client ?? new S3Client(s3ClientConfigFromEnv());
    this.#mode = opts.versions ?? 'original';
    this.location = `s3://${loc.bucket}/${loc.prefix}`;
  }

  list(): AsyncIterable<string> {
    return this.#mode === 'original' ? this.#listOriginal() : this.#listCurrent();
  }

  async *#listOriginal(): AsyncIterable<string> {
    const hist = this.#history;
    this.#version.clear();
    hist.clear();
    this.overwritten.length = 0;
    const entry = (name: string): VersionHistory => {
      let h = hist.get(name);
      if (!h) hist.set(name, (h = { name, first: null, laterVersions: -1, deleteMarkers: 0, current: null }));
      return h;
    };
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    do {
      const res = await this.#client.send(
        new ListObjectVersionsCommand({
          Bucket: this.#loc.bucket,
          Prefix: this.#loc.prefix,
          KeyMarker: keyMarker,
          VersionIdMarker: versionMarker,
        }),
      );
      // S3 lists the versions of a key newest first, so the last one seen is the first written.
      for (const v of res.Versions ?? []) {
        const name = this.#nameOf(v.Key);
        if (name === null) continue;
        this.#version.set(name, v.VersionId ?? 'null');
        const h = entry(name);
        const ver: ObjectVersion = { size: v.Size ?? null, etag: v.ETag ?? null };
        h.first = ver;
        h.laterVersions++;
        if (v.IsLatest) h.current = ver;
      }
      for (const m of res.DeleteMarkers ?? []) {
        const name = this.#nameOf(m.Key);
        if (name !== null) entry(name).deleteMarkers++;
      }
      const more = res.IsTruncated === true;
      keyMarker = more ? res.NextKeyMarker : undefined;
      versionMarker = more ? res.NextVersionIdMarker : undefined;
    } while (keyMarker !== undefined);
    const names = [...this.#version.keys()].sort(byCodeUnit);
    for (const n of names) if (hist.get(n)!.laterVersions > 0) this.overwritten.push(n);
    yield* names;
  }

  /** After list() in 'original' mode: names with later versions or delete markers, sorted. */
  history(): readonly VersionHistory[] {
    return [...this.#history.values()]
      .map((h) => (h.laterVersions < 0 ? { ...h, laterVersions: 0 } : h))
      .filter((h) => h.laterVersions > 0 || h.deleteMarkers > 0)
      .sort((a, b) => byCodeUnit(a.name, b.name));
  }

  #nameOf(key: string | undefined): string | null {
    if (key === undefined || !key.startsWith(this.#loc.prefix)) return null;
    const name = key.slice(this.#loc.prefix.length);
    return name === '' || name.endsWith('/') ? null : name;
  }

  async *#listCurrent(): AsyncIterable<string> {
    // Collected, then sorted: the interface promises ascending order and S3-compatible stores
    // do not all list in the same byte order.
    const names: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.#client.send(
        new ListObjectsV2Command({ Bucket: this.#loc.bucket, Prefix: this.#loc.prefix, ContinuationToken: token }),
      );
      for (const obj of res.Contents ?? []) {
        const name = this.#nameOf(obj.Key);
        if (name !== null) names.push(name);
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    names.sort(byCodeUnit);
    yield* names;
  }

  async *open(name: string): AsyncIterable<Uint8Array> {
    const key = this.#loc.prefix + name;
    const v = this.#mode === 'original' ? this.#version.get(name) : undefined;
    // 'null' is the version id of an object written while versioning was off.
    const VersionId = v !== undefined && v !== 'null' ? v : undefined;
    const res = await this.#client.send(new GetObjectCommand({ Bucket: this.#loc.bucket, Key: key, VersionId }));
    if (!res.Body) throw new VerifyError('IO', `s3://${this.#loc.bucket}/${key}: empty response body`);
    // In Node the body is a Readable (an async iterable of Buffers).
    for await (const chunk of res.Body as AsyncIterable<Uint8Array>) yield chunk;
  }

  /** Releases the HTTP connections. */
  close(): void {
    this.#client.destroy();
  }
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Opens `s3://bucket/prefix` as an archive; null when `location` is not an s3 URL. */
export function openS3Archive(location: string, opts: S3ArchiveOptions = {}): S3ArchiveReader | null {
  const loc = parseS3Location(location);
  return loc && new S3ArchiveReader(loc, opts);
}
