// Schemas of the agent section and of each component type (receivers, processors, exporters).
// Component ids follow the Collector: "type" or "type/name".
import type {
  AttributeMatch,
  AuditFilterConfig,
  AuditRule,
  AuthConfig,
  Config,
  ExporterConfig,
  FileExporterConfig,
  GrpcReceiverConfig,
  HttpReceiverConfig,
  S3ExporterConfig,
  SealConfig,
  TlsConfig,
} from './types.js';
import {
  INVALID,
  bool,
  duration,
  emptyAsNull,
  endpoint,
  fail,
  filePath,
  int,
  join,
  list,
  num,
  obj,
  oneOf,
  size,
  str,
  then,
  type Schema,
} from './schema.js';

/** Agent names become part of the chain origin and of the key file name. */
export const AGENT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const COMPONENT_ID_RE = /^([a-z][a-z0-9_]*)(?:\/([A-Za-z0-9][A-Za-z0-9._-]{0,62}))?$/;

const tls = obj<TlsConfig>({
  cert_file: { schema: filePath(), required: true },
  key_file: { schema: filePath(), required: true },
  client_ca_file: { schema: emptyAsNull(filePath()) },
});

const auth = obj<AuthConfig>({ bearer_token: { schema: emptyAsNull(str()) } });

const grpc = obj<GrpcReceiverConfig>({
  endpoint: { schema: endpoint(), default: '127.0.0.1:4317' },
  max_recv_msg_size: { schema: size({ min: 1 }), default: '4MiB' },
  read_timeout: { schema: duration({ min: 1 }), default: '30s', to: 'readTimeoutMs' },
  tls: { schema: tls },
  auth: { schema: auth, default: {} },
});

const http = obj<HttpReceiverConfig>(
  {
    endpoint: { schema: endpoint(), default: '127.0.0.1:4318' },
    max_request_body_size: { schema: size({ min: 1 }), default: '4MiB' },
    max_decompressed_size: { schema: size({ min: 1 }), default: '16MiB' },
    read_header_timeout: { schema: duration({ min: 1 }), default: '10s', to: 'readHeaderTimeoutMs' },
    read_timeout: { schema: duration({ min: 1 }), default: '30s', to: 'readTimeoutMs' },
    tls: { schema: tls },
    auth: { schema: auth, default: {} },
  },
  (h, at, ctx) => {
    // The header deadline is part of the request deadline (Node refuses the reverse).
    if (h.readHeaderTimeoutMs > h.readTimeoutMs) fail(ctx, join(at, 'read_header_timeout'), 'must not exceed read_timeout');
  },
);

export type OtlpReceiverConfig = Config['receivers'];

export const otlpReceiver = then(
  obj<{ maxDepth: number; maxInflightBytes: number; protocols: { grpc: GrpcReceiverConfig | null; http: HttpReceiverConfig | null } }>(
    {
      max_depth: { schema: int({ min: 1, max: 1000 }), default: 64 },
      max_inflight_bytes: { schema: size({ min: 1 }), default: '64MiB' },
      protocols: {
        schema: obj(
          { grpc: { schema: grpc, nullIsEmpty: true }, http: { schema: http, nullIsEmpty: true } },
          (p: { grpc: unknown; http: unknown }, at, ctx) => {
            if (p.grpc === null && p.http === null) fail(ctx, at, 'enable at least one of grpc, http');
          },
        ),
        required: true,
      },
    },
  ),
  (r): OtlpReceiverConfig => ({ grpc: r.protocols.grpc, http: r.protocols.http, maxDepth: r.maxDepth, maxInflightBytes: r.maxInflightBytes }),
);

const SEVERITY_BASES: Readonly<Record<string, number>> = { TRACE: 1, DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17, FATAL: 21 };

/** OTLP SeverityNumber 1..24, or its short name (INFO, WARN3, ...; case-insensitive). */
const severity: Schema<number> = (v, at, ctx) => {
  if (typeof v === 'string' && !/^\d+$/.test(v.trim())) {
    const m = /^([A-Za-z]+)([2-4])?$/.exec(v.trim());
    const base = m ? SEVERITY_BASES[m[1]!.toUpperCase()] : undefined;
    if (base === undefined) return fail(ctx, at, `${JSON.stringify(v)} must be 1..24 or one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL (optionally with a 2-4 suffix)`);
    return base + (m![2] ? Number(m![2]) - 1 : 0);
  }
  return int({ min: 1, max: 24 })(v, at, ctx);
};

/** Attribute values are compared as strings, so `value: true` matches the string "true". */
const attrValue: Schema<string> = (v, at, ctx) =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : fail(ctx, at, 'must be a scalar');

const attributeMatch = obj<AttributeMatch>({
  key: { schema: str({ nonEmpty: true }), required: true },
  value: { schema: attrValue },
});

const rule = obj<AuditRule>(
  {
    attribute: { schema: attributeMatch },
    resource_attribute: { schema: attributeMatch },
    event_name: { schema: str({ nonEmpty: true }) },
    event_name_prefix: { schema: str({ nonEmpty: true }) },
    scope_name: { schema: str({ nonEmpty: true }) },
    scope_name_prefix: { schema: str({ nonEmpty: true }) },
    min_severity: { schema: severity },
  },
  (r, at, ctx) => {
    // Drop unset conditions so consumers can test `!== undefined`, as AuditRule declares.
    const rec = r as Record<string, unknown>;
    for (const k of Object.keys(rec)) if (rec[k] === null) delete rec[k];
    if (Object.keys(rec).length === 0) fail(ctx, at, 'a rule needs at least one condition');
  },
);

export const DEFAULT_RULES = [{ attribute: { key: 'audit', value: 'true' } }, { event_name_prefix: 'audit.' }];

export const auditFilterProcessor = obj<AuditFilterConfig>({
  rules: { schema: list(rule, { minItems: 1 }), default: DEFAULT_RULES },
});

export const sealProcessor = obj<SealConfig>({
  max_records: { schema: int({ min: 1 }), default: 10000 },
  max_bytes: { schema: size({ min: 1 }), default: '4MiB' },
  max_age: { schema: duration({ min: 1 }), default: '5s', to: 'maxAgeMs' },
});

const compression = oneOf(['none', 'gzip'] as const);

/** `directory` null = <data_dir>/archive, filled in by the loader once data_dir is known. */
export const fileExporter = (id: string) =>
  then(
    obj<Omit<FileExporterConfig, 'type' | 'id' | 'directory'> & { directory: string | null }>({
      directory: { schema: emptyAsNull(filePath()) },
      compression: { schema: compression, default: 'none' },
      immutable: { schema: bool(), default: false },
    }),
    (f) => ({ type: 'file' as const, id, ...f }),
  );

export const s3Exporter = (id: string) =>
  then(
    obj<Omit<S3ExporterConfig, 'type' | 'id'>>(
      {
        bucket: { schema: str({ pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, hint: 'is not a valid S3 bucket name' }), required: true },
        prefix: {
          schema: then(str(), (p, at, ctx) =>
            p.startsWith('/') ? fail(ctx, at, 'must not start with "/"') : p === '' || p.endsWith('/') ? p : `${p}/`,
          ),
          default: '',
        },
        region: { schema: str({ nonEmpty: true }), default: 'us-east-1' },
        endpoint: {
          schema: emptyAsNull(str({ pattern: /^https?:\/\/[^\s/]+(\/\S*)?$/, hint: 'must be an http:// or https:// URL' })),
        },
        force_path_style: { schema: bool(), default: false },
        access_key_id: { schema: emptyAsNull(str()) },
        secret_access_key: { schema: emptyAsNull(str()) },
        session_token: { schema: emptyAsNull(str()) },
        compression: { schema: compression, default: 'none' },
        object_lock: {
          schema: obj({
            mode: { schema: oneOf(['COMPLIANCE', 'GOVERNANCE'] as const), default: 'COMPLIANCE' },
            retain_days: { schema: int({ min: 1, max: 36500 }), required: true },
          }),
        },
        legal_hold: { schema: bool(), default: false },
      },
      (s, at, ctx) => {
        if ((s.accessKeyId === null) !== (s.secretAccessKey === null)) {
          fail(ctx, join(at, s.accessKeyId === null ? 'access_key_id' : 'secret_access_key'), 'access_key_id and secret_access_key must be set together');
        }
        if (s.sessionToken !== null && s.accessKeyId === null) fail(ctx, join(at, 'session_token'), 'needs access_key_id and secret_access_key');
      },
    ),
    (s) => ({ type: 's3' as const, id, ...s }),
  );

export type RawExporter = ExporterConfig | (Omit<FileExporterConfig, 'directory'> & { directory: string | null });

export const agentSection = obj<Config['agent']>(
  {
    name: { schema: str({ pattern: AGENT_NAME_RE, hint: 'must match [A-Za-z0-9][A-Za-z0-9._-]{0,62}' }), default: 'sealtrail' },
    environment: { schema: str({ nonEmpty: true }), default: 'development' },
    data_dir: { schema: filePath(), default: './data' },
    signing_key: { schema: emptyAsNull(filePath()) },
    shutdown_timeout: { schema: duration(), default: '30s', to: 'shutdownTimeoutMs' },
    buffer: { schema: obj({ max_size: { schema: size({ min: 1 }), default: '1GiB', to: 'maxBytes' } }), default: {} },
    telemetry: { schema: obj({ endpoint: { schema: emptyAsNull(endpoint()), default: '127.0.0.1:8888' } }), default: {} },
    retry: {
      schema: obj<Config['agent']['retry']>(
        {
          initial_interval: { schema: duration({ min: 1 }), default: '500ms', to: 'initialIntervalMs' },
          max_interval: { schema: duration({ min: 1 }), default: '30s', to: 'maxIntervalMs' },
          multiplier: { schema: num({ min: 1 }), default: 2 },
        },
        (r, at, ctx) => {
          if (r.maxIntervalMs < r.initialIntervalMs) fail(ctx, join(at, 'max_interval'), 'must be at least initial_interval');
        },
      ),
      default: {},
    },
  },
);

export { INVALID };
