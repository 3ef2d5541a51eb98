// The resolved configuration, after YAML parsing, ${env:...} expansion, defaults and
// validation (config/load.ts). All sizes are bytes, all durations milliseconds, all paths
// absolute. The YAML shape follows the OpenTelemetry Collector (docs/configuration.md).

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

export type ExporterConfig = FileExporterConfig | S3ExporterConfig;

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
  };
  filter: AuditFilterConfig;
  seal: SealConfig;
  /** The exporters of the pipeline, in the order listed in service.pipelines. */
  exporters: ExporterConfig[];
}

export interface LoadedConfig {
  config: Config;
  /** SHA-256 hex of the resolved config with secrets redacted; recorded in genesis/start entries. */
  digest: string;
  /** The file it came from, or "<embedded default>". */
  source: string;
}
