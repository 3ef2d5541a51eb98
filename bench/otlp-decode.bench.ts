// Decode + canonicalize throughput of the OTLP decoders (agent/otlp/decode-*.ts): requests of
// 500 log records of ~250 bytes each (protobuf size), as an SDK batch exporter sends them.
// Run: npm run build && node dist/bench/otlp-decode.bench.js [seconds per format, default 3]
// The protobuf request is encoded by protobufjs from proto/; the JSON one is the same content
// in OTLP/JSON, so both paths produce identical canonical text.
import { decodeProtobufRequest } from '../agent/otlp/decode-protobuf.js';
import { decodeJsonRequest } from '../agent/otlp/decode-json.js';
import { long, requestType } from '../test/agent/otlp/otlp-fixtures.js';

const RECORDS = 500;

function records(json: boolean): object[] {
  const out: object[] = [];
  for (let i = 0; i < RECORDS; i++) {
    const t = 1700000000000000000n + BigInt(i) * 1000n;
    const kv = (key: string, value: object) => ({ key, value });
    out.push({
      timeUnixNano: json ? t.toString() : long(t),
      observedTimeUnixNano: json ? (t + 5n).toString() : long(t + 5n),
      severityNumber: 9,
      severityText: 'INFO',
      eventName: 'audit.setting.changed',
      body: { stringValue: `user u${i % 97} changed setting retention.days from 30 to ${i}` },
      attributes: [
        kv('audit', { boolValue: true }),
        kv('user.id', { stringValue: `u-${i % 97}` }),
        kv('session.id', { stringValue: 'c1c7a0f2-1a0e-4a51-9d8e' }),
        kv('attempt', { intValue: json ? i : long(BigInt(i), false) }),
      ],
      traceId: json ? '4bf92f3577b34da6a3ce929d0e0e4736' : Buffer.from('4bf92f3577b34da6a3ce929d0e0e4736', 'hex'),
      spanId: json ? '00f067aa0ba902b7' : Buffer.from('00f067aa0ba902b7', 'hex'),
      flags: 1,
    });
  }
  return out;
}

function request(json: boolean): object {
  return {
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'billing' } },
            { key: 'host.name', value: { stringValue: 'web-01' } },
          ],
        },
        scopeLogs: [{ scope: { name: 'audit-lib', version: '1.2.3' }, logRecords: records(json) }],
      },
    ],
  };
}

function run(name: string, body: Uint8Array, decode: (b: Uint8Array) => { records: unknown[] }, seconds: number): void {
  for (let i = 0; i < 200; i++) decode(body); // warm-up
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(seconds * 1e9);
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 20; i++) n += decode(body).records.length;
    now = process.hrtime.bigint();
  }
  const secs = Number(now - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  const perRecord = body.length / RECORDS;
  // Per CPU-second as well: on a shared machine wall time also counts other processes' turns.
  console.log(
    `${name.padEnd(9)} ${Math.round(n / secs)
      .toLocaleString('en-US')
      .padStart(11)} records/s wall, ` +
      `${Math.round(n / cpuSecs)
        .toLocaleString('en-US')
        .padStart(11)} records/CPU-s  ` +
      `(${(body.length / 1024).toFixed(1)} KiB per request, ${perRecord.toFixed(0)} B/record, ${(((n / RECORDS) * body.length) / secs / 1e6).toFixed(0)} MB/s)`,
  );
}

function main(): void {
  const seconds = Number(process.argv[2] ?? 3);
  const Req = requestType();
  const pb = Req.encode(Req.create(request(false))).finish();
  const js = Buffer.from(JSON.stringify(request(true)));
  const a = decodeProtobufRequest(pb).records;
  const b = decodeJsonRequest(js).records;
  if (a.length !== RECORDS || a.some((r, i) => r.record !== b[i]!.record || r.resource !== b[i]!.resource)) {
    throw new Error('protobuf and JSON decoders disagree');
  }
  console.log(`node ${process.version}, ${RECORDS} records per request, sample record: ${a[0]!.record.length} B canonical JSON`);
  run('protobuf', pb, decodeProtobufRequest, seconds);
  run('json', js, decodeJsonRequest, seconds);
}

main();
