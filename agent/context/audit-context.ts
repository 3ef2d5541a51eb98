// The audit_context processor: checks that each audit record of a request carries its context
// (config/types.ts AuditContextConfig, resolved through verify/context.ts, the same mapping
// `sealtrail cat` uses) and that its resource names no environment other than the agent's.
// A `reject` problem refuses the whole request before anything is written (BAD_REQUEST:
// HTTP 400 / gRPC INVALID_ARGUMENT, naming the record and the field); `count` problems are
// tallied and become metrics only once the request is stored, so a retried request is not
// counted twice. Records are never changed: the entry keeps the record as sent.
import type { AuditContextConfig, ContextPolicy } from '../../config/types.js';
import { MAPPED_FIELDS, describeSources, isUsableValue, resolveField, type MappedField } from '../../verify/context.js';
import { SealtrailError } from '../../lib/errors.js';
import type { DecodedRecord } from '../otlp/model.js';
import type { LogFn } from '../../lib/log.js';
import { counter, label } from '../telemetry/metrics.js';

export type CheckedField = MappedField | 'time';
export const CHECKED_FIELDS: readonly CheckedField[] = ['time', ...MAPPED_FIELDS];

/** A new warning is logged when a problem comes back after this long without it. */
export const EPISODE_QUIET_MS = 60_000;

/** A request refused by a `reject` rule: the metric key, the problem and an example for the log. */
export interface ContextReject {
  key: string;
  what: CheckedField | 'environment_mismatch';
  example: string;
}

/** Problems found in one request under the `count` policy, applied when it is stored. */
export interface ContextTally {
  missing: Map<CheckedField, number>;
  mismatched: number;
  /** The first record index (in the request) of each problem, for the log line. */
  firstIndex: Map<CheckedField | 'environment_mismatch', number>;
}

export function newTally(): ContextTally {
  return { missing: new Map(), mismatched: 0, firstIndex: new Map() };
}

/** What the checks read of a record's or its resource's attributes (RecordView's maps). */
export interface AttrReader {
  get(key: string): string | null | undefined;
  /**
   * Whether `key` holds a value resolveField would take (isUsableValue: a scalar that is not the empty
   * string), without making its string: the transcoder's reader answers from the bytes.
   */
  usable?(key: string): boolean;
}

/** A check's source, resolved once: a record attribute (`record`) or a resource attribute. */
interface Source {
  record: boolean;
  key: string;
}

function usable(reader: AttrReader, key: string): boolean {
  return reader.usable !== undefined ? reader.usable(key) : isUsableValue(reader.get(key));
}

/** resolveField(sources, ...) !== null: some source holds a usable value. */
function anyUsable(sources: readonly Source[], attributes: AttrReader, resourceAttributes: AttrReader): boolean {
  for (const s of sources) if (usable(s.record ? attributes : resourceAttributes, s.key)) return true;
  return false;
}

// Canonical OTLP/JSON omits unset (zero) fields, and a string value can never contain an
// unescaped quote, so these keys appear in the record text only as the LogRecord's own fields.
// timeUnixNano is field 1: when set it is the record's first member, so a prefix test finds it
// without scanning the whole record text.
const HAS_TIME = '{"timeUnixNano":"';
const HAS_OBSERVED = '"observedTimeUnixNano":"';

export class AuditContextProcessor {
  private readonly missingTotal = new Map<CheckedField, number>(CHECKED_FIELDS.map((f) => [f, 0]));
  private readonly rejectedTotal = new Map<string, number>();
  private mismatchTotal = 0;
  /** When each problem was last seen, for once-per-episode logging. */
  private readonly lastSeen = new Map<string, number>();
  private readonly checks: Array<{ field: MappedField; policy: ContextPolicy; sources: Source[] }>;
  private readonly envSources;

  constructor(
    private readonly cfg: AuditContextConfig,
    private readonly agentEnvironment: string,
    private readonly log: LogFn = () => {},
    private readonly now: () => number = Date.now,
  ) {
    this.checks = MAPPED_FIELDS.filter((f) => cfg.fields[f].missing !== 'accept').map((f) => ({
      field: f,
      policy: cfg.fields[f].missing,
      sources: cfg.fields[f].from.map((s) =>
        'attribute' in s ? { record: true, key: s.attribute } : { record: false, key: s.resourceAttribute },
      ),
    }));
    this.envSources = cfg.fields.environment.from;
    for (const f of CHECKED_FIELDS) this.rejectedTotal.set(`missing:${f}`, 0);
    this.rejectedTotal.set('mismatch:environment', 0);
  }

  /**
   * Checks the audit records `indices` of `records` (indices count every record of the request,
   * across resourceLogs and scopeLogs, from 0). Throws BAD_REQUEST at the first problem whose
   * policy is reject; otherwise returns the tally to pass to `stored` once the write succeeded.
   */
  check(records: readonly DecodedRecord[], indices: readonly number[]): ContextTally {
    const tally = newTally();
    for (const i of indices) {
      const r = records[i]!;
      const hasTime = r.record.startsWith(HAS_TIME) || r.record.includes(HAS_OBSERVED);
      this.checkRecord(tally, i, hasTime, r.view.attributes, r.view.resourceAttributes);
    }
    return tally;
  }

  /**
   * Checks one audit record (request index `i`) into `tally`: `hasTime` says whether
   * timeUnixNano or observedTimeUnixNano is set. Throws BAD_REQUEST for a `reject` problem.
   */
  checkRecord(tally: ContextTally, i: number, hasTime: boolean, attributes: AttrReader, resourceAttributes: AttrReader): void {
    const timePolicy = this.cfg.fields.time.missing;
    if (timePolicy !== 'accept' && !hasTime) {
      this.problem(
        tally,
        'time',
        timePolicy,
        i,
        'missing:time',
        () => `record ${i}: missing time (neither timeUnixNano nor observedTimeUnixNano is set)`,
      );
    }
    for (const { field, policy, sources } of this.checks) {
      if (anyUsable(sources, attributes, resourceAttributes)) continue;
      this.problem(
        tally,
        field,
        policy,
        i,
        `missing:${field}`,
        () => `record ${i}: missing ${field} (looked for ${describeSources(this.cfg.fields[field].from)})`,
      );
    }
    const mismatch = this.cfg.environmentMismatch;
    if (mismatch !== 'accept') {
      const env = resolveField(
        this.envSources,
        (k) => attributes.get(k),
        (k) => resourceAttributes.get(k),
      );
      if (env !== null && env !== this.agentEnvironment) {
        this.problem(
          tally,
          'environment_mismatch',
          mismatch,
          i,
          'mismatch:environment',
          () =>
            `record ${i}: environment ${JSON.stringify(env)} differs from this agent's environment ${JSON.stringify(this.agentEnvironment)}`,
        );
      }
    }
  }

  private problem(
    tally: ContextTally,
    what: CheckedField | 'environment_mismatch',
    policy: ContextPolicy,
    index: number,
    rejectKey: string,
    message: () => string,
  ): void {
    if (policy === 'reject') throw this.rejected({ key: rejectKey, what, example: message() });
    if (policy !== 'count') return;
    if (what === 'environment_mismatch') tally.mismatched++;
    else tally.missing.set(what, (tally.missing.get(what) ?? 0) + 1);
    if (!tally.firstIndex.has(what)) tally.firstIndex.set(what, index);
  }

  /**
   * Counts and logs a request refused by a `reject` rule and returns its BAD_REQUEST error,
   * which carries `contextReject` so a check run in the decode worker is counted here.
   */
  rejected(r: ContextReject): SealtrailError {
    this.rejectedTotal.set(r.key, (this.rejectedTotal.get(r.key) ?? 0) + 1);
    this.episode(`reject:${r.what}`, 'refusing audit requests whose records lack required context', {
      problem: r.what,
      example: r.example,
    });
    return Object.assign(new SealtrailError('BAD_REQUEST', `audit context: ${r.example}; nothing of this request was stored`), {
      contextReject: r,
    });
  }

  /** Applies a tally once its request is durably stored. */
  stored(tally: ContextTally): void {
    for (const [f, n] of tally.missing) {
      this.missingTotal.set(f, this.missingTotal.get(f)! + n);
      this.episode(`count:${f}`, 'storing audit records that lack a context field; counted in sealtrail_audit_context_missing_total', {
        field: f,
        records: n,
      });
    }
    if (tally.mismatched > 0) {
      this.mismatchTotal += tally.mismatched;
      this.episode(
        'count:environment_mismatch',
        "storing audit records from another environment than this agent's; counted in sealtrail_audit_context_mismatch_total",
        {
          agent_environment: this.agentEnvironment,
          records: tally.mismatched,
        },
      );
    }
  }

  /** Logs once when a problem starts, and again only after EPISODE_QUIET_MS without it. */
  private episode(key: string, msg: string, fields: Record<string, unknown>): void {
    const now = this.now();
    const last = this.lastSeen.get(key);
    this.lastSeen.set(key, now);
    if (last === undefined || now - last > EPISODE_QUIET_MS) this.log('warn', msg, fields);
  }

  /** Prometheus text for /metrics. */
  renderMetrics(): string {
    let missing = '';
    for (const f of CHECKED_FIELDS)
      missing += series('sealtrail_audit_context_missing_total', label('field', f), this.missingTotal.get(f)!);
    let rejected = '';
    for (const [k, n] of this.rejectedTotal) {
      const [reason, field] = k.split(':') as [string, string];
      rejected += series('sealtrail_audit_context_rejected_total', `{field="${field}",reason="${reason}"}`, n);
    }
    return (
      header('sealtrail_audit_context_missing_total', 'Audit records stored without a context field (policy count).') +
      missing +
      header(
        'sealtrail_audit_context_rejected_total',
        'Export requests refused by the audit_context processor (policy reject), by the first problem found.',
      ) +
      rejected +
      counter(
        'sealtrail_audit_context_mismatch_total',
        "Audit records stored whose resource names another environment than the agent's (policy count).",
        [[label('field', 'environment'), this.mismatchTotal]],
      )
    );
  }
}

function header(name: string, help: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} counter\n`;
}

function series(name: string, labels: string, value: number): string {
  return `${name}${labels} ${value}\n`;
}

/** The processor for a config (null when the pipeline lists none), its counters on /metrics. */
export function createAuditContext(
  cfg: AuditContextConfig | null,
  agentEnvironment: string,
  metrics: { addGauges(render: () => string): void },
  log: LogFn,
): AuditContextProcessor | null {
  if (cfg === null) return null;
  const p = new AuditContextProcessor(cfg, agentEnvironment, log);
  metrics.addGauges(() => p.renderMetrics());
  return p;
}
