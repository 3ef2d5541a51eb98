// The shared sink conformance suite, run against the s3 sink on a real Ceph RGW with Object
// Lock. Faults are real: the transient fault stops a private radosgw (the sink's endpoint)
// through its pid file and starts it again; the permanent fault is a bucket policy that denies
// reads and writes (403 AccessDenied), removed to heal.
import { after, before } from 'node:test';
import { randomBytes } from 'node:crypto';
import {
  DeleteBucketPolicyCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { S3Sink } from '../../exporters/s3/index.js';
import { createBucket, ensureS3, s3Client, startGateway, type Gateway, type S3Server } from '../setup/s3/server.js';
import { sinkConformanceSuite } from '../exporters/conformance.js';
import { recordingLog, s3Config } from './s3-helpers.js';

let server: S3Server;
let gateway: Gateway;
let bucket: string;
let admin: S3Client;

before(async () => {
  server = await ensureS3();
  gateway = await startGateway();
  bucket = await createBucket(server, { objectLock: true, tag: 'conf' });
  admin = s3Client(server);
});

after(async () => {
  admin?.destroy();
  await gateway?.stop();
});

sinkConformanceSuite({
  name: 's3 (Ceph RGW, Object Lock COMPLIANCE)',
  async makeSink() {
    const prefix = `conf-${randomBytes(4).toString('hex')}/`;
    const sink = new S3Sink(s3Config(server, { bucket, prefix, endpoint: gateway.endpoint }), recordingLog());
    return {
      sink,
      async readBack(name) {
        try {
          const res = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: prefix + name }));
          return await res.Body!.transformToByteArray();
        } catch (err) {
          if ((err as { name?: string }).name === 'NoSuchKey') return null;
          throw err;
        }
      },
      // Every version of every key: a second version of a name shows up as a duplicate.
      async listNames() {
        const names: string[] = [];
        let KeyMarker: string | undefined;
        let VersionIdMarker: string | undefined;
        do {
          const res = await admin.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker, VersionIdMarker }));
          for (const v of res.Versions ?? []) names.push(v.Key!.slice(prefix.length));
          for (const m of res.DeleteMarkers ?? []) names.push(`${m.Key!.slice(prefix.length)} (delete marker)`);
          KeyMarker = res.IsTruncated ? res.NextKeyMarker : undefined;
          VersionIdMarker = res.IsTruncated ? res.NextVersionIdMarker : undefined;
        } while (KeyMarker);
        return names;
      },
      injectTransientFault: () => gateway.stop(),
      async injectPermanentFault() {
        const policy = {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Deny', Principal: '*', Action: ['s3:GetObject', 's3:PutObject'], Resource: [`arn:aws:s3:::${bucket}/${prefix}*`] },
          ],
        };
        await admin.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
      },
      async healFault() {
        await admin.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
        await gateway.start();
      },
      // Objects are under COMPLIANCE retention and cannot be removed; the bucket is throwaway.
      async cleanup() {},
    };
  },
});
