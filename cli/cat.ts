// sealtrail cat ARCHIVE [--format table|json|csv|raw] [filters...]
// Reads an archive like journalctl reads the journal: one row per entry with its audit
// context (cli/cat-view.ts), across every origin of a directory or s3:// archive. It streams
// batch by batch with bounded memory and does not verify (that is `sealtrail verify`); an
// unparsable line is reported on stderr and skipped, never fatal.
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import { DEFAULT_MAPPING, type ContextMapping } from '../verify/context.js';
import { isVerifyError } from '../verify/errors.js';
import { openArchive } from '../verify/open-archive.js';
import { webGunzip } from '../verify/gunzip.js';
import { catalog, sortedBatches } from '../verify/verifier.js';
import { splitLines } from '../verify/lines.js';
import { SEVERITY_LEVEL_NAMES } from '../verify/severity.js';
import { UsageError, parseArgs } from './args.js';
import {
  TableWriter,
  columns,
  csvLine,
  jsonLine,
  lookup,
  ownTimeMs,
  toRow,
  type Column,
  type Entry,
  type KV,
  type Row,
} from './cat-view.js';

const USAGE = `usage: sealtrail cat ARCHIVE [--format table|json|csv|raw] [--receive-time] [--config FILE]
                     [--from TIME] [--to TIME] [--actor A] [--action A] [--resource R] [--result R]
                     [--env E] [--service S] [--where KEY=VALUE]... [--origin ORIGIN]
  --format     table (default), json (one object per line), csv (RFC 4180), raw (the stored
               entry lines byte for byte; --json is the same)
  --receive-time  add the agent's receive time as a column
  --config     resolve actor, action, ... through this config's audit_context processor
  --from/--to  bound the record's own time (its receive time when it has none)
  TIME: RFC 3339 (2026-11-27T10:00:00Z), a date (2026-11-27), "now", "today", "yesterday",
        or relative: 15m, 2h, 3d, 1w (ago; "-2h" and "2h ago" also work)
  KEY:  a record attribute, or event_name, severity, scope, seq, env, or resource.<attribute>`;

type Format = 'table' | 'json' | 'csv' | 'raw';
const FORMATS: readonly Format[] = ['table', 'json', 'csv', 'raw'];

/** Exact-match filters on the view's columns (--actor, --env, ...). */
const COLUMN_FILTERS = {
  actor: 'actor',
  action: 'action',
  resource: 'resource',
  result: 'result',
  env: 'environment',
  service: 'service',
} as const satisfies Record<string, Column>;

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

const attr = (list: KV[] | undefined, key: string) => lookup(list)(key);

function severity(e: Entry): string {
  return e.record?.severityText || (e.record?.severityNumber ? SEVERITY_LEVEL_NAMES[e.record.severityNumber] : '') || '-';
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

interface Options {
  archive: string;
  format: Format;
  receiveTime: boolean;
  from: number;
  to: number;
  where: Array<[string, string]>;
  columnFilters: Array<[Column, string]>;
  origin: string | undefined;
  configFile: string | undefined;
}

function parseOptions(argv: string[]): Options | 'help' {
  const { flags, positionals } = parseArgs(argv, {
    from: 'string',
    to: 'string',
    where: 'list',
    origin: 'string',
    json: 'boolean',
    format: 'string',
    'receive-time': 'boolean',
    config: 'string',
    actor: 'string',
    action: 'string',
    resource: 'string',
    result: 'string',
    env: 'string',
    service: 'string',
    help: 'boolean',
  });
  if (flags.help) return 'help';
  if (positionals.length !== 1) throw new UsageError('ARCHIVE is required (exactly one)');
  if (flags.format !== undefined && !(FORMATS as readonly string[]).includes(flags.format))
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  if (flags.json && flags.format !== undefined && flags.format !== 'raw') throw new UsageError('--json is --format raw; give one of them');
  const where = flags.where.map((w): [string, string] => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new UsageError(`--where ${JSON.stringify(w)} must be KEY=VALUE`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
  const columnFilters: Array<[Column, string]> = [];
  for (const [flag, col] of Object.entries(COLUMN_FILTERS)) {
    const v = flags[flag as keyof typeof COLUMN_FILTERS];
    if (v !== undefined) columnFilters.push([col, v]);
  }
  return {
    archive: positionals[0]!,
    format: flags.json ? 'raw' : ((flags.format as Format | undefined) ?? 'table'),
    receiveTime: flags['receive-time'],
    from: flags.from === undefined ? -Infinity : parseTime(flags.from),
    to: flags.to === undefined ? Infinity : parseTime(flags.to),
    where,
    columnFilters,
    origin: flags.origin,
    configFile: flags.config,
  };
}

async function loadMapping(file: string | undefined): Promise<ContextMapping> {
  if (file === undefined) return DEFAULT_MAPPING;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --config ${file}: ${(err as Error).message}`);
  }
  // Loaded on demand: the YAML parser costs a noticeable part of a short cat's start-up.
  const { mappingFromConfigText } = await import('../config/audit-context.js');
  const r = mappingFromConfigText(text, process.env);
  if ('errors' in r) throw new UsageError(`--config ${file}:\n  ${r.errors.join('\n  ')}`);
  return r.mapping;
}

export async function catCommand(argv: string[]): Promise<number> {
  let o: Options;
  let mapping: ContextMapping;
  try {
    const parsed = parseOptions(argv);
    if (parsed === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    o = parsed;
    mapping = await loadMapping(o.configFile);
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
  const cols = columns(o.receiveTime);
  const table = o.format === 'table' ? new TableWriter(cols, write) : null;
  if (o.format === 'csv') await write(csvLine(cols));
  const needRow = o.format !== 'raw' || o.columnFilters.length > 0;
  try {
    const reader = await openArchive(o.archive);
    const cat = await catalog(reader);
    for (const origin of [...cat.origins.keys()].sort()) {
      if (o.origin !== undefined && origin !== o.origin) continue;
      for (const b of sortedBatches(cat.origins.get(origin)!)) {
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
            const t = ownTimeMs(e) ?? Date.parse(e.time);
            if (t < o.from || t > o.to) continue;
            if (!o.where.every(([k, v]) => matches(e, k, v))) continue;
            let row: Row | null = null;
            if (needRow) {
              const r = toRow(e, origin, mapping);
              if (!o.columnFilters.every(([c, v]) => r[c] === v)) continue;
              row = r;
            }
            if (stdoutClosed) return 0;
            if (o.format === 'raw') await write(`${line}\n`);
            else if (table) await table.row(row!);
            else if (o.format === 'csv') await write(csvLine(cols.map((c) => row![c])));
            else await write(jsonLine(row!, cols));
          }
        } catch (err) {
          if (isVerifyError(err)) throw err;
          if (stdoutClosed || (err as NodeJS.ErrnoException).code === 'EPIPE') return 0;
          bad++;
          process.stderr.write(`sealtrail cat: ${name}: ${(err as Error).message}\n`);
        }
      }
    }
    await table?.end();
    await flush();
  } catch (err) {
    if (isVerifyError(err)) {
      await flush();
      process.stderr.write(`sealtrail cat: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  return bad > 0 ? 1 : 0;
}

let stdoutClosed = false;
/** Output is gathered into chunks: one write per line costs more than formatting it. */
let pending = '';
const CHUNK = 64 * 1024;

async function write(s: string): Promise<void> {
  pending += s;
  if (pending.length >= CHUNK) await flush();
}

async function flush(): Promise<void> {
  if (stdoutClosed || pending === '') return;
  const s = pending;
  pending = '';
  if (!process.stdout.write(s)) await once(process.stdout, 'drain');
}
