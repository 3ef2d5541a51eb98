// Shared test fixtures for the OTLP decoder and receiver tests: the protobufjs view of our
// own proto/ files (an independent encoder to check the hand-written decoder against) and
// builders for hostile inputs.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** The repository root: the nearest ancestor of this file that holds proto/opentelemetry. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'proto', 'opentelemetry'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('proto/ not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export function loadOtlpRoot(): protobuf.Root {
  const root = new protobuf.Root();
  const protoDir = path.join(repoRoot(), 'proto');
  root.resolvePath = (_origin, target) => path.join(protoDir, target);
  root.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto');
  return root;
}

export function requestType(root = loadOtlpRoot()): protobuf.Type {
  return root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
}

/** A 64-bit value in the {low, high} form protobufjs writers accept without long.js. */
export function long(v: bigint, unsigned = true): { low: number; high: number; unsigned: boolean } {
  const u = BigInt.asUintN(64, v);
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned };
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

export function lenField(field: number, payload: Buffer): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(payload.length), payload]);
}

/** protobuf ExportLogsServiceRequest whose one record's body is AnyValue nested `depth` deep. */
export function deepProtobufRequest(depth: number): Buffer {
  // Built inside out without recursion: AnyValue{array_value: ArrayValue{values: [inner]}}.
  let v: Buffer = Buffer.alloc(0); // innermost: an empty AnyValue
  for (let i = 1; i < depth; i++) v = lenField(5, lenField(1, v));
  const record = lenField(5, v);
  return lenField(1, lenField(2, lenField(2, record)));
}

/** OTLP/JSON request with a body nested `depth` deep, as text (no recursion to build it). */
export function deepJsonRequest(depth: number): string {
  const open = '{"arrayValue":{"values":['.repeat(depth - 1);
  const close = ']}}'.repeat(depth - 1);
  return `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":${open}{}${close}}]}]}]}`;
}
