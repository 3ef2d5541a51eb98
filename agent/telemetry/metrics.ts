// Counters and gauges for /metrics (Prometheus text format 0.0.4). Gauges are read lazily
// from their owners when scraped.
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
      counter('sealtrail_records_accepted_total', 'Audit records chained and acknowledged.', this.recordsAccepted),
      counter('sealtrail_records_refused_total', 'Audit records refused with a retryable error (buffer full, shutting down, storage).', this.recordsRefused),
      counter('sealtrail_records_filtered_total', 'Non-audit records dropped by the audit filter.', this.recordsFiltered),
      counter('sealtrail_requests_rejected_total', 'Export requests rejected as malformed, too large or unauthenticated.', this.requestsRejected),
      counter('sealtrail_fields_dropped_total', 'Fields of accepted requests that the archive does not store (docs/receivers.md).', this.schemaUrlsDropped, label('field', 'schema_url')),
    ];
    for (const g of this.gauges) lines.push(g());
    return lines.join('') ;
  }
}

export function counter(name: string, help: string, value: number, labels = ''): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name}${labels} ${value}\n`;
}

export function gauge(name: string, help: string, samples: Array<[labels: string, value: number]>): string {
  let s = `# HELP ${name} ${help}\n# TYPE ${name} gauge\n`;
  for (const [l, v] of samples) s += `${name}${l} ${v}\n`;
  return s;
}

export function label(key: string, value: string): string {
  return `{${key}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"}`;
}
