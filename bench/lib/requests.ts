// Pre-encoded ExportLogsServiceRequest bodies for the load generators: one resource, one
// scope, `records` audit records of about `recordBytes` each on the wire (protobuf bytes per
// LogRecord, request framing included). The stored entry line is larger: canonical JSON plus
// the chain envelope (the reports show it).
import { ExportLogsServiceRequest, encodeRequest, type SimpleRecord } from '../../test/helpers/otlp-client.js';

/** A record shape: `audit` (the realistic audit record below) or a synthetic size in protobuf bytes. */
export type RecordShape = 'audit' | number;

export const shapeLabel = (s: RecordShape): string => (s === 'audit' ? 'audit (~310 B)' : `${s} B`);

// Pseudo-random text (fixed seed), so LevelDB's block compression sees realistic data, not 'xxxx'.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ';
let seed = 0x2545f491;
function text(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    s += ALPHABET[(seed >>> 16) % ALPHABET.length];
  }
  return s;
}

function record(i: number, pad: string, id: string): SimpleRecord {
  return {
    body: `user u${i % 97} changed setting ${i % 1000} ${pad}`,
    attributes: { audit: true, id, 'user.id': `u${i % 97}` },
    eventName: 'audit.setting.changed',
  };
}

const padCache = new Map<number, number>();
/** Body padding that brings one record to about `recordBytes` on the wire. */
function padFor(recordBytes: number): number {
  let pad = padCache.get(recordBytes);
  if (pad === undefined) {
    const n = 100;
    const base = encodeRequest(Array.from({ length: n }, (_, i) => record(i, '', `b${1e6 + i}`))).length / n;
    pad = Math.max(0, Math.round(recordBytes - base));
    padCache.set(recordBytes, pad);
  }
  return pad;
}

export function benchRecord(i: number, recordBytes: number, id?: string): SimpleRecord {
  return record(i, text(padFor(recordBytes)), id ?? `b${1e6 + i}`);
}

// The realistic audit record (issue 11): one resource (service.name, host.name), one scope (name,
// version); each record has time and observed time, severity 9 "INFO", a ~110-character string
// body and 6 attributes (audit=true, actor, action, resource, result, environment), about
// 310 B of protobuf.
const ACTIONS = [
  'user.login',
  'user.logout',
  'role.grant',
  'role.revoke',
  'document.read',
  'document.update',
  'key.rotate',
  'export.create',
];
const RESULTS = ['success', 'success', 'success', 'denied', 'failure'];
const ENVIRONMENTS = ['production', 'production-eu-west', 'staging'];

function auditRecord(i: number): Record<string, unknown> {
  const action = ACTIONS[i % ACTIONS.length]!;
  const actor = `user-${(i * 7919) % 100000}@example.com`;
  const resource = `/projects/p-${i % 4099}/doc-${text(6)}`;
  const result = RESULTS[i % RESULTS.length]!;
  const body = `${actor} performed ${action} on ${resource} with result ${result}; request ${text(40)}`.slice(0, 110).padEnd(110, '.');
  const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
  return {
    severityNumber: 9,
    severityText: 'INFO',
    body: { stringValue: body },
    attributes: [
      { key: 'audit', value: { boolValue: true } },
      str('actor', actor),
      str('action', action),
      str('resource', resource),
      str('result', result),
      str('environment', ENVIRONMENTS[i % ENVIRONMENTS.length]!),
    ],
  };
}

/** One request of `records` realistic audit records (record i of the run is `first + i`). */
export function auditBody(first: number, records: number): Buffer {
  const now = BigInt(Date.now()) * 1_000_000n;
  const msg = ExportLogsServiceRequest.fromObject({
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'billing-api' } },
            { key: 'host.name', value: { stringValue: 'ip-10-0-12-34.eu-west-1.compute.internal' } },
          ],
        },
        scopeLogs: [
          {
            scope: { name: 'com.example.audit', version: '2.4.1' },
            logRecords: Array.from({ length: records }, (_, i) => ({
              timeUnixNano: (now + BigInt(i) * 1000n).toString(),
              observedTimeUnixNano: (now + BigInt(i) * 1000n + 250_000n).toString(),
              ...auditRecord(first + i),
            })),
          },
        ],
      },
    ],
  });
  return Buffer.from(ExportLogsServiceRequest.encode(msg).finish());
}

/** `count` distinct request bodies to rotate through (the agent chains them all anyway). */
export function benchBodies(count: number, records: number, shape: RecordShape): Buffer[] {
  const out: Buffer[] = [];
  for (let b = 0; b < count; b++) {
    if (shape === 'audit') out.push(auditBody(b * records, records));
    else out.push(encodeRequest(Array.from({ length: records }, (_, i) => benchRecord(b * records + i, shape))));
  }
  return out;
}

/** A request whose records carry the ids first..first+records-1 (`id` attribute "<n>"). */
export function idBody(first: number, records: number, recordBytes: number): Buffer {
  return encodeRequest(Array.from({ length: records }, (_, i) => benchRecord(first + i, recordBytes, String(first + i))));
}
