// The embedded default configuration. config/default.yaml is a byte-identical copy for readers
// and docs (a test keeps them equal); this constant is what the agent actually uses, so the
// built agent needs no file next to it.
export const DEFAULT_CONFIG_YAML = `# sealtrail embedded default configuration (used when no --config is given).
# Every key is documented in docs/configuration.md.
agent:
  name: \${env:SEALTRAIL_AGENT_NAME:-sealtrail}
  environment: \${env:SEALTRAIL_ENV:-development}
  data_dir: \${env:SEALTRAIL_DATA_DIR:-./data}
  signing_key: ""            # empty: <data_dir>/keys/<name>.key, generated on first start
  shutdown_timeout: 30s
  buffer:
    max_size: 1GiB
  telemetry:
    endpoint: 127.0.0.1:8888 # /healthz /readyz /metrics; "" disables
  retry:
    initial_interval: 500ms
    max_interval: 30s
    multiplier: 2

receivers:
  otlp:
    max_depth: 64
    max_records_per_request: 10000
    max_attributes_per_record: 128
    max_request_canonical_size: 16MiB
    max_entry_size: 1MiB
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
        max_recv_msg_size: 4MiB
      http:
        endpoint: 127.0.0.1:4318
        max_request_body_size: 4MiB
        max_decompressed_size: 16MiB

processors:
  audit_filter:
    rules:
      - attribute: { key: audit, value: "true" }
      - event_name_prefix: "audit."
  audit_context:             # count (never refuse) audit records lacking context; docs/audit-context.md
    fields:
      time: { missing: count }
      actor: { missing: count }
      action: { missing: count }
      resource: { missing: count }
      result: { missing: count }
    environment_mismatch: count
  seal:
    max_records: 10000
    max_bytes: 4MiB
    max_age: 5s

exporters:
  file:                      # directory defaults to <data_dir>/archive
    compression: none
    immutable: false

service:
  pipelines:
    logs:
      receivers: [otlp]
      processors: [audit_filter, audit_context, seal]
      exporters: [file]
`;
