// The gRPC message reader against hostile chunkings and prefixes: it holds one buffer of the
// declared size, asks for that size before allocating it, and names each protocol violation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GrpcMessageReader,
  GrpcProtocolError,
  binaryHeaderValue,
  percentEncodeGrpcMessage,
} from '../../../agent/receivers/grpc-message.js';
import { GRPC_INTERNAL } from '../../../agent/receivers/common.js';
import { SealtrailError } from '../../../lib/errors.js';

function framed(message: Buffer, flag = 0): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

function reader(max = 1 << 20, reserve: (n: number) => boolean = () => true): GrpcMessageReader {
  return new GrpcMessageReader(max, reserve, () => new SealtrailError('OVERLOADED', 'no room'));
}

function protocolError(code: number, pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof GrpcProtocolError && err.grpcCode === code && pattern.test(err.message);
}

test('a message split at every byte, or in one chunk, reads back whole, in memory of its own', () => {
  const message = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
  const wire = framed(message);
  for (const step of [1, 3, 5, 7, 16_384, wire.length]) {
    const r = reader();
    for (let at = 0; at < wire.length; at += step) r.push(wire.subarray(at, at + step));
    assert.ok(r.complete);
    const m = r.finish();
    assert.equal(m.compressed, false);
    assert.ok(m.bytes.equals(message), `chunks of ${step}`);
    assert.equal(m.bytes.buffer.byteLength, message.length, 'one buffer of exactly the declared size');
  }
  const flagged = reader();
  flagged.push(framed(Buffer.from('abc'), 1));
  assert.equal(flagged.finish().compressed, true);
  const empty = reader();
  empty.push(framed(Buffer.alloc(0)));
  assert.equal(empty.finish().bytes.length, 0);
});

test('the declared size is checked against the limit, then reserved, before anything is allocated', () => {
  const asked: number[] = [];
  const r = reader(1000, (n) => {
    asked.push(n);
    return true;
  });
  r.push(Buffer.from([0, 0, 0]));
  assert.equal(asked.length, 0, 'nothing reserved before the prefix is whole');
  r.push(Buffer.from([0x03, 0xe8])); // 1000 bytes
  assert.deepEqual(asked, [1000]);

  const big = reader(1000, (n) => {
    asked.push(n);
    return true;
  });
  // A prefix declaring 4 GiB - 1 is refused from its 5 bytes alone.
  assert.throws(
    () => big.push(Buffer.from([0, 0xff, 0xff, 0xff, 0xff])),
    (err: unknown) =>
      err instanceof SealtrailError && err.code === 'TOO_LARGE' && /4294967295 bytes exceeds max_recv_msg_size \(1000\)/.test(err.message),
  );
  assert.deepEqual(asked, [1000], 'an oversized message is not reserved');

  const full = reader(1000, () => false);
  assert.throws(
    () => full.push(framed(Buffer.alloc(10))),
    (err: unknown) => err instanceof SealtrailError && err.code === 'OVERLOADED',
  );
});

test('protocol violations get INTERNAL with what was wrong', () => {
  assert.throws(() => reader().push(Buffer.from([2, 0, 0, 0, 1, 0])), protocolError(GRPC_INTERNAL, /invalid compressed flag 2/));
  const twice = reader();
  assert.throws(
    () => twice.push(Buffer.concat([framed(Buffer.from('a')), framed(Buffer.from('b'))])),
    protocolError(GRPC_INTERNAL, /one request message; more data followed/),
  );
  assert.throws(() => reader().finish(), protocolError(GRPC_INTERNAL, /ended without a request message/));
  const inPrefix = reader();
  inPrefix.push(Buffer.from([0, 0]));
  assert.throws(() => inPrefix.finish(), protocolError(GRPC_INTERNAL, /inside its request message \(2 of 5 bytes\)/));
  const inBody = reader();
  inBody.push(framed(Buffer.alloc(100)).subarray(0, 60));
  assert.throws(() => inBody.finish(), protocolError(GRPC_INTERNAL, /inside its request message \(55 of 100 bytes\)/));
});

test('grpc-message is percent-encoded and -bin values are unpadded base64', () => {
  assert.equal(percentEncodeGrpcMessage('buffer is full'), 'buffer is full');
  assert.equal(percentEncodeGrpcMessage('100% done\n'), '100%25 done%0A');
  assert.equal(percentEncodeGrpcMessage('naïve'), 'na%C3%AFve');
  assert.equal(decodeURIComponent(percentEncodeGrpcMessage('a%b\r\n✓')), 'a%b\r\n✓');
  assert.equal(binaryHeaderValue(Buffer.from([1])), 'AQ');
  assert.equal(binaryHeaderValue(Buffer.from([1, 2, 3])), 'AQID');
});
