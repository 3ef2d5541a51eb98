// Hostile input against the real agent process: each class of hostile input gets its exact
// status, nothing of it is chained, and the agent keeps serving (the receivers are also
// tested in depth in test/agent/receivers).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { startAgentWith, tempDir, testConfig } from '../helpers/agent.js';
import { encodeRequest, GrpcLogsClient } from '../helpers/otlp-client.js';
import { deepJsonRequest, deepProtobufRequest } from '../agent/otlp/otlp-fixtures.js';
import { gzipBomb } from '../agent/receivers/receiver-fixtures.js';
import { allEntries, isOwn, attr } from '../helpers/entries.js';

it('hostile requests get exact errors and the agent keeps serving', async () => {
  const dir = await tempDir();
  const agent = await startAgentWith(
    dir,
    testConfig(dir).replace(
      '      http:\n        endpoint: 127.0.0.1:0\n',
      '      http:\n        endpoint: 127.0.0.1:0\n        max_request_body_size: 1MiB\n        max_decompressed_size: 4MiB\n',
    ),
  );
  const url = `http://${agent.http}`;
  const valid = encodeRequest([{ body: 'ok', attributes: { audit: true, id: 'valid' } }]);
  const post = async (body: Buffer | string, headers: Record<string, string>, path = '/v1/logs') => {
    const res = await fetch(url + path, { method: 'POST', headers, body });
    await res.arrayBuffer();
    return res.status;
  };
  const pb = { 'content-type': 'application/x-protobuf' };
  const json = { 'content-type': 'application/json' };
  const cases: Array<[string, () => Promise<number>, number]> = [
    ['truncated protobuf', () => post(valid.subarray(0, valid.length - 3), pb), 400],
    ['garbage', () => post(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), pb), 400],
    ['malformed JSON', () => post('{"resourceLogs": [', json), 400],
    ['wrong content type', () => post(valid, { 'content-type': 'text/plain' }), 415],
    ['oversized body', () => post(Buffer.alloc(2 << 20, 1), pb), 413],
    ['gzip bomb', async () => post(await gzipBomb(1 << 30), { ...pb, 'content-encoding': 'gzip' }), 413],
    ['AnyValue nested 10,000 deep (protobuf)', () => post(deepProtobufRequest(10000), pb), 400],
    ['AnyValue nested 10,000 deep (JSON)', () => post(deepJsonRequest(10000), json), 400],
    [
      'invalid UTF-8 in JSON',
      () =>
        post(
          Buffer.concat([
            Buffer.from('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"'),
            Buffer.from([0xc3, 0x28]),
            Buffer.from('"}}]}]}]}'),
          ]),
          json,
        ),
      400,
    ],
    ['unknown path', () => post(valid, pb, '/v1/traces'), 404],
  ];
  for (const [name, send, want] of cases) {
    assert.equal(await send(), want, name);
    assert.equal(await post(valid, pb), 200, `agent still serves after: ${name}`);
  }
  const grpc = new GrpcLogsClient(agent.grpc);
  const bad = await grpc.export(Buffer.from([0x0a, 0x05, 0x01]));
  assert.equal(bad.code, 3, 'gRPC INVALID_ARGUMENT for truncated protobuf');
  assert.equal((await grpc.export(valid)).code, 0);
  grpc.close();
  assert.equal(agent.proc.exitCode, null, 'the agent is still running');
  const m = await agent.metrics();
  assert.equal(m.get('sealtrail_records_accepted_total'), cases.length + 1);
  assert.equal(await agent.stop(), 0);
  const app = (await allEntries(dir)).filter((e) => !isOwn(e));
  assert.deepEqual(new Set(app.map((e) => attr(e, 'id'))), new Set(['valid']));
  assert.equal(app.length, cases.length + 1);
  await fs.rm(dir, { recursive: true, force: true });
});
