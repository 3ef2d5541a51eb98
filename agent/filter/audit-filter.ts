// Decides which records are audit records: any rule matching is enough; within one rule, all
// of its conditions must match (config/types.ts AuditRule).
import type { AuditRule, AttributeMatch } from '../../config/types.js';
import type { RecordView } from '../otlp/model.js';

export const DEFAULT_RULES: AuditRule[] = [{ attribute: { key: 'audit', value: 'true' } }, { eventNamePrefix: 'audit.' }];

export type AuditFilter = (view: RecordView) => boolean;

export function compileFilter(rules: readonly AuditRule[]): AuditFilter {
  const compiled = rules.map(compileRule);
  return (view) => compiled.some((r) => r(view));
}

function compileRule(rule: AuditRule): AuditFilter {
  const conds: AuditFilter[] = [];
  if (rule.attribute) conds.push(attrMatcher(rule.attribute, (v) => v.attributes));
  if (rule.resourceAttribute) conds.push(attrMatcher(rule.resourceAttribute, (v) => v.resourceAttributes));
  if (rule.eventName !== undefined) conds.push((v) => v.eventName === rule.eventName);
  if (rule.eventNamePrefix !== undefined) conds.push((v) => v.eventName.startsWith(rule.eventNamePrefix as string));
  if (rule.scopeName !== undefined) conds.push((v) => v.scopeName === rule.scopeName);
  if (rule.scopeNamePrefix !== undefined) conds.push((v) => v.scopeName.startsWith(rule.scopeNamePrefix as string));
  if (rule.minSeverity !== undefined) conds.push((v) => v.severityNumber >= (rule.minSeverity as number));
  // A rule without conditions is rejected by config validation; never let it match everything.
  if (conds.length === 0) return () => false;
  return (v) => conds.every((c) => c(v));
}

function attrMatcher(m: AttributeMatch, pick: (v: RecordView) => ReadonlyMap<string, string | null>): AuditFilter {
  return (v) => {
    const attrs = pick(v);
    if (!attrs.has(m.key)) return false;
    return m.value === null || attrs.get(m.key) === m.value;
  };
}
