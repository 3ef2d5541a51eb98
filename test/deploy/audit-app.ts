// A stand-in application for the sidecar pod test: it waits for the sidecar to be ready,
// emits audit records (and some that are not audit) through the real OpenTelemetry SDK to
// the endpoint the manifest gives it (OTEL_EXPORTER_OTLP_LOGS_ENDPOINT), prints
// "emitted N", then idles like a real application until SIGTERM.
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';

const endpoint = process.env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT;
const runId = process.env.AUDIT_RUN_ID ?? 'run';
const count = Number(process.env.AUDIT_COUNT ?? '100');
const readyUrl = process.env.SEALTRAIL_READYZ ?? 'http://127.0.0.1:8888/readyz';

async function waitReady(): Promise<void> {
  for (;;) {
    const ok = await fetch(readyUrl).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  if (!endpoint) throw new Error('OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is not set');
  process.on('SIGTERM', () => process.exit(0));
  await waitReady();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'billing-api' }),
    processors: [
      new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: endpoint }), maxExportBatchSize: 64, scheduledDelayMillis: 50 }),
    ],
  });
  const logger = provider.getLogger('billing', '1.4.2');
  for (let i = 0; i < count; i++) {
    // Both default conventions: the attribute audit=true, and an event name under audit.*.
    if (i % 2 === 0) logger.emit({ body: 'invoice paid', attributes: { audit: true, 'audit.id': `${runId}-${i}` } });
    else logger.emit({ eventName: 'audit.invoice.refund', body: 'invoice refunded', attributes: { 'audit.id': `${runId}-${i}` } });
    if (i % 10 === 0) logger.emit({ body: 'cache warm', attributes: { 'not.audit': i } });
  }
  await provider.forceFlush();
  process.stdout.write(`emitted ${count}\n`);
  setInterval(() => undefined, 1 << 30);
}

main().catch((err: unknown) => {
  process.stderr.write(`audit-app: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
