// Counters and gauges for /metrics (Prometheus text format 0.0.4). Gauges are read lazily
// from their owners when scraped. Naming follows Prometheus: counters end in _total, units are
// base units (bytes, seconds), and the process_* / nodejs_* families use the names the official
// client libraries use, so stock dashboards work.
import { AGENT_VERSION } from '../own-events.js';

type Samples = Array<[labels: string, value: number]>;

// Wall-clock start of this process, fixed at load (process.uptime() counts from process start).
const START_TIME_SECONDS = Math.round(Date.now() / 1000 - process.uptime());

export class Metrics {
  recordsAccepted = 0;
  recordsRefused = 0;
  recordsFiltered = 0;
  requestsRejected = 0; // malformed / unauthenticated / too large
  /** ResourceLogs/ScopeLogs schema_url values received and not stored (the entry keeps resource, scope, record). */
  schemaUrlsDropped = 0;
  private gauges: Array<() => string> = [];

  addGauges(render: () => string): void {
    this.gauges.push(render);
  }

  render(): string {
    const lines = [
      gauge('sealtrail_build_info', 'Always 1; the labels say which build is running.', [
        [`{version="${escape(AGENT_VERSION)}",nodejs="${escape(process.version)}"}`, 1],
      ]),
      counter('sealtrail_records_accepted_total', 'Audit records chained and acknowledged.', this.recordsAccepted),
      counter(
        'sealtrail_records_refused_total',
        'Audit records refused with a retryable error (buffer full, shutting down, storage).',
        this.recordsRefused,
      ),
      counter('sealtrail_records_filtered_total', 'Non-audit records dropped by the audit filter.', this.recordsFiltered),
      counter(
        'sealtrail_requests_rejected_total',
        'Export requests rejected as malformed, too large or unauthenticated.',
        this.requestsRejected,
      ),
      counter('sealtrail_fields_dropped_total', 'Fields of accepted requests that the archive does not store (docs/receivers.md).', [
        [label('field', 'schema_url'), this.schemaUrlsDropped],
      ]),
    ];
    for (const g of this.gauges) lines.push(g());
    lines.push(processMetrics());
    return lines.join('');
  }
}

function processMetrics(): string {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return (
    counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', (cpu.user + cpu.system) / 1e6) +
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', [['', mem.rss]]) +
    gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', [['', START_TIME_SECONDS]]) +
    gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', [['', mem.heapTotal]]) +
    gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', [['', mem.heapUsed]]) +
    gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', [['', mem.external]])
  );
}

/** A counter family: one value, or one sample per label set. The name must end in _total. */
export function counter(name: string, help: string, value: number | Samples): string {
  return family('counter', name, help, typeof value === 'number' ? [['', value]] : value);
}

export function gauge(name: string, help: string, samples: Samples): string {
  return family('gauge', name, help, samples);
}

function family(type: 'counter' | 'gauge', name: string, help: string, samples: Samples): string {
  let s = `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
  for (const [l, v] of samples) s += `${name}${l} ${v}\n`;
  return s;
}

export function label(key: string, value: string): string {
  return `{${key}="${escape(value)}"}`;
}

function escape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
