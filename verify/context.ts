// The audit context of a record (who did what to which resource, with what result, where and
// when), resolved from the stored OTLP record through one mapping. The agent's audit_context
// processor and `sealtrail cat` both use this module, so what the agent checks on receipt is
// what cat shows later. Pure functions, no Node APIs. The default mapping and its sources in the
// OpenTelemetry semantic conventions are documented in docs/audit-context.md.

/** The fields resolved through sources; `time` is separate (the record's own timestamps). */
export const MAPPED_FIELDS = ['environment', 'service', 'actor', 'action', 'resource', 'result'] as const;
export type MappedField = (typeof MAPPED_FIELDS)[number];

/** Where a value may come from: a record attribute or a resource attribute (exact key). */
export type ContextSource = { attribute: string } | { resourceAttribute: string };

/** For each field, its accepted sources in priority order: the first one present wins. */
export type ContextMapping = Readonly<Record<MappedField, readonly ContextSource[]>>;

const attr = (key: string): ContextSource => ({ attribute: key });
const res = (key: string): ContextSource => ({ resourceAttribute: key });

export const DEFAULT_MAPPING: ContextMapping = {
  // deployment.environment.name is the stable convention; deployment.environment is its
  // deprecated predecessor, still sent by older SDKs and resource detectors.
  environment: [res('deployment.environment.name'), res('deployment.environment')],
  service: [res('service.name')],
  // user.id is the user convention; enduser.id (deprecated for user.id in the semconv 1.27 registry,
  // restored by semantic-conventions#1456) is what much instrumentation sends.
  actor: [attr('user.id'), attr('enduser.id'), attr('actor')],
  // No semantic convention exists for these three; plain attribute names.
  action: [attr('action')],
  resource: [attr('resource')],
  result: [attr('result')],
};

/** Looks up an attribute as a string: undefined when absent, null when not a scalar. */
export type AttrLookup = (key: string) => string | null | undefined;

/** A looked-up value a field may take: a scalar that is not the empty string (an empty actor names nobody). */
export function isUsableValue(v: string | null | undefined): v is string {
  return typeof v === 'string' && v !== '';
}

/**
 * The first source holding a usable value (isUsableValue). Arrays and maps are skipped. Null
 * when no source has one.
 */
export function resolveField(sources: readonly ContextSource[], recordAttr: AttrLookup, resourceAttr: AttrLookup): string | null {
  for (const s of sources) {
    const v = 'attribute' in s ? recordAttr(s.attribute) : resourceAttr(s.resourceAttribute);
    if (isUsableValue(v)) return v;
  }
  return null;
}

/** Human text for a source list, for error messages and docs: "attribute user.id, resource attribute x". */
export function describeSources(sources: readonly ContextSource[]): string {
  return sources.map((s) => ('attribute' in s ? `attribute ${s.attribute}` : `resource attribute ${s.resourceAttribute}`)).join(', ');
}

/**
 * The record's own time in Unix nanoseconds as a decimal string: timeUnixNano (when the event
 * happened), else observedTimeUnixNano (when the SDK saw it); null when both are unset. "0"
 * is the OTLP encoding of "unset".
 */
export function recordTimeNanos(record: { timeUnixNano?: unknown; observedTimeUnixNano?: unknown } | undefined): string | null {
  for (const v of [record?.timeUnixNano, record?.observedTimeUnixNano]) {
    const s = typeof v === 'number' ? String(v) : v;
    if (typeof s === 'string' && /^\d+$/.test(s) && !/^0+$/.test(s)) return s;
  }
  return null;
}

/**
 * RFC 3339 UTC: milliseconds (2026-01-02T03:04:05.678Z), or nanoseconds when the value has
 * them. A value past the year 275760 (JavaScript's Date range) is shown as raw nanoseconds.
 */
export function formatNanos(nanos: string): string {
  // String arithmetic (no BigInt, one Date per distinct second): cat formats one per entry.
  const digits = nanos.replace(/^0+(?=\d)/, '');
  if (digits.length > 22) return `${nanos}ns`;
  const sec = Number(digits.length > 9 ? digits.slice(0, -9) : '0');
  const frac = digits.padStart(9, '0').slice(-9);
  if (sec !== lastSecond) {
    if (sec * 1000 > 8.64e15) return `${nanos}ns`;
    lastSecond = sec;
    lastPrefix = new Date(sec * 1000).toISOString().slice(0, 19);
  }
  return `${lastPrefix}.${frac.endsWith('000000') ? frac.slice(0, 3) : frac}Z`;
}

let lastSecond = -1;
let lastPrefix = '';

/** Milliseconds since the epoch (for time-range filters). */
export function nanosToMs(nanos: string): number {
  return nanos.length > 6 ? Number(nanos.slice(0, -6)) : 0;
}
