// Real OpenTelemetry SDK clients (sdk-logs + OTLP exporters) pointed at a test agent.
import { LoggerProvider, SimpleLogRecordProcessor, BatchLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter as GrpcExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as HttpJsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as HttpProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { Logger } from '@opentelemetry/api-logs';

export type Transport = 'grpc' | 'http-json' | 'http-proto';

export function makeExporter(transport: Transport, agent: { grpc: string; http: string }): LogRecordExporter {
  switch (transport) {
    case 'grpc':
      return new GrpcExporter({ url: `http://${agent.grpc}` });
    case 'http-json':
      return new HttpJsonExporter({ url: `http://${agent.http}/v1/logs` });
    case 'http-proto':
      return new HttpProtoExporter({ url: `http://${agent.http}/v1/logs` });
  }
}

export interface SdkClient {
  provider: LoggerProvider;
  logger: Logger;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export function sdkClient(
  transport: Transport,
  agent: { grpc: string; http: string },
  opts: { batch?: boolean; serviceName?: string; scope?: string } = {},
): SdkClient {
  const exporter = makeExporter(transport, agent);
  const processor = opts.batch
    ? new BatchLogRecordProcessor({ exporter, maxExportBatchSize: 512, scheduledDelayMillis: 50 })
    : new SimpleLogRecordProcessor({ exporter });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName ?? 'test-app', 'deployment.environment.name': 'test' }),
    processors: [processor],
  });
  const logger = provider.getLogger(opts.scope ?? 'test-scope', '1.2.3');
  return { provider, logger, flush: () => provider.forceFlush(), shutdown: () => provider.shutdown() };
}
