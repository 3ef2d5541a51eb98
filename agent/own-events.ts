// The agent's own entries: genesis (entry 0 of a chain), start and stop. They are ordinary
// OTLP log records in canonical OTLP/JSON (field-number order), so verifiers and `cat` read
// them like any other entry, and gaps in the agent's operation show in the chain.
import os from 'node:os';
import type { EntryParts } from './chain/entry.js';

export const AGENT_VERSION = '0.1.0';
export const SCOPE_NAME = 'sealtrail';

export type OwnEvent = 'sealtrail.genesis' | 'sealtrail.start' | 'sealtrail.stop';

function anyValue(v: string | number | boolean): Record<string, unknown> {
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  return { stringValue: v };
}

function attrs(a: Record<string, string | number | boolean>): Array<{ key: string; value: Record<string, unknown> }> {
  return Object.entries(a).map(([key, v]) => ({ key, value: anyValue(v) }));
}

export function ownResource(agentName: string, environment: string): string {
  return JSON.stringify({
    attributes: attrs({
      'service.name': 'sealtrail',
      'service.version': AGENT_VERSION,
      'sealtrail.agent.name': agentName,
      'deployment.environment.name': environment,
      'host.name': os.hostname(),
    }),
  });
}

export function ownEntry(
  resource: string,
  event: OwnEvent,
  body: string,
  attributes: Record<string, string | number | boolean>,
  nowMs = Date.now(),
): EntryParts {
  const nanos = `${BigInt(nowMs) * 1_000_000n}`;
  const record = JSON.stringify({
    timeUnixNano: nanos,
    severityNumber: 9,
    severityText: 'INFO',
    body: { stringValue: body },
    attributes: attrs(attributes),
    observedTimeUnixNano: nanos,
    eventName: event,
  });
  return { resource, scope: JSON.stringify({ name: SCOPE_NAME, version: AGENT_VERSION }), record };
}
