// Schema of the audit_context processor (docs/audit-context.md): which context fields an audit
// record must carry, where each is read from, and what a missing field or a foreign environment
// gets. Also reads that section alone from a config file for `sealtrail cat`, which must resolve
// fields exactly as the agent does without loading (or validating) the rest of the agent config.
import { parseDocument } from 'yaml';
import { DEFAULT_MAPPING, MAPPED_FIELDS, type ContextMapping, type ContextSource, type MappedField } from '../verify/context.js';
import { expandTree } from './env.js';
import { INVALID, fail, isMapping, list, obj, oneOf, str, type Ctx, type Schema } from './schema.js';
import type { AuditContextConfig, ContextFieldRule, ContextPolicy } from './types.js';

export const POLICIES = ['reject', 'count', 'accept'] as const;

/** What a missing field gets when the processor is listed without saying. */
export const DEFAULT_MISSING: Readonly<Record<MappedField | 'time', ContextPolicy>> = {
  time: 'count',
  // The agent records its own environment in every entry, and SDKs always send service.name.
  environment: 'accept',
  service: 'accept',
  actor: 'count',
  action: 'count',
  resource: 'count',
  result: 'count',
};

const key = str({ nonEmpty: true });

/** "user.id" (a record attribute), { attribute: user.id } or { resource_attribute: service.name }. */
const source: Schema<ContextSource> = (v, at, ctx) => {
  if (typeof v === 'string') return key(v, at, ctx) === INVALID ? INVALID : { attribute: v };
  if (!isMapping(v)) return fail(ctx, at, 'must be an attribute key, { attribute: KEY } or { resource_attribute: KEY }');
  const s = obj<{ attribute: string | null; resourceAttribute: string | null }>({
    attribute: { schema: key },
    resource_attribute: { schema: key },
  })(v, at, ctx);
  if (s === INVALID) return INVALID;
  if ((s.attribute === null) === (s.resourceAttribute === null)) return fail(ctx, at, 'needs exactly one of attribute, resource_attribute');
  return s.attribute !== null ? { attribute: s.attribute } : { resourceAttribute: s.resourceAttribute! };
};

const policy = oneOf(POLICIES);

const mappedRule = (field: MappedField) =>
  obj<ContextFieldRule>({
    from: { schema: list(source, { minItems: 1 }) },
    missing: { schema: policy, default: DEFAULT_MISSING[field] },
  });

const fields = obj<Record<string, unknown>>({
  time: { schema: obj({ missing: { schema: policy, default: DEFAULT_MISSING.time } }), default: {} },
  ...Object.fromEntries(MAPPED_FIELDS.map((f) => [f, { schema: mappedRule(f), default: {}, to: f }])),
});

export const auditContextProcessor: Schema<AuditContextConfig> = (v, at, ctx) => {
  const raw = obj<{ fields: Record<string, unknown>; environmentMismatch: ContextPolicy }>({
    fields: { schema: fields, default: {} },
    environment_mismatch: { schema: policy, default: 'count' },
  })(v, at, ctx);
  if (raw === INVALID) return INVALID;
  const out = { time: raw.fields.time } as AuditContextConfig['fields'];
  for (const f of MAPPED_FIELDS) {
    const r = raw.fields[f] as { from: ContextSource[] | null; missing: ContextPolicy };
    out[f] = { from: r.from ?? [...DEFAULT_MAPPING[f]], missing: r.missing };
  }
  return { fields: out, environmentMismatch: raw.environmentMismatch };
};

/** The field-to-sources mapping of a resolved processor config. */
export function mappingOf(cfg: AuditContextConfig): ContextMapping {
  return Object.fromEntries(MAPPED_FIELDS.map((f) => [f, cfg.fields[f].from])) as unknown as ContextMapping;
}

/**
 * The mapping a config file sets in its audit_context processor (the one listed in the logs
 * pipeline when several are defined), or the default mapping when it has none. Problems are
 * returned as "<key path>: <message>" lines, like the full loader's.
 */
export function mappingFromConfigText(text: string, env: NodeJS.ProcessEnv): { mapping: ContextMapping } | { errors: string[] } {
  const doc = parseDocument(text, { schema: 'core', uniqueKeys: true });
  if (doc.errors.length > 0) return { errors: [`invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`] };
  const errors: string[] = [];
  const tree = expandTree(doc.toJS({ maxAliasCount: 100 }), env, '', errors);
  if (errors.length > 0) return { errors };
  const processors = isMapping(tree) && isMapping(tree.processors) ? tree.processors : {};
  const ids = Object.keys(processors).filter((id) => id === 'audit_context' || id.startsWith('audit_context/'));
  if (ids.length === 0) return { mapping: DEFAULT_MAPPING };
  let id = ids[0]!;
  if (ids.length > 1) {
    const pipelines =
      isMapping(tree) && isMapping(tree.service) && isMapping(tree.service.pipelines) ? Object.values(tree.service.pipelines) : [];
    const listed = pipelines
      .flatMap((p) => (isMapping(p) && Array.isArray(p.processors) ? (p.processors as unknown[]) : []))
      .find((p) => ids.includes(String(p)));
    if (typeof listed === 'string') id = listed;
  }
  const ctx: Ctx = { errors: [], cwd: '/' };
  const cfg = auditContextProcessor(processors[id], `processors.${id}`, ctx);
  return cfg === INVALID ? { errors: ctx.errors } : { mapping: mappingOf(cfg) };
}
