// The in-flight byte budget: admission, growth (the oldest request may always grow), release.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InflightBudget, decodedBytes, overBudget } from '../../../agent/receivers/inflight.js';
import { decodeProtobufRequest } from '../../../agent/otlp/decode-protobuf.js';
import { encodeRequest } from '../../helpers/otlp-client.js';

test('a request is admitted while its reservation fits, or when nothing else is in flight', () => {
  const b = new InflightBudget(100);
  const big = b.acquire(150);
  assert.ok(big, 'alone, a request larger than the budget is admitted');
  assert.equal(b.acquire(1), null, 'nothing fits next to it');
  big.release();
  big.release(); // twice is safe
  assert.equal(b.bytes, 0);
  const a = b.acquire(60)!;
  assert.equal(b.acquire(41), null);
  const c = b.acquire(40)!;
  assert.equal(b.bytes, 100);
  a.release();
  c.release();
  assert.equal(b.bytes, 0);
});

test('growth past the budget is refused except for the oldest lease; resize and shrink always apply', () => {
  const b = new InflightBudget(100);
  const oldest = b.acquire(40)!;
  const younger = b.acquire(40)!;
  assert.equal(younger.grow(30), false, 'the younger one does not fit');
  assert.equal(younger.bytes, 40);
  assert.equal(oldest.grow(30), true, 'the oldest may pass the budget');
  assert.equal(b.bytes, 110);
  assert.equal(younger.grow(-10), true);
  younger.resize(5);
  assert.equal(b.bytes, 75);
  oldest.release();
  assert.equal(younger.grow(90), true, 'now the younger one is the oldest');
  younger.release();
  assert.equal(younger.grow(1), false, 'a released lease does not grow');
  assert.equal(b.bytes, 0);
});

test('overBudget is the retryable OVERLOADED error with a 1 s hint', () => {
  const e = overBudget(64);
  assert.equal(e.code, 'OVERLOADED');
  assert.equal(e.retryable, true);
  assert.equal(e.retryAfterSeconds, 1);
});

test('decodedBytes counts each record, and a shared resource and scope once', () => {
  const one = decodeProtobufRequest(encodeRequest([{ body: 'a', attributes: { k: 'v' } }]), { maxDepth: 64 });
  const two = decodeProtobufRequest(
    encodeRequest([
      { body: 'a', attributes: { k: 'v' } },
      { body: 'a', attributes: { k: 'v' } },
    ]),
    { maxDepth: 64 },
  );
  const r = one.records[0]!;
  const perRecord = r.record.length + 512 + 320; // record text, objects, one attribute
  assert.equal(decodedBytes(one), perRecord + r.resource.length + r.view.resourceAttributes.size * 320 + r.scope.length);
  assert.equal(decodedBytes(two) - decodedBytes(one), perRecord);
});

test('the expected decoded size is learned per format: the first decode sets it, later ones move it an eighth', () => {
  const b = new InflightBudget(100);
  assert.equal(b.expectedDecoded('protobuf', 1000), 1000, 'nothing decoded yet: the body size again');
  b.noteDecoded('protobuf', 1000, 10_000);
  assert.equal(b.expectedDecoded('protobuf', 500), 5000);
  assert.equal(b.expectedDecoded('json', 500), 500, 'JSON has its own');
  b.noteDecoded('protobuf', 1000, 2000); // ratio 2: 10 + (2 - 10) / 8 = 9
  assert.equal(b.expectedDecoded('protobuf', 100), 900);
  b.noteDecoded('json', 1000, 10); // smaller than the body still counts as the body
  assert.equal(b.expectedDecoded('json', 300), 300);
  const odd = new InflightBudget(100);
  odd.noteDecoded('protobuf', 1, 1_000_000); // bounded, so one odd request cannot block the rest
  assert.equal(odd.expectedDecoded('protobuf', 10), 640);
  odd.noteDecoded('protobuf', 0, 5); // an empty body teaches nothing
  assert.equal(odd.expectedDecoded('protobuf', 10), 640);
});
