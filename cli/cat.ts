// sealtrail cat ARCHIVE [--from TIME] [--to TIME] [--where key=value]... [--origin O] [--json]
// Reads an archive like journalctl reads the journal: one readable line per entry, or the
// raw entry lines with --json. It streams and does not verify (that is `sealtrail verify`);
// an unparsable line is reported on stderr and skipped, never fatal.
import { once } from 'node:events';
import { isVerifyError } from '../verify/errors.js';
import { openArchive } from '../verify/open-archive.js';
import { webGunzip } from '../verify/gunzip.js';
import { catalog, sortedBatches } from '../verify/verifier.js';
import { splitLines } from '../verify/lines.js';
import { UsageError, parseArgs } from './args.js';

const USAGE = `usage: sealtrail cat ARCHIVE [--from TIME] [--to TIME] [--where KEY=VALUE]... [--origin ORIGIN] [--json]
  TIME: RFC 3339 (2026-11-27T10:00:00Z), a date (2026-11-27), "now", "today", "yesterday",
        or relative: 15m, 2h, 3d, 1w (ago; "-2h" and "2h ago" also work)
  KEY:  a record attribute, or event_name, severity, scope, seq, or resource.<attribute>`;

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: unknown;
  kvlistValue?: unknown;
}
interface KV {
  key: string;
  value?: AnyValue;
}
interface Entry {
  seq: number;
  time: string;
  env?: string;
  resource?: { attributes?: KV[] };
  scope?: { name?: string };
  record?: { severityText?: string; severityNumber?: number; body?: AnyValue; attributes?: KV[]; eventName?: string };
}

const UNITS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };

/** Parses a --from/--to value to epoch milliseconds. */
export function parseTime(v: string, now = Date.now()): number {
  const s = v.trim().toLowerCase();
  if (s === 'now') return now;
  const midnight = new Date(now);
  midnight.setUTCHours(0, 0, 0, 0);
  if (s === 'today') return midnight.getTime();
  if (s === 'yesterday') return midnight.getTime() - UNITS.d!;
  const rel = /^-?(\d+)\s*(s|m|h|d|w)(\s+ago)?$/.exec(s);
  if (rel) return now - Number(rel[1]) * UNITS[rel[2]!]!;
  if (/^\d{4}-\d{2}-\d{2}([t ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(z|[+-]\d{2}:\d{2})?)?$/.test(s)) {
    const t = Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s.replace(' ', 'T'));
    if (!Number.isNaN(t)) return t;
  }
  throw new UsageError(`cannot read time ${JSON.stringify(v)}`);
}

function scalar(v: AnyValue | undefined): string | null {
  if (!v) return '';
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return String(v.boolValue);
  if (v.intValue !== undefined) return String(v.intValue);
  if (v.doubleValue !== undefined) return String(v.doubleValue);
  if (v.bytesValue !== undefined) return v.bytesValue;
  return null;
}

function display(v: AnyValue | undefined): string {
  const s = scalar(v);
  return s ?? JSON.stringify(v?.arrayValue ?? v?.kvlistValue ?? v);
}

function attr(list: KV[] | undefined, key: string): string | null | undefined {
  const kv = list?.find((a) => a.key === key);
  return kv === undefined ? undefined : scalar(kv.value);
}

const SEVERITY = ['', 'TRACE', 'TRACE2', 'TRACE3', 'TRACE4', 'DEBUG', 'DEBUG2', 'DEBUG3', 'DEBUG4', 'INFO', 'INFO2', 'INFO3', 'INFO4', 'WARN', 'WARN2', 'WARN3', 'WARN4', 'ERROR', 'ERROR2', 'ERROR3', 'ERROR4', 'FATAL', 'FATAL2', 'FATAL3', 'FATAL4'];

function severity(e: Entry): string {
  return e.record?.severityText || SEVERITY[e.record?.severityNumber ?? 0] || '-';
}

/** True when entry field `key` equals `value` (record attributes first, then the named fields). */
export function matches(e: Entry, key: string, value: string): boolean {
  const a = attr(e.record?.attributes, key);
  if (a !== undefined) return a === value;
  switch (key) {
    case 'event_name':
      return (e.record?.eventName ?? '') === value;
    case 'severity':
      return severity(e).toLowerCase() === value.toLowerCase();
    case 'scope':
      return (e.scope?.name ?? '') === value;
    case 'seq':
      return String(e.seq) === value;
    case 'env':
      return e.env === value;
  }
  if (key.startsWith('resource.')) return attr(e.resource?.attributes, key.slice(9)) === value;
  return false;
}

export function formatEntry(e: Entry): string {
  const body = display(e.record?.body).replace(/\s+/g, ' ');
  const attrs = (e.record?.attributes ?? []).map((a) => `${a.key}=${display(a.value).replace(/\s+/g, ' ')}`).join(' ');
  return `${e.time} #${e.seq} ${severity(e)} ${e.record?.eventName || '-'}: ${body}${attrs ? `  [${attrs}]` : ''}`;
}

export async function catCommand(argv: string[]): Promise<number> {
  let archive: string;
  let from = -Infinity;
  let to = Infinity;
  let where: Array<[string, string]>;
  let json: boolean;
  let origin: string | undefined;
  try {
    const { flags, positionals } = parseArgs(argv, { from: 'string', to: 'string', where: 'list', origin: 'string', json: 'boolean', help: 'boolean' });
    if (flags.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('ARCHIVE is required (exactly one)');
    archive = positionals[0]!;
    if (flags.from !== undefined) from = parseTime(flags.from);
    if (flags.to !== undefined) to = parseTime(flags.to);
    where = flags.where.map((w) => {
      const eq = w.indexOf('=');
      if (eq <= 0) throw new UsageError(`--where ${JSON.stringify(w)} must be KEY=VALUE`);
      return [w.slice(0, eq), w.slice(eq + 1)] as [string, string];
    });
    json = flags.json;
    origin = flags.origin;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`sealtrail cat: ${err.message}\n${USAGE}\n`);
    return 2;
  }

  const decoder = new TextDecoder();
  let bad = 0;
  // A reader that goes away (`| head`) ends the output quietly.
  process.stdout.on('error', () => {
    stdoutClosed = true;
  });
  try {
    const reader = await openArchive(archive);
    const cat = await catalog(reader);
    for (const o of [...cat.origins.keys()].sort()) {
      if (origin !== undefined && o !== origin) continue;
      for (const b of sortedBatches(cat.origins.get(o)!)) {
        const name = b.entries[0];
        if (!name) continue;
        let src: AsyncIterable<Uint8Array> = reader.open(name);
        if (name.endsWith('.gz')) src = webGunzip(src);
        try {
          for await (const bytes of splitLines(src)) {
            const line = decoder.decode(bytes);
            let e: Entry;
            try {
              e = JSON.parse(line) as Entry;
              if (typeof e !== 'object' || e === null || typeof e.time !== 'string') throw new Error('not an entry');
            } catch {
              bad++;
              process.stderr.write(`sealtrail cat: skipping an unreadable line in ${name}\n`);
              continue;
            }
            const t = Date.parse(e.time);
            if (t < from || t > to) continue;
            if (!where.every(([k, v]) => matches(e, k, v))) continue;
            if (stdoutClosed) return 0;
            await write(json ? `${line}\n` : `${formatEntry(e)}\n`);
          }
        } catch (err) {
          if (isVerifyError(err)) throw err;
          if (stdoutClosed || (err as NodeJS.ErrnoException).code === 'EPIPE') return 0;
          bad++;
          process.stderr.write(`sealtrail cat: ${name}: ${(err as Error).message}\n`);
        }
      }
    }
  } catch (err) {
    if (isVerifyError(err)) {
      process.stderr.write(`sealtrail cat: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  return bad > 0 ? 1 : 0;
}

let stdoutClosed = false;

async function write(s: string): Promise<void> {
  if (stdoutClosed) return;
  if (!process.stdout.write(s)) await once(process.stdout, 'drain');
}
