// Builds a valid archive directory in the real format (entry.ts, merkle.ts, note.ts, layout.ts)
// for verifier unit tests and benchmarks. The tamper suite against the real agent lives in
// test/e2e/tamper.test.ts.
import { promises as fs } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { encodeEntry, entryHash, ZERO_HASH_HEX } from '../../agent/chain/entry.js';
import { generateKey, NoteSigner } from '../../agent/keys/signer.js';
import { CompactFrontier } from '../../verify/merkle.js';
import { formatCheckpointBody, parseSignerKey } from '../../verify/note.js';
import { checkpointObjectName, entriesObjectName, makeOrigin } from '../../verify/layout.js';

export interface FixtureBatch {
  start: number;
  end: number;
  entries: string; // object name
  checkpoint: string; // object name
  note: string;
}

export interface Fixture {
  dir: string;
  origin: string;
  signer: NoteSigner;
  verifierKey: string;
  batches: FixtureBatch[];
  size: number;
}

export interface FixtureOptions {
  /** Entries in total, including the genesis entry. */
  entries: number;
  batchSize: number;
  gzip?: boolean;
  agentName?: string;
  signer?: NoteSigner;
  /** Makes record i's body; default a short audit message. */
  record?: (seq: number) => string;
  time?: (seq: number) => string;
  /** Resource JSON of every entry; default a service.name attribute. */
  resource?: string;
  /** The last entry is the agent's sealtrail.stop entry (a chain that ended cleanly). */
  stop?: boolean;
  /** Extra attributes of the genesis entry (e.g. sealtrail.previous_origin); numbers become intValue. */
  genesis?: Record<string, string | number>;
}

export function newSigner(name = 'test-key'): NoteSigner {
  const k = parseSignerKey(generateKey(name).signerKey);
  return new NoteSigner(k.name, k.seed);
}

export function defaultRecord(seq: number): string {
  return `{"timeUnixNano":"1764237600000000000","severityNumber":9,"severityText":"INFO","body":{"stringValue":"user ${seq % 97} updated setting ${seq}"},"attributes":[{"key":"audit","value":{"boolValue":true}},{"key":"user.id","value":{"stringValue":"u${seq % 97}"}}],"eventName":"audit.setting.changed"}`;
}

export function genesisRecord(origin: string, verifierKey: string, extra: Record<string, string | number> = {}): string {
  // As the agent writes them (agent/own-events.ts): OTLP/JSON, an intValue as a decimal string.
  const more = Object.entries(extra).map(
    ([k, v]) =>
      `,{"key":${JSON.stringify(k)},"value":${typeof v === 'number' ? `{"intValue":"${v}"}` : `{"stringValue":${JSON.stringify(v)}}`}}`,
  );
  return `{"body":{"stringValue":"chain started"},"attributes":[{"key":"sealtrail.origin","value":{"stringValue":${JSON.stringify(origin)}}},{"key":"sealtrail.verifier_key","value":{"stringValue":${JSON.stringify(verifierKey)}}}${more.join('')}],"eventName":"sealtrail.genesis"}`;
}

export const STOP_RECORD =
  '{"body":{"stringValue":"agent stopping"},"attributes":[{"key":"sealtrail.reason","value":{"stringValue":"SIGTERM"}}],"eventName":"sealtrail.stop"}';

export async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join((await import('node:os')).tmpdir(), 'sealtrail-'));
}

/** Writes a complete, valid archive under `dir` (created if needed). */
export async function buildArchive(dir: string, opts: FixtureOptions): Promise<Fixture> {
  const signer = opts.signer ?? newSigner();
  const origin = makeOrigin(opts.agentName ?? 'fixture', randomBytes(16).toString('hex'));
  const envJson = JSON.stringify('test');
  const recordOf = opts.record ?? defaultRecord;
  const timeOf = opts.time ?? ((seq: number) => new Date(Date.UTC(2026, 10, 27, 10, 0, 0) + seq * 1000).toISOString());
  const frontier = new CompactFrontier();
  let prev = ZERO_HASH_HEX;
  const batches: FixtureBatch[] = [];
  await fs.mkdir(path.join(dir, origin), { recursive: true });
  for (let start = 0; start < opts.entries; start += opts.batchSize) {
    const end = Math.min(opts.entries, start + opts.batchSize);
    const lines: string[] = [];
    for (let seq = start; seq < end; seq++) {
      const record =
        seq === 0
          ? genesisRecord(origin, signer.verifierKey(), opts.genesis)
          : opts.stop && seq === opts.entries - 1
            ? STOP_RECORD
            : recordOf(seq);
      const line = encodeEntry(seq, prev, timeOf(seq), envJson, {
        resource: opts.resource ?? '{"attributes":[{"key":"service.name","value":{"stringValue":"billing"}}]}',
        scope: '{"name":"audit"}',
        record,
      });
      const h = entryHash(Buffer.from(line, 'utf8'));
      frontier.append(h);
      prev = Buffer.from(h).toString('hex');
      lines.push(line + '\n');
    }
    const body = Buffer.from(lines.join(''), 'utf8');
    const entries = entriesObjectName(origin, start, end, opts.gzip === true);
    await fs.writeFile(path.join(dir, entries), opts.gzip ? gzipSync(body) : body);
    const note = signer.signNote(formatCheckpointBody(origin, end, frontier.root()));
    const checkpoint = checkpointObjectName(origin, start, end);
    await fs.writeFile(path.join(dir, checkpoint), note);
    batches.push({ start, end, entries, checkpoint, note });
  }
  return { dir, origin, signer, verifierKey: signer.verifierKey(), batches, size: opts.entries };
}

/** Reads an entries object's lines (plain or gzip). */
export async function readLines(file: string): Promise<string[]> {
  let buf = await fs.readFile(file);
  if (file.endsWith('.gz')) buf = (await import('node:zlib')).gunzipSync(buf);
  const text = buf.toString('utf8');
  return text.slice(0, -1).split('\n');
}

export async function writeLines(file: string, lines: string[]): Promise<void> {
  const body = Buffer.from(lines.map((l) => l + '\n').join(''), 'utf8');
  await fs.writeFile(file, file.endsWith('.gz') ? gzipSync(body) : body);
}
