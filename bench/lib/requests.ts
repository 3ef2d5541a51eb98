// Pre-encoded ExportLogsServiceRequest bodies for the load generators: one resource, one
// scope, `records` audit records of about `recordBytes` each on the wire (protobuf bytes per
// LogRecord, request framing included). The stored entry line is larger: canonical JSON plus
// the chain envelope (the reports show it).
import { encodeRequest, type SimpleRecord } from '../../test/helpers/otlp-client.js';

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

/** `count` distinct request bodies to rotate through (the agent chains them all anyway). */
export function benchBodies(count: number, records: number, recordBytes: number): Buffer[] {
  const out: Buffer[] = [];
  for (let b = 0; b < count; b++) {
    out.push(encodeRequest(Array.from({ length: records }, (_, i) => benchRecord(b * records + i, recordBytes))));
  }
  return out;
}

/** A request whose records carry the ids first..first+records-1 (`id` attribute "<n>"). */
export function idBody(first: number, records: number, recordBytes: number): Buffer {
  return encodeRequest(Array.from({ length: records }, (_, i) => benchRecord(first + i, recordBytes, String(first + i))));
}
