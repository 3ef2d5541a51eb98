// Pure parts of the s3 sink and reader: error classification, s3:// parsing, env settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTransientS3Error, sinkErrorFrom } from '../../exporters/s3/errors.js';
import { parseS3Location, s3ClientConfigFromEnv } from '../../verify/s3-archive.js';
import { isVerifyError } from '../../verify/errors.js';

const s3err = (name: string, status?: number) =>
  Object.assign(new Error(name), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });

test('network failures, 5xx, 429/408 and throttling codes are transient', () => {
  for (const e of [
    Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    s3err('TimeoutError'),
    s3err('InternalError', 500),
    s3err('SlowDown', 503),
    s3err('ServiceUnavailable', 503),
    s3err('TooManyRequests', 429),
    s3err('RequestTimeout', 400),
    s3err('BadDigest', 400),
  ]) {
    assert.equal(isTransientS3Error(e), true, e.name);
    assert.equal(sinkErrorFrom(e, 'PUT x').code, 'SINK_TRANSIENT', e.name);
  }
});

test('403, other 400s, NoSuchBucket, redirects and missing credentials are permanent', () => {
  for (const e of [
    s3err('AccessDenied', 403),
    s3err('InvalidAccessKeyId', 403),
    s3err('SignatureDoesNotMatch', 403),
    s3err('InvalidRequest', 400),
    s3err('NoSuchBucket', 404),
    s3err('PermanentRedirect', 301),
    s3err('CredentialsProviderError'),
  ]) {
    assert.equal(sinkErrorFrom(e, 'PUT x').code, 'SINK_PERMANENT', e.name);
  }
  assert.match(sinkErrorFrom(s3err('AccessDenied', 403), 'PUT s3://b/k').message, /^PUT s3:\/\/b\/k failed \(403 AccessDenied/);
});

test('s3:// locations parse into bucket and a "/"-terminated prefix', () => {
  assert.deepEqual(parseS3Location('s3://audit-bucket'), { bucket: 'audit-bucket', prefix: '' });
  assert.deepEqual(parseS3Location('s3://audit-bucket/'), { bucket: 'audit-bucket', prefix: '' });
  assert.deepEqual(parseS3Location('s3://audit-bucket/prod/eu'), { bucket: 'audit-bucket', prefix: 'prod/eu/' });
  assert.deepEqual(parseS3Location('s3://audit-bucket/prod/'), { bucket: 'audit-bucket', prefix: 'prod/' });
  assert.equal(parseS3Location('/var/archive'), null);
  for (const bad of ['s3://', 's3://A_B', 's3://x', 's3:///prefix']) {
    assert.throws(
      () => parseS3Location(bad),
      (e) => isVerifyError(e, 'USAGE'),
      bad,
    );
  }
});

test('reader settings come from the AWS environment; an endpoint implies path style', () => {
  assert.deepEqual(s3ClientConfigFromEnv({}), {
    region: 'us-east-1',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const c = s3ClientConfigFromEnv({ AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:7480' });
  assert.equal(c.region, 'eu-west-1');
  assert.equal(c.endpoint, 'http://127.0.0.1:7480');
  assert.equal(c.forcePathStyle, true);
  assert.equal(s3ClientConfigFromEnv({ AWS_ENDPOINT_URL: 'http://a' }).endpoint, 'http://a');
});
