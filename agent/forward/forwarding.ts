// The forwarding pipelines (docs/forwarding.md): every request the audit pipeline accepted is
// offered, by reference, to each forwarding exporter. Selecting records (non_audit or all),
// re-encoding and sending happen later in the exporters' consumers, so the ingest path pays
// one O(1) enqueue per exporter and never waits. Audit records are offered only once the
// request was acknowledged, i.e. after they are durable in the buffer.
import type { Config } from '../../config/types.js';
import { compileFilter } from '../filter/audit-filter.js';
import type { DecodedRecord, DecodedRequest } from '../otlp/model.js';
import type { LogFn } from '../../lib/log.js';
import { gauge, label, type Metrics } from '../telemetry/metrics.js';
import { OtlpForwarder, type DropReason } from './otlp-forwarder.js';
import { grpcTransport, httpTransport } from './transport.js';

/** What the audit pipeline calls once a request is acknowledged. */
export interface AcceptedTap {
  accepted(req: DecodedRequest, auditCount: number): void;
}

export class Forwarding implements AcceptedTap {
  private readonly routes: Array<{ fwd: OtlpForwarder; select: ((r: DecodedRecord) => boolean) | null; all: boolean }> = [];

  constructor(cfg: Config, log: LogFn) {
    const isAudit = compileFilter(cfg.filter.rules);
    const nonAudit = (r: DecodedRecord): boolean => !isAudit(r.view);
    for (const p of cfg.forward) {
      for (const e of p.exporters) {
        const transport = e.type === 'otlp' ? grpcTransport(e) : httpTransport(e);
        this.routes.push({
          fwd: new OtlpForwarder(e, transport, log),
          select: p.select === 'all' ? null : nonAudit,
          all: p.select === 'all',
        });
      }
    }
  }

  accepted(req: DecodedRequest, auditCount: number): void {
    const n = req.records.length;
    for (const r of this.routes) {
      r.fwd.offer({ records: req.records, select: r.all || auditCount === 0 ? null : r.select, count: r.all ? n : n - auditCount });
    }
  }

  registerMetrics(metrics: Metrics): void {
    metrics.addGauges(() => {
      const fw = this.routes.map((r) => r.fwd);
      const id = (f: OtlpForwarder) => label('exporter', f.id);
      const dropped = fw.flatMap((f) =>
        (Object.keys(f.dropped) as DropReason[]).map((reason): [string, number] => [
          `{exporter="${f.id}",reason="${reason}"}`,
          f.dropped[reason],
        ]),
      );
      return (
        multiCounter(
          'sealtrail_forward_sent_records_total',
          'Records forwarded and accepted upstream.',
          fw.map((f) => [id(f), f.sentRecords]),
        ) +
        multiCounter('sealtrail_forward_dropped_total', 'Records given up by a forwarding exporter (best effort), by reason.', dropped) +
        multiCounter(
          'sealtrail_forward_failed_attempts_total',
          'Failed export attempts (each is retried or dropped).',
          fw.map((f) => [id(f), f.failedAttempts]),
        ) +
        gauge(
          'sealtrail_forward_queue_requests',
          'Requests waiting in a forwarding queue.',
          fw.map((f) => [id(f), f.queued]),
        )
      );
    });
  }

  /** Sends what is queued for up to `timeoutMs`, then drops (and counts) the rest. */
  async stop(timeoutMs: number): Promise<void> {
    await Promise.all(this.routes.map((r) => r.fwd.stop(timeoutMs)));
  }
}

function multiCounter(name: string, help: string, samples: Array<[string, number]>): string {
  if (samples.length === 0) return '';
  return gauge(name, help, samples).replace(`# TYPE ${name} gauge`, `# TYPE ${name} counter`);
}

/** Builds the forwarding pipelines, or null when the config has none. */
export function startForwarding(cfg: Config, metrics: Metrics, log: LogFn): Forwarding | null {
  if (cfg.forward.length === 0) return null;
  const f = new Forwarding(cfg, log);
  f.registerMetrics(metrics);
  return f;
}
