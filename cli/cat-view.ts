// The uniform view of `sealtrail cat`: one row per entry with the record's own time, its
// environment, service, actor, action, resource and result, resolved through the same mapping
// the agent's audit_context processor uses (verify/context.ts), and the three output formats.
// Missing values are null: an empty cell in the table and in CSV, null in JSON.
import { formatNanos, nanosToMs, recordTimeNanos, resolveField, type ContextMapping } from '../verify/context.js';

export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: unknown;
  kvlistValue?: unknown;
}
export interface KV {
  key: string;
  value?: AnyValue;
}
export interface Entry {
  seq: number;
  time: string;
  env?: string;
  resource?: { attributes?: KV[] };
  scope?: { name?: string };
  record?: {
    timeUnixNano?: string;
    observedTimeUnixNano?: string;
    severityText?: string;
    severityNumber?: number;
    body?: AnyValue;
    attributes?: KV[];
    eventName?: string;
  };
}

export type Column =
  | 'time'
  | 'received'
  | 'environment'
  | 'agent_environment'
  | 'service'
  | 'actor'
  | 'action'
  | 'resource'
  | 'result'
  | 'event_name'
  | 'origin'
  | 'seq'
  | 'body';
export type Row = Record<Column, string | null>;

/** Columns of every format, in order; `received` only with --receive-time. */
export function columns(receiveTime: boolean): Column[] {
  const c: Column[] = [
    'time',
    'received',
    'environment',
    'agent_environment',
    'service',
    'actor',
    'action',
    'resource',
    'result',
    'event_name',
    'origin',
    'seq',
    'body',
  ];
  return receiveTime ? c : c.filter((x) => x !== 'received');
}

/** The table leaves out agent_environment (it equals ENV unless a mismatch was accepted). */
const TABLE_HIDDEN: ReadonlySet<Column> = new Set(['agent_environment']);

export function scalar(v: AnyValue | undefined): string | null {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return String(v.boolValue);
  if (v.intValue !== undefined) return String(v.intValue);
  if (v.doubleValue !== undefined) return String(v.doubleValue);
  if (v.bytesValue !== undefined) return v.bytesValue;
  return null;
}

export function display(v: AnyValue | undefined): string | null {
  if (v === undefined) return null;
  return scalar(v) ?? JSON.stringify(v.arrayValue ?? v.kvlistValue ?? v);
}

/** Attribute lookup in an OTLP/JSON KeyValue list, as verify/context.ts AttrLookup wants it. */
export function lookup(list: KV[] | undefined): (key: string) => string | null | undefined {
  return (key) => {
    if (list === undefined) return undefined;
    for (const kv of list) if (kv.key === key) return scalar(kv.value);
    return undefined;
  };
}

/** The record's own time in ms since the epoch, or null when it has none. */
export function ownTimeMs(e: Entry): number | null {
  const n = recordTimeNanos(e.record);
  return n === null ? null : nanosToMs(n);
}

export function toRow(e: Entry, origin: string, mapping: ContextMapping): Row {
  const rec = lookup(e.record?.attributes);
  const res = lookup(e.resource?.attributes);
  const nanos = recordTimeNanos(e.record);
  return {
    time: nanos === null ? null : formatNanos(nanos),
    received: e.time,
    // The record's own environment; records that name none were recorded in the agent's.
    environment: resolveField(mapping.environment, rec, res) ?? e.env ?? null,
    agent_environment: e.env ?? null,
    service: resolveField(mapping.service, rec, res),
    actor: resolveField(mapping.actor, rec, res),
    action: resolveField(mapping.action, rec, res),
    resource: resolveField(mapping.resource, rec, res),
    result: resolveField(mapping.result, rec, res),
    event_name: e.record?.eventName || null,
    origin,
    seq: String(e.seq),
    body: display(e.record?.body),
  };
}

/** RFC 4180: a field with a comma, quote, CR or LF is quoted, quotes doubled; lines end in CRLF. */
export function csvField(v: string | null): string {
  if (v === null) return '';
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function csvLine(values: ReadonlyArray<string | null>): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

export function jsonLine(row: Row, cols: readonly Column[]): string {
  const o: Record<string, string | number | null> = {};
  for (const c of cols) o[c] = c === 'seq' && row.seq !== null ? Number(row.seq) : row[c];
  return `${JSON.stringify(o)}\n`;
}

/** Rows buffered to size the table's columns; later rows reuse those widths (bounded memory). */
export const TABLE_SAMPLE_ROWS = 1000;
/** A column is never padded wider than this; a longer value just shifts the rest of its row. */
const MAX_PAD = 48;

/** Whitespace (newlines, tabs) collapsed, so one row stays one line. */
const cell = (v: string | null) => (v === null ? '' : v.replace(/\s+/g, ' '));

export class TableWriter {
  private readonly cols: Column[];
  private sample: Row[] | null = [];
  private widths: number[] = [];

  constructor(
    cols: readonly Column[],
    private readonly out: (s: string) => Promise<void>,
  ) {
    this.cols = cols.filter((c) => !TABLE_HIDDEN.has(c));
  }

  async row(r: Row): Promise<void> {
    if (this.sample !== null) {
      this.sample.push(r);
      if (this.sample.length >= TABLE_SAMPLE_ROWS) await this.flushSample();
      return;
    }
    await this.out(this.format(this.cols.map((c) => cell(r[c]))));
  }

  async end(): Promise<void> {
    if (this.sample !== null) await this.flushSample();
  }

  private async flushSample(): Promise<void> {
    const rows = this.sample!;
    this.sample = null;
    const head = this.cols.map((c) => c.toUpperCase());
    this.widths = head.map((h, i) => Math.min(MAX_PAD, Math.max(h.length, ...rows.map((r) => cell(r[this.cols[i]!]).length))));
    let s = this.format(head);
    for (const r of rows) s += this.format(this.cols.map((c) => cell(r[c])));
    await this.out(s);
  }

  private format(values: string[]): string {
    const last = values.length - 1;
    return `${values
      .map((v, i) => (i === last ? v : v.padEnd(this.widths[i]!)))
      .join('  ')
      .trimEnd()}\n`;
  }
}
