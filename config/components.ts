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
  GatewayConfig,
  SealtrailExporterConfig,
  ModuleExporterConfig,
  OtlpForwardExporterConfig,
  OtlpForwardTls,
  S3ExporterConfig,
  SealConfig,
  TlsConfig,
} from './types.js';
import path from 'node:path';
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
import { MAX_ENTRY_LINE_BYTES } from '../verify/limits.js';

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

type Budgets = Pick<OtlpReceiverConfig, 'maxRecordsPerRequest' | 'maxAttributesPerRecord' | 'maxRequestCanonicalSize' | 'maxEntrySize'>;

/** The verifier reads lines up to MAX_ENTRY_LINE_BYTES; the agent must never write a longer one. */
const entrySize = then(size({ min: 4096 }), (n, at, ctx) =>
  n > MAX_ENTRY_LINE_BYTES
    ? fail(ctx, at, `must be at most ${MAX_ENTRY_LINE_BYTES} bytes (64MiB), the longest line the verifier reads`)
    : n,
);

export const otlpReceiver = then(
  obj<
    {
      maxDepth: number;
      maxInflightBytes: number;
      protocols: { grpc: GrpcReceiverConfig | null; http: HttpReceiverConfig | null };
    } & Budgets
  >({
    max_depth: { schema: int({ min: 1, max: 1000 }), default: 64 },
    max_inflight_bytes: { schema: size({ min: 1 }), default: '64MiB' },
    max_records_per_request: { schema: int({ min: 1 }), default: 10000 },
    max_attributes_per_record: { schema: int({ min: 1 }), default: 128 },
    max_request_canonical_size: { schema: size({ min: 4096 }), default: '16MiB' },
    max_entry_size: { schema: entrySize, default: '1MiB' },
    protocols: {
      schema: obj(
        { grpc: { schema: grpc, nullIsEmpty: true }, http: { schema: http, nullIsEmpty: true } },
        (p: { grpc: unknown; http: unknown }, at, ctx) => {
          if (p.grpc === null && p.http === null) fail(ctx, at, 'enable at least one of grpc, http');
        },
      ),
      required: true,
    },
  }),
  (r): OtlpReceiverConfig => ({
    grpc: r.protocols.grpc,
    http: r.protocols.http,
    maxDepth: r.maxDepth,
    maxInflightBytes: r.maxInflightBytes,
    maxRecordsPerRequest: r.maxRecordsPerRequest,
    maxAttributesPerRecord: r.maxAttributesPerRecord,
    maxRequestCanonicalSize: r.maxRequestCanonicalSize,
    maxEntrySize: r.maxEntrySize,
  }),
);

const SEVERITY_BASES: Readonly<Record<string, number>> = { TRACE: 1, DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17, FATAL: 21 };

/** OTLP SeverityNumber 1..24, or its short name (INFO, WARN3, ...; case-insensitive). */
const severity: Schema<number> = (v, at, ctx) => {
  if (typeof v === 'string' && !/^\d+$/.test(v.trim())) {
    const m = /^([A-Za-z]+)([2-4])?$/.exec(v.trim());
    const base = m ? SEVERITY_BASES[m[1]!.toUpperCase()] : undefined;
    if (base === undefined)
      return fail(
        ctx,
        at,
        `${JSON.stringify(v)} must be 1..24 or one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL (optionally with a 2-4 suffix)`,
      );
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
          fail(
            ctx,
            join(at, s.accessKeyId === null ? 'access_key_id' : 'secret_access_key'),
            'access_key_id and secret_access_key must be set together',
          );
        }
        if (s.sessionToken !== null && s.accessKeyId === null)
          fail(ctx, join(at, 'session_token'), 'needs access_key_id and secret_access_key');
      },
    ),
    (s) => ({ type: 's3' as const, id, ...s }),
  );

export type RawExporter = ExporterConfig | (Omit<FileExporterConfig, 'directory'> & { directory: string | null });

export const agentSection = obj<Config['agent']>({
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
});

export { INVALID };

// --- Forwarding exporters (docs/forwarding.md), shaped like the Collector's otlp/otlphttp. ---

const headersSchema: Schema<Record<string, string>> = (v, at, ctx) => {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) return fail(ctx, at, 'must be a mapping of header names to values');
  const out: Record<string, string> = {};
  let ok = true;
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(k)) {
      fail(ctx, join(at, k), 'is not a valid header name');
      ok = false;
    } else if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') {
      fail(ctx, join(at, k), 'must be a string');
      ok = false;
    } else if (/[\r\n\0]/.test(String(x))) {
      fail(ctx, join(at, k), 'must not contain CR, LF or NUL');
      ok = false;
    } else out[k.toLowerCase()] = String(x);
  }
  return ok ? out : INVALID;
};

const forwardTls = obj<OtlpForwardTls>(
  {
    insecure: { schema: bool(), default: false },
    ca_file: { schema: emptyAsNull(filePath()) },
    cert_file: { schema: emptyAsNull(filePath()) },
    key_file: { schema: emptyAsNull(filePath()) },
  },
  (t, at, ctx) => {
    if ((t.certFile === null) !== (t.keyFile === null))
      fail(ctx, join(at, t.certFile === null ? 'cert_file' : 'key_file'), 'cert_file and key_file must be set together');
  },
);

const retryOnFailure = obj<OtlpForwardExporterConfig['retryOnFailure']>(
  {
    enabled: { schema: bool(), default: true },
    initial_interval: { schema: duration({ min: 1 }), default: '5s', to: 'initialIntervalMs' },
    max_interval: { schema: duration({ min: 1 }), default: '30s', to: 'maxIntervalMs' },
    max_elapsed_time: { schema: duration({ min: 0 }), default: '300s', to: 'maxElapsedTimeMs' },
  },
  (r, at, ctx) => {
    if (r.maxIntervalMs < r.initialIntervalMs) fail(ctx, join(at, 'max_interval'), 'must be at least initial_interval');
  },
);

const sendingQueue = obj<OtlpForwardExporterConfig['sendingQueue']>({
  queue_size: { schema: int({ min: 1, max: 1_000_000 }), default: 200 },
  num_consumers: { schema: int({ min: 1, max: 64 }), default: 4 },
});

/** otlp (gRPC): endpoint is host:port, or http(s)://host:port (http:// means plaintext). */
const grpcTarget: Schema<{ endpoint: string; plaintext: boolean | null }> = (v, at, ctx) => {
  if (typeof v !== 'string') return fail(ctx, at, 'must be a string');
  const m = /^(?:(https?):\/\/)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(v);
  if (!m || Number(m[3]) > 65535) return fail(ctx, at, `${JSON.stringify(v)} is not host:port or http(s)://host:port`);
  return { endpoint: `${m[2]}:${m[3]}`, plaintext: m[1] === undefined ? null : m[1] === 'http' };
};

/** otlphttp: a base URL; /v1/logs is appended unless logs_endpoint names the full URL. */
const httpUrl = str({ pattern: /^https?:\/\/[^\s/]+(\/\S*)?$/, hint: 'must be an http:// or https:// URL' });

type ForwardCommon = Omit<OtlpForwardExporterConfig, 'type' | 'id' | 'endpoint' | 'encoding'>;
const forwardCommon = {
  tls: { schema: forwardTls, default: {} },
  headers: { schema: headersSchema, default: {} },
  compression: { schema: compression, default: 'gzip' },
  timeout: { schema: duration({ min: 1 }), default: '5s', to: 'timeoutMs' },
  retry_on_failure: { schema: retryOnFailure, default: {} },
  sending_queue: { schema: sendingQueue, default: {} },
};

export const otlpForwardExporter = (id: string) =>
  then(
    obj<ForwardCommon & { endpoint: { endpoint: string; plaintext: boolean | null } }>({
      endpoint: { schema: grpcTarget, required: true },
      ...forwardCommon,
    }),
    (f): OtlpForwardExporterConfig => ({
      type: 'otlp',
      id,
      ...f,
      endpoint: f.endpoint.endpoint,
      tls: { ...f.tls, insecure: f.endpoint.plaintext ?? f.tls.insecure },
      encoding: 'proto',
    }),
  );

export const otlphttpForwardExporter = (id: string) =>
  then(
    obj<ForwardCommon & { endpoint: string | null; logsEndpoint: string | null; encoding: 'proto' | 'json' }>(
      {
        endpoint: { schema: emptyAsNull(httpUrl) },
        logs_endpoint: { schema: emptyAsNull(httpUrl) },
        encoding: { schema: oneOf(['proto', 'json'] as const), default: 'proto' },
        ...forwardCommon,
      },
      (f, at, ctx) => {
        if (f.endpoint === null && f.logsEndpoint === null) fail(ctx, join(at, 'endpoint'), 'is required (or logs_endpoint)');
      },
    ),
    ({ endpoint, logsEndpoint, ...f }): OtlpForwardExporterConfig => ({
      type: 'otlphttp',
      id,
      ...f,
      endpoint: logsEndpoint ?? `${endpoint!.replace(/\/+$/, '')}/v1/logs`,
    }),
  );

/** `non_audit` has no settings: it keeps the records the audit filter did not keep. */
export const nonAuditProcessor = obj<Record<string, never>>({});

// --- Sinks from packages (docs/sink-packages.md): `package` and `compression` are sealtrail's,
// every other key belongs to the package and is passed to its factory as is. ---

export const moduleExporter =
  (id: string): Schema<ModuleExporterConfig> =>
  (v, at, ctx) => {
    if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v))
      return fail(ctx, at, 'must be a mapping with at least `package`');
    const { package: pkg, compression: comp, ...options } = v as Record<string, unknown>;
    const p =
      pkg === undefined || pkg === null
        ? fail(ctx, join(at, 'package'), 'is required (an npm package name or a path)')
        : str({ nonEmpty: true })(pkg, join(at, 'package'), ctx);
    const c = comp === undefined || comp === null ? 'none' : compression(comp, join(at, 'compression'), ctx);
    if (p === INVALID || c === INVALID) return INVALID;
    const isPath = p.startsWith('.') || p.startsWith('/');
    if (!isPath && !/^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/.test(p))
      return fail(ctx, join(at, 'package'), `${JSON.stringify(p)} is not an npm package name or a path (start a path with ./ or /)`);
    return { type: 'module', id, package: isPath ? path.resolve(ctx.cwd, p) : p, resolveFrom: ctx.cwd, compression: c, options };
  };

// --- Gateway (docs/gateway.md): the agent-side sealtrail exporter and the gateway's receiver. ---

export const sealtrailExporter = (id: string) =>
  then(
    obj<Omit<SealtrailExporterConfig, 'type' | 'id'>>({
      endpoint: { schema: str({ pattern: /^https?:\/\/[^\s/]+\/?$/, hint: 'must be http(s)://host:port' }), required: true },
      tls: {
        schema: obj<SealtrailExporterConfig['tls']>(
          {
            ca_file: { schema: emptyAsNull(filePath()) },
            cert_file: { schema: emptyAsNull(filePath()) },
            key_file: { schema: emptyAsNull(filePath()) },
          },
          (t, at, ctx) => {
            if ((t.certFile === null) !== (t.keyFile === null))
              fail(ctx, join(at, t.certFile === null ? 'cert_file' : 'key_file'), 'cert_file and key_file must be set together');
          },
        ),
        default: {},
      },
      auth: { schema: auth, default: {} },
      compression: { schema: compression, default: 'none' },
      timeout: { schema: duration({ min: 1 }), default: '30s', to: 'timeoutMs' },
    }),
    (e): SealtrailExporterConfig => ({ type: 'sealtrail', id, ...e, endpoint: e.endpoint.replace(/\/$/, '') }),
  );

export const sealtrailReceiver = obj<GatewayConfig['receiver']>({
  endpoint: { schema: endpoint(), default: '127.0.0.1:4320' },
  tls: { schema: tls },
  auth: { schema: auth, default: {} },
  trusted_keys: {
    schema: list(
      obj<GatewayConfig['receiver']['trustedKeys'][number]>({
        origin_prefix: {
          schema: str({ pattern: /^sealtrail\//, hint: 'must start with "sealtrail/" (origins are sealtrail/<agent name>/<chain id>)' }),
          required: true,
        },
        key_file: { schema: filePath(), required: true },
      }),
      { minItems: 1 },
    ),
    required: true,
  },
  max_batch_size: { schema: size({ min: 1 }), default: '64MiB' },
});
