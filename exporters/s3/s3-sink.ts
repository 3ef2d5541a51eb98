// The `s3` sink: writes each archive object once to `s3://<bucket>/<prefix><name>`, with the
// same object names as the file sink (verify/layout.ts), so an archive copied between them
// still verifies.
//
// Write-once on a versioned bucket. Every Object Lock bucket is versioned, and on a versioned
// bucket a plain PUT never fails: it adds a version. Some servers (Ceph RGW 16) also ignore
// `If-None-Match: *` there, so the sink looks first (HeadObject) and only PUTs when the name
// is absent, still sending `If-None-Match: *` for servers that honour it (AWS). An existing
// object is compared by the SHA-256 we keep in its metadata (`x-amz-meta-sha256`) together
// with its ETag (= MD5 of the bytes for single-part puts); when either does not confirm, the
// bytes are read back and compared. Identical = already delivered ('exists'); different =
// SINK_CONFLICT, and the sink never writes over it.
//
// The race between HeadObject and PutObject: within this process, puts of one name are
// serialised (a per-name queue), so concurrent callers see 'exists' or SINK_CONFLICT. Across
// processes it is accepted: an origin's batches are written by exactly one agent (its chain id
// is random and fixed at genesis), so nobody else writes that name. A stranger writing under
// the prefix between the two calls would leave two versions; the first, locked version stays
// readable by VersionId (the verifier reads it, verify/s3-archive.ts).
//
// Every object carries Content-MD5 (checked by the server) and, with `object_lock`, its lock
// mode and retain-until date (and the legal hold when configured), so retention does not
// depend on the bucket's default rule.
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SealtrailError } from '../../lib/errors.js';
import type { S3ExporterConfig } from '../../config/types.js';
import type { LogFn } from '../../lib/log.js';
import { assertObjectName } from '../deliver.js';
import type { PutResult, Sink } from '../sink.js';
import { makeS3Client } from './client.js';
import { hasStatus, isTransientS3Error, s3ErrorInfo, sinkErrorFrom } from './errors.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Metadata key of the content hash (sent as the `x-amz-meta-sha256` header). */
export const SHA256_METADATA_KEY = 'sha256';

interface Digests {
  sha256Hex: string;
  md5Hex: string;
  md5Base64: string;
}

type Existing = 'absent' | 'same' | 'different';

function digests(body: Uint8Array): Digests {
  const md5 = createHash('md5').update(body).digest();
  return {
    sha256Hex: createHash('sha256').update(body).digest('hex'),
    md5Hex: md5.toString('hex'),
    md5Base64: md5.toString('base64'),
  };
}

function contentType(name: string): string {
  if (name.endsWith('.gz')) return 'application/gzip';
  if (name.endsWith('.jsonl')) return 'application/x-ndjson';
  return 'text/plain; charset=utf-8';
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

export class S3Sink implements Sink {
  readonly id: string;
  readonly #cfg: S3ExporterConfig;
  readonly #log: LogFn;
  readonly #client: S3Client;
  #closed = false;
  /** name -> tail of the queue of puts of that name (see the race note above). */
  readonly #inFlight = new Map<string, Promise<unknown>>();

  constructor(cfg: S3ExporterConfig, log: LogFn, client: S3Client = makeS3Client(cfg)) {
    if (cfg.prefix !== '' && !cfg.prefix.endsWith('/')) {
      throw new SealtrailError('CONFIG', `exporters.${cfg.id}.prefix must be empty or end with "/" (got ${JSON.stringify(cfg.prefix)})`);
    }
    this.id = cfg.id;
    this.#cfg = cfg;
    this.#log = log;
    this.#client = client;
  }

  /** "s3://bucket/prefix" for messages. */
  get location(): string {
    return `s3://${this.#cfg.bucket}/${this.#cfg.prefix}`;
  }

  async start(): Promise<void> {
    this.#assertOpen();
    await this.#checkBucket();
    if (this.#cfg.objectLock || this.#cfg.legalHold) await this.#checkObjectLock();
    else
      this.#log('warn', 's3 sink: object_lock is not set; objects are not write-protected by the store', {
        exporter: this.id,
        location: this.location,
      });
  }

  async put(name: string, body: Uint8Array): Promise<PutResult> {
    this.#assertOpen();
    const key = this.#key(name);
    const prev = this.#inFlight.get(key) ?? Promise.resolve();
    const mine = prev.catch(() => {}).then(() => this.#putOnce(key, name, body));
    this.#inFlight.set(key, mine);
    try {
      return await mine;
    } finally {
      if (this.#inFlight.get(key) === mine) this.#inFlight.delete(key);
    }
  }

  async #putOnce(key: string, name: string, body: Uint8Array): Promise<PutResult> {
    const d = digests(body);
    const before = await this.#compareExisting(key, body, d);
    if (before === 'same') return 'exists';
    if (before === 'different') throw this.#conflict(key);

    const input: PutObjectCommandInput = {
      Bucket: this.#cfg.bucket,
      Key: key,
      Body: body,
      ContentLength: body.length,
      ContentMD5: d.md5Base64,
      ContentType: contentType(name),
      Metadata: { [SHA256_METADATA_KEY]: d.sha256Hex },
      IfNoneMatch: '*',
    };
    if (this.#cfg.objectLock) {
      input.ObjectLockMode = this.#cfg.objectLock.mode;
      input.ObjectLockRetainUntilDate = new Date(Date.now() + this.#cfg.objectLock.retainDays * DAY_MS);
    }
    if (this.#cfg.legalHold) input.ObjectLockLegalHoldStatus = 'ON';
    try {
      await this.#client.send(new PutObjectCommand(input));
      return 'written';
    } catch (err) {
      if (!hasStatus(err, 412)) throw sinkErrorFrom(err, `PUT ${this.#url(key)}`);
    }
    // 412: the server honoured If-None-Match and something is there now; decide as above.
    const after = await this.#compareExisting(key, body, d);
    if (after === 'same') return 'exists';
    if (after === 'different') throw this.#conflict(key);
    throw new SealtrailError('SINK_TRANSIENT', `PUT ${this.#url(key)} got 412 Precondition Failed but no object is there`);
  }

  async get(name: string): Promise<Uint8Array | null> {
    this.#assertOpen();
    return this.#read(this.#key(name));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.destroy();
  }

  #key(name: string): string {
    assertObjectName(name);
    return this.#cfg.prefix + name;
  }

  #url(key: string): string {
    return `s3://${this.#cfg.bucket}/${key}`;
  }

  #assertOpen(): void {
    if (this.#closed) throw new SealtrailError('SINK_PERMANENT', `s3 sink ${this.id} is closed`);
  }

  #conflict(key: string): SealtrailError {
    const msg = `${this.#url(key)} already holds different content; the sink never overwrites an archived object`;
    this.#log('error', 's3 sink: conflict, a different object already holds this name', {
      exporter: this.id,
      bucket: this.#cfg.bucket,
      key,
    });
    return new SealtrailError('SINK_CONFLICT', msg);
  }

  async #compareExisting(key: string, body: Uint8Array, d: Digests): Promise<Existing> {
    let head;
    try {
      head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#cfg.bucket, Key: key }));
    } catch (err) {
      if (hasStatus(err, 404) && s3ErrorInfo(err).name !== 'NoSuchBucket') return 'absent';
      throw sinkErrorFrom(err, `HEAD ${this.#url(key)}`);
    }
    if (head.ContentLength !== undefined && head.ContentLength !== body.length) return 'different';
    const etag = (head.ETag ?? '').replace(/"/g, '').toLowerCase();
    if (head.Metadata?.[SHA256_METADATA_KEY] === d.sha256Hex && etag === d.md5Hex) return 'same';
    // Metadata missing or not confirmed by the ETag (multipart upload, SSE-KMS, an object
    // copied in by hand): the bytes decide.
    const stored = await this.#read(key);
    if (stored === null) return 'absent';
    return sameBytes(stored, body) ? 'same' : 'different';
  }

  async #read(key: string): Promise<Uint8Array | null> {
    try {
      const res = await this.#client.send(new GetObjectCommand({ Bucket: this.#cfg.bucket, Key: key }));
      if (!res.Body) throw new SealtrailError('SINK_TRANSIENT', `GET ${this.#url(key)} returned no body`);
      return await res.Body.transformToByteArray();
    } catch (err) {
      if (err instanceof SealtrailError) throw err;
      if (s3ErrorInfo(err).name === 'NoSuchKey') return null;
      throw sinkErrorFrom(err, `GET ${this.#url(key)}`);
    }
  }

  async #checkBucket(): Promise<void> {
    const bucket = this.#cfg.bucket;
    const where = this.#cfg.endpoint ? ` at ${this.#cfg.endpoint}` : ` in region ${this.#cfg.region}`;
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: bucket }));
      return;
    } catch (err) {
      const { name, status } = s3ErrorInfo(err);
      if (status === 404) {
        throw new SealtrailError('CONFIG', `exporters.${this.id}: bucket "${bucket}" does not exist${where}`, { cause: err });
      }
      if (status === 403) throw await this.#explainForbidden(err);
      if (status === 301) {
        throw new SealtrailError(
          'CONFIG',
          `exporters.${this.id}: bucket "${bucket}" is not in region ${this.#cfg.region} (301 redirect); set region`,
          { cause: err },
        );
      }
      if (status === undefined && !isTransientS3Error(err)) {
        throw new SealtrailError(
          'CONFIG',
          `exporters.${this.id}: no AWS credentials for bucket "${bucket}" (${name}); set access_key_id/secret_access_key or configure the default credential chain`,
          { cause: err },
        );
      }
      if (isTransientS3Error(err)) {
        throw new SealtrailError(
          'SINK_TRANSIENT',
          `exporters.${this.id}: bucket "${bucket}"${where} is unreachable (${status ?? 'no response'} ${name})`,
          { cause: err },
        );
      }
      throw new SealtrailError('CONFIG', `exporters.${this.id}: checking bucket "${bucket}"${where} failed (${status} ${name})`, {
        cause: err,
      });
    }
  }

  /** HeadBucket has no body, so a 403 says nothing; a ListObjectsV2 tells credentials from policy. */
  async #explainForbidden(headErr: unknown): Promise<SealtrailError> {
    const bucket = this.#cfg.bucket;
    let code = 'AccessDenied';
    try {
      await this.#client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }));
    } catch (err) {
      code = s3ErrorInfo(err).name;
    }
    if (code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch' || code === 'ExpiredToken' || code === 'InvalidToken') {
      return new SealtrailError(
        'CONFIG',
        `exporters.${this.id}: the S3 credentials were rejected for bucket "${bucket}" (403 ${code}); check the access key id and secret`,
        { cause: headErr },
      );
    }
    return new SealtrailError(
      'CONFIG',
      `exporters.${this.id}: access to bucket "${bucket}" is denied (403 ${code}); the sink needs s3:ListBucket, s3:GetObject, s3:PutObject and, with object_lock, s3:GetBucketObjectLockConfiguration, s3:PutObjectRetention`,
      { cause: headErr },
    );
  }

  async #checkObjectLock(): Promise<void> {
    const bucket = this.#cfg.bucket;
    const notEnabled = (cause?: unknown) =>
      new SealtrailError(
        'CONFIG',
        `exporters.${this.id}: Object Lock is not enabled on bucket "${bucket}", but ${this.#cfg.objectLock ? 'object_lock' : 'legal_hold'} is set; Object Lock must be enabled when the bucket is created`,
        cause === undefined ? {} : { cause },
      );
    let res;
    try {
      res = await this.#client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
    } catch (err) {
      const { name, status } = s3ErrorInfo(err);
      if (name === 'ObjectLockConfigurationNotFoundError' || status === 404) throw notEnabled(err);
      if (isTransientS3Error(err)) {
        throw new SealtrailError(
          'SINK_TRANSIENT',
          `exporters.${this.id}: reading the Object Lock configuration of bucket "${bucket}" failed (${status ?? 'no response'} ${name})`,
          { cause: err },
        );
      }
      throw new SealtrailError(
        'CONFIG',
        `exporters.${this.id}: cannot read the Object Lock configuration of bucket "${bucket}" (${status} ${name}); the sink needs s3:GetBucketObjectLockConfiguration`,
        { cause: err },
      );
    }
    if (res.ObjectLockConfiguration?.ObjectLockEnabled !== 'Enabled') throw notEnabled();
  }
}
