// The resolved configuration, after YAML parsing, ${env:...} expansion, defaults and
// validation (config/load.ts). All sizes are bytes, all durations milliseconds, all paths
// absolute. The YAML shape follows the OpenTelemetry Collector (docs/configuration.md).
import type { ContextSource, MappedField } from '../verify/context.js';

export interface TlsConfig {
  certFile: string;
  keyFile: string;
  /** When set, clients must present a certificate signed by this CA (mTLS). */
  clientCaFile: string | null;
}

export interface AuthConfig {
  /** Clients must send "Authorization: Bearer <token>" (HTTP) or the same gRPC metadata. */
  bearerToken: string | null;
}

export interface GrpcReceiverConfig {
  endpoint: string; // host:port, default 127.0.0.1:4317 (port 0 = pick a free port)
  maxRecvMsgSize: number; // bytes, after decompression; default 4 MiB
  readTimeoutMs: number; // from a call's headers to its whole message; default 30000
  tls: TlsConfig | null;
  auth: AuthConfig;
}

export interface HttpReceiverConfig {
  endpoint: string; // default 127.0.0.1:4318
  maxRequestBodySize: number; // bytes on the wire; default 4 MiB
  maxDecompressedSize: number; // bytes after gunzip; default 16 MiB
  readHeaderTimeoutMs: number; // a request's headers must arrive within this; default 10000
  readTimeoutMs: number; // the whole request (headers and body); default 30000
  tls: TlsConfig | null;
  auth: AuthConfig;
}

export type AttributeMatch = { key: string; value: string | null }; // value null = key present

/** One rule matches when all of its set conditions match; a record is audit when any rule matches. */
export interface AuditRule {
  attribute?: AttributeMatch;
  resourceAttribute?: AttributeMatch;
  eventName?: string;
  eventNamePrefix?: string;
  scopeName?: string;
  scopeNamePrefix?: string;
  minSeverity?: number; // 1..24 (OTLP SeverityNumber)
}

export interface AuditFilterConfig {
  rules: AuditRule[];
}

// --- audit_context processor (docs/audit-context.md) ---

/** What a record missing a field (or naming another environment) gets. */
export type ContextPolicy = 'reject' | 'count' | 'accept';

export interface ContextFieldRule {
  /** Accepted sources in priority order; the first with a non-empty scalar value wins. */
  from: ContextSource[];
  missing: ContextPolicy;
}

export interface AuditContextConfig {
  /** `time` is the record's own timeUnixNano, else observedTimeUnixNano; it has no sources. */
  fields: Record<MappedField, ContextFieldRule> & { time: { missing: ContextPolicy } };
  /** The record's resource names an environment other than agent.environment. */
  environmentMismatch: ContextPolicy;
}
// --- end audit_context ---

export interface SealConfig {
  maxRecords: number; // default 10000
  maxBytes: number; // default 4 MiB (sum of entry line bytes)
  maxAgeMs: number; // default 5000
}

export interface FileExporterConfig {
  type: 'file';
  id: string; // "file" or "file/<name>"
  directory: string;
  compression: 'none' | 'gzip';
  /** chattr +i each finished file (root on ext4/xfs only). */
  immutable: boolean;
}

export interface S3ExporterConfig {
  type: 's3';
  id: string;
  bucket: string;
  prefix: string; // '' or ending in '/'
  region: string;
  endpoint: string | null;
  forcePathStyle: boolean;
  accessKeyId: string | null; // null = default AWS credential chain
  secretAccessKey: string | null;
  sessionToken: string | null;
  compression: 'none' | 'gzip';
  objectLock: { mode: 'COMPLIANCE' | 'GOVERNANCE'; retainDays: number } | null;
  legalHold: boolean;
}

export type ExporterConfig = FileExporterConfig | S3ExporterConfig | ModuleExporterConfig | SealtrailExporterConfig;

export interface RetryConfig {
  initialIntervalMs: number; // default 500
  maxIntervalMs: number; // default 30000
  multiplier: number; // default 2
}

export interface Config {
  agent: {
    name: string; // [A-Za-z0-9][A-Za-z0-9._-]{0,62}; part of the chain origin
    environment: string;
    dataDir: string;
    /** Path of the signer key; null = <dataDir>/keys/<name>.key, generated on first start. */
    signingKey: string | null;
    shutdownTimeoutMs: number; // default 30000
    buffer: { maxBytes: number }; // default 1 GiB of entry bytes
    telemetry: { endpoint: string | null }; // /healthz /readyz /metrics; default 127.0.0.1:8888
    retry: RetryConfig;
  };
  receivers: {
    grpc: GrpcReceiverConfig | null;
    http: HttpReceiverConfig | null;
    maxDepth: number; // AnyValue nesting limit, default 64
    maxInflightBytes: number; // request bytes in flight (wire, decompressed, decoded), both protocols together; default 64 MiB
    // Per-request budgets, enforced while decoding (agent/otlp/canonical.ts Budget).
    maxRecordsPerRequest: number; // default 10000
    maxAttributesPerRecord: number; // per record, resource or scope; default 128
    maxRequestCanonicalSize: number; // canonical resource+scope+record text per request; default 16 MiB
    maxEntrySize: number; // bytes of one entry line, envelope included; default 1 MiB, at most MAX_ENTRY_LINE_BYTES
  };
  filter: AuditFilterConfig;
  /** The audit_context processor; null when the pipeline does not list one (nothing checked). */
  context: AuditContextConfig | null;
  seal: SealConfig;
  /** The exporters of the pipeline, in the order listed in service.pipelines. */
  exporters: ExporterConfig[];
  /** The forwarding pipelines, besides the audit pipeline (docs/forwarding.md). */
  forward: ForwardPipelineConfig[];
  /** Gateway mode (docs/gateway.md): receive sealed batches from other agents; null = off. */
  gateway: GatewayConfig | null;
}

export interface LoadedConfig {
  config: Config;
  /** SHA-256 hex of the resolved config with secrets redacted; recorded in genesis/start entries. */
  digest: string;
  /** The file it came from, or "<embedded default>". */
  source: string;
}

// --- Forwarding pipelines (docs/forwarding.md): best-effort OTLP export of records. ---

export interface OtlpForwardTls {
  /** otlp (gRPC) only: plaintext instead of TLS (an http:// endpoint implies it). */
  insecure: boolean;
  caFile: string | null;
  certFile: string | null;
  keyFile: string | null;
}

export interface OtlpForwardExporterConfig {
  type: 'otlp' | 'otlphttp';
  id: string;
  /** otlp: host:port for grpc-js; otlphttp: the full URL of the logs endpoint (…/v1/logs). */
  endpoint: string;
  tls: OtlpForwardTls;
  headers: Record<string, string>;
  compression: 'none' | 'gzip';
  /** otlphttp only: request body encoding. */
  encoding: 'proto' | 'json';
  timeoutMs: number;
  retryOnFailure: { enabled: boolean; initialIntervalMs: number; maxIntervalMs: number; maxElapsedTimeMs: number };
  /** queueSize counts export requests as received (the Collector's unit); numConsumers sends in parallel. */
  sendingQueue: { queueSize: number; numConsumers: number };
}

export interface ForwardPipelineConfig {
  /** e.g. "logs/other" */
  id: string;
  /** non_audit: only records the audit filter did not keep; all: every record (audit ones once durable). */
  select: 'non_audit' | 'all';
  exporters: OtlpForwardExporterConfig[];
}

// --- Sinks loaded from npm packages (docs/sink-packages.md). ---

export interface ModuleExporterConfig {
  type: 'module';
  id: string; // "module/<name>"
  /** An npm package name, or an absolute path to a package directory or a module file. */
  package: string;
  /** Where a package name is looked up (node_modules from here upwards): the working directory. */
  resolveFrom: string;
  compression: 'none' | 'gzip';
  /** Every other key of the exporter, handed to the package's factory unchanged. */
  options: Record<string, unknown>;
}

// --- Gateway (docs/gateway.md): agents deliver sealed batches to a verifying gateway. ---

export interface SealtrailExporterConfig {
  type: 'sealtrail';
  id: string; // "sealtrail/<name>"
  /** http(s)://host:port of the gateway's sealtrail receiver. */
  endpoint: string;
  tls: { caFile: string | null; certFile: string | null; keyFile: string | null };
  auth: AuthConfig;
  compression: 'none' | 'gzip';
  timeoutMs: number;
}

export interface TrustedKey {
  /** The key verifies batches of origins starting with this ("sealtrail/payments-" ...). */
  originPrefix: string;
  keyFile: string;
}

export interface GatewayConfig {
  receiver: {
    endpoint: string;
    tls: TlsConfig | null;
    auth: AuthConfig;
    trustedKeys: TrustedKey[];
    maxBatchSize: number; // bytes of one request body
  };
  /** The sinks the gateway writes received objects to (may be shared with the audit pipeline). */
  exporters: ExporterConfig[];
}
