// The real OpenTelemetry JS SDK (sdk-logs + the OTLP gRPC, HTTP/JSON and HTTP/protobuf log
// exporters, 0.223) talking to our real receivers. What arrives must be the record the SDK
// was given, in the OTLP JSON mapping, and byte-identical whichever exporter carried it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { LoggerProvider, SimpleLogRecordProcessor, BatchLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPLogExporter as GrpcExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as JsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { startGrpcReceiver } from '../../../agent/receivers/otlp-grpc.js';
import { startHttpReceiver } from '../../../agent/receivers/otlp-http.js';
import { OPTS, RecordingIngestor, grpcConfig, httpConfig } from './receiver-fixtures.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

const EXPECTED_RECORD =
  '{"timeUnixNano":"1700000000123456789","severityNumber":17,"severityText":"ERROR",' +
  '"body":{"kvlistValue":{"values":[{"key":"action","value":{"stringValue":"delete"}},{"key":"count","value":{"intValue":"3"}}]}},' +
  '"attributes":[{"key":"audit","value":{"boolValue":true}},{"key":"user.id","value":{"stringValue":"u-42 ✓"}},' +
  '{"key":"ratio","value":{"doubleValue":0.25}},{"key":"big","value":{"intValue":"9007199254740991"}},' +
  '{"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"a"},{"stringValue":"b"}]}}},' +
  '{"key":"raw","value":{"bytesValue":"AQL/"}}],' +
  `"flags":1,"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}",` +
  '"observedTimeUnixNano":"1700000001000000007","eventName":"audit.user.delete"}';

async function emitOne(exporter: LogRecordExporter, batch: boolean): Promise<void> {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'billing', 'deployment.environment.name': 'test' }),
    processors: [batch ? new BatchLogRecordProcessor({ exporter }) : new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('audit-lib', '1.2.3');
  const ctx = trace.setSpanContext(context.active(), { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED });
  logger.emit({
    timestamp: [1700000000, 123456789],
    observedTimestamp: [1700000001, 7],
    severityNumber: SeverityNumber.ERROR,
    severityText: 'ERROR',
    eventName: 'audit.user.delete',
    body: { action: 'delete', count: 3 },
    attributes: {
      audit: true,
      'user.id': 'u-42 ✓',
      ratio: 0.25,
      big: Number.MAX_SAFE_INTEGER,
      tags: ['a', 'b'],
      raw: new Uint8Array([1, 2, 255]),
    },
    context: ctx,
  });
  await provider.forceFlush();
  await provider.shutdown();
}

test('OTel SDK exporters (gRPC, HTTP/JSON, HTTP/protobuf, with and without gzip) deliver identical canonical records', async (t) => {
  const ingestor = new RecordingIngestor();
  const grpcR = await startGrpcReceiver(grpcConfig(), ingestor, OPTS);
  const httpR = await startHttpReceiver(httpConfig(), ingestor, OPTS);
  t.after(async () => {
    await grpcR.close(false);
    await httpR.close(false);
  });
  const httpUrl = `http://${httpR.address}/v1/logs`;
  const variants: Array<[string, () => LogRecordExporter, boolean]> = [
    ['grpc', () => new GrpcExporter({ url: `http://${grpcR.address}` }), false],
    ['grpc+gzip', () => new GrpcExporter({ url: `http://${grpcR.address}`, compression: 'gzip' as never }), true],
    ['http/json', () => new JsonExporter({ url: httpUrl }), false],
    ['http/json+gzip', () => new JsonExporter({ url: httpUrl, compression: 'gzip' as never }), true],
    ['http/protobuf', () => new ProtoExporter({ url: httpUrl }), false],
    ['http/protobuf+gzip', () => new ProtoExporter({ url: httpUrl, compression: 'gzip' as never }), true],
  ];
  for (const [i, [name, make, batch]] of variants.entries()) {
    await emitOne(make(), batch);
    await ingestor.waitForRecords(i + 1);
    const r = ingestor.records[i]!;
    assert.equal(r.record, EXPECTED_RECORD, name);
    assert.equal(r.scope, '{"name":"audit-lib","version":"1.2.3"}', name);
    const resource = JSON.parse(r.resource) as { attributes: Array<{ key: string; value: unknown }> };
    assert.deepEqual(resource.attributes.find((a) => a.key === 'service.name')?.value, { stringValue: 'billing' }, name);
    assert.equal(r.resource, ingestor.records[0]!.resource, `${name}: resource differs from the gRPC one`);
    assert.equal(r.view.eventName, 'audit.user.delete');
    assert.equal(r.view.severityNumber, 17);
    assert.equal(r.view.scopeName, 'audit-lib');
    assert.equal(r.view.attributes.get('audit'), 'true');
    assert.equal(r.view.attributes.get('tags'), null);
    assert.equal(r.view.resourceAttributes.get('service.name'), 'billing');
  }
  assert.equal(ingestor.records.length, variants.length);
});

test('OTel SDK gRPC and HTTP exporters authenticate with a bearer token', async (t) => {
  const ingestor = new RecordingIngestor();
  const auth = { bearerToken: 's3cret' };
  const grpcR = await startGrpcReceiver(grpcConfig({ auth }), ingestor, OPTS);
  const httpR = await startHttpReceiver(httpConfig({ auth }), ingestor, OPTS);
  t.after(async () => {
    await grpcR.close(false);
    await httpR.close(false);
  });
  const { Metadata } = await import('@grpc/grpc-js');
  const md = new Metadata();
  md.set('authorization', 'Bearer s3cret');
  await emitOne(new GrpcExporter({ url: `http://${grpcR.address}`, metadata: md }), false);
  await emitOne(new ProtoExporter({ url: `http://${httpR.address}/v1/logs`, headers: { Authorization: 'Bearer s3cret' } }), false);
  await ingestor.waitForRecords(2);
  assert.equal(ingestor.records[1]!.record, EXPECTED_RECORD);
});
