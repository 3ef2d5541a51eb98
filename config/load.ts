// Loads the YAML config: parse (yaml 2, YAML 1.2 core schema) -> ${env:...} expansion on
// string scalars -> schema walk with defaults -> pipeline checks -> digest. Every problem is
// reported as "<key path>: <message>"; all of them are thrown together, one per line, as a
// SealtrailError('CONFIG').
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { SealtrailError } from '../lib/errors.js';
import { entryOverheadBytes } from '../agent/chain/entry.js';
import {
  COMPONENT_ID_RE,
  agentSection,
  auditFilterProcessor,
  fileExporter,
  moduleExporter,
  sealtrailExporter,
  sealtrailReceiver,
  nonAuditProcessor,
  otlpForwardExporter,
  otlphttpForwardExporter,
  otlpReceiver,
  s3Exporter,
  sealProcessor,
  type OtlpReceiverConfig,
  type RawExporter,
} from './components.js';
import { auditContextProcessor } from './audit-context.js';
import { DEFAULT_CONFIG_YAML } from './default.js';
import { expandTree } from './env.js';
import { INVALID, fail, isMapping, join, list, obj, str, type Ctx, type Schema } from './schema.js';
import type {
  AuditContextConfig,
  AuditFilterConfig,
  Config,
  ExporterConfig,
  ForwardPipelineConfig,
  GatewayConfig,
  LoadedConfig,
  OtlpForwardExporterConfig,
  SealConfig,
} from './types.js';

export const EMBEDDED_SOURCE = '<embedded default>';

const SECTIONS = ['agent', 'receivers', 'processors', 'exporters', 'service'] as const;

const RECEIVERS: Record<string, (id: string) => Schema<unknown>> = { otlp: () => otlpReceiver, sealtrail: () => sealtrailReceiver };
const PROCESSORS: Record<string, (id: string) => Schema<unknown>> = {
  audit_filter: () => auditFilterProcessor,
  audit_context: () => auditContextProcessor,
  seal: () => sealProcessor,
  non_audit: () => nonAuditProcessor,
};
const EXPORTERS: Record<string, (id: string) => Schema<unknown>> = {
  file: fileExporter,
  s3: s3Exporter,
  otlp: otlpForwardExporter,
  otlphttp: otlphttpForwardExporter,
  module: moduleExporter,
  sealtrail: sealtrailExporter,
};
/** Exporter types that forward records (best effort) rather than archive sealed batches. */
const FORWARD_EXPORTERS: ReadonlySet<string> = new Set(['otlp', 'otlphttp']);

const pipelineSchema = obj<{ receivers: string[]; processors: string[]; exporters: string[] }>({
  receivers: { schema: list(str(), { minItems: 1 }), required: true },
  processors: { schema: list(str()), required: true },
  exporters: { schema: list(str(), { minItems: 1 }), required: true },
});

export async function loadConfig(file: string | null, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<LoadedConfig> {
  if (file === null) return parseConfig(DEFAULT_CONFIG_YAML, EMBEDDED_SOURCE, env, cwd);
  const abs = path.resolve(cwd, file);
  let text: string;
  try {
    text = await fs.readFile(abs, 'utf8');
  } catch (err) {
    throw new SealtrailError('CONFIG', `${abs}: cannot read config file: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(text, abs, env, cwd);
}

export function parseConfig(text: string, source: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): LoadedConfig {
  try {
    return parseUnchecked(text, source, env, cwd);
  } catch (err) {
    if (err instanceof SealtrailError) throw err;
    // e.g. RangeError from absurdly deep nesting: still a config error, never a crash.
    throw new SealtrailError('CONFIG', `${source}: cannot process config: ${(err as Error).message}`, { cause: err });
  }
}

function parseUnchecked(text: string, source: string, env: NodeJS.ProcessEnv, cwd: string): LoadedConfig {
  const doc = parseDocument(text, { schema: 'core', uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    // Only the first syntax error: the parser's later ones are usually its consequences.
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more)` : '';
    throw new SealtrailError('CONFIG', `${source}: invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}${more}`);
  }
  let tree: unknown;
  try {
    tree = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new SealtrailError('CONFIG', `${source}: invalid YAML: ${(err as Error).message}`, { cause: err });
  }
  const envErrors: string[] = [];
  tree = expandTree(tree, env, '', envErrors);
  // A failed expansion leaves text that would only cause follow-on errors; stop here.
  if (envErrors.length > 0) throw new SealtrailError('CONFIG', envErrors.join('\n'));

  const ctx: Ctx = { errors: [], cwd };
  const config = resolve(tree, ctx);
  if (ctx.errors.length > 0 || config === null) throw new SealtrailError('CONFIG', ctx.errors.join('\n'));
  return { config, digest: configDigest(config), source };
}

function resolve(tree: unknown, ctx: Ctx): Config | null {
  if (!isMapping(tree)) {
    fail(ctx, '', 'the config must be a mapping with receivers, processors, exporters and service');
    return null;
  }
  for (const key of Object.keys(tree)) {
    if (!(SECTIONS as readonly string[]).includes(key)) fail(ctx, key, `unknown key (expected one of ${SECTIONS.join(', ')})`);
  }
  const agent = agentSection(tree.agent, 'agent', ctx);
  const receivers = components('receivers', tree.receivers, RECEIVERS, ctx);
  const processors = components('processors', tree.processors, PROCESSORS, ctx);
  const exporters = components('exporters', tree.exporters, EXPORTERS, ctx);
  const pipes = pipelines(tree.service, ctx);
  if (agent === INVALID || !receivers || !processors || !exporters || !pipes) return null;

  // The audit pipeline is the one with the seal processor; every other one forwards.
  const auditPipes = pipes.filter((x) => x.p.processors.some((id) => id.split('/')[0] === 'seal'));
  if (auditPipes.length !== 1) {
    fail(ctx, 'service.pipelines', `must define exactly one audit pipeline (processors [audit_filter, seal]), found ${auditPipes.length}`);
    return null;
  }
  const { at, p } = auditPipes[0]!;
  const usedBy = { receivers: new Set<string>(), processors: new Set<string>(), exporters: new Set<string>() };
  const used = (
    pat: string,
    kind: 'receivers' | 'processors' | 'exporters',
    ids: string[],
    defined: Map<string, unknown>,
    shared = false,
  ): unknown[] => {
    const out: unknown[] = [];
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) fail(ctx, `${pat}.${kind}[${i}]`, `${JSON.stringify(id)} is listed twice`);
      else if (!defined.has(id)) fail(ctx, `${pat}.${kind}[${i}]`, `${JSON.stringify(id)} is not defined in ${kind}`);
      else if (kind === 'exporters' && usedBy.exporters.has(id) && !shared)
        fail(ctx, `${pat}.${kind}[${i}]`, `${JSON.stringify(id)} is already used by another pipeline`);
      else out.push(defined.get(id));
      usedBy[kind].add(id);
    });
    return out;
  };
  const rs = used(at, 'receivers', p.receivers, receivers);
  const ps = used(at, 'processors', p.processors, processors);
  const es = used(at, 'exporters', p.exporters, exporters);
  p.exporters.forEach((id, i) => {
    if (FORWARD_EXPORTERS.has(id.split('/')[0]!))
      fail(ctx, `${at}.exporters[${i}]`, `${JSON.stringify(id)} forwards records; list it in a second pipeline (see docs/forwarding.md)`);
  });
  if (p.receivers.some((id) => id.split('/')[0] !== 'otlp')) fail(ctx, `${at}.receivers`, 'the audit pipeline takes an otlp receiver');
  const forward: ForwardPipelineConfig[] = [];
  let gateway: GatewayConfig | null = null;
  for (const fp of pipes) {
    if (fp.at === at) continue;
    if (fp.p.receivers.some((id) => id.split('/')[0] === 'sealtrail')) {
      // Gateway pipeline: sealed batches from other agents, verified, to sinks (docs/gateway.md).
      const grs = used(fp.at, 'receivers', fp.p.receivers, receivers);
      used(fp.at, 'processors', fp.p.processors, processors);
      const ges = used(fp.at, 'exporters', fp.p.exporters, exporters, true);
      if (gateway !== null || fp.p.receivers.length !== 1)
        fail(ctx, `${fp.at}.receivers`, 'exactly one pipeline may take the sealtrail receiver, and only it');
      if (fp.p.processors.length > 0) fail(ctx, `${fp.at}.processors`, 'must be [] (the gateway stores batches unchanged)');
      fp.p.exporters.forEach((id, i) => {
        if (['otlp', 'otlphttp', 'sealtrail'].includes(id.split('/')[0]!))
          fail(ctx, `${fp.at}.exporters[${i}]`, `${JSON.stringify(id)} cannot store batches for the gateway; use file, s3 or module sinks`);
      });
      gateway = { receiver: grs[0] as GatewayConfig['receiver'], exporters: ges as ExporterConfig[] };
      continue;
    }
    used(fp.at, 'receivers', fp.p.receivers, receivers);
    used(fp.at, 'processors', fp.p.processors, processors);
    const fes = used(fp.at, 'exporters', fp.p.exporters, exporters);
    if (fp.p.receivers.length !== 1 || fp.p.receivers[0] !== p.receivers[0])
      fail(ctx, `${fp.at}.receivers`, `must list exactly the audit pipeline's receiver (${p.receivers[0] ?? 'otlp'})`);
    const ftypes = fp.p.processors.map((id) => id.split('/')[0]);
    if (!(ftypes.length === 0 || (ftypes.length === 1 && ftypes[0] === 'non_audit'))) {
      fail(
        ctx,
        `${fp.at}.processors`,
        'a forwarding pipeline takes [non_audit] (records the audit filter did not keep) or [] (every record)',
      );
    }
    fp.p.exporters.forEach((id, i) => {
      if (!FORWARD_EXPORTERS.has(id.split('/')[0]!))
        fail(
          ctx,
          `${fp.at}.exporters[${i}]`,
          `${JSON.stringify(id)} archives sealed batches; only otlp and otlphttp exporters can forward records`,
        );
    });
    forward.push({ id: fp.name, select: ftypes.length === 0 ? 'all' : 'non_audit', exporters: fes as OtlpForwardExporterConfig[] });
  }
  // A defined but unused component is an error, not a warning: an operator who adds an
  // S3 exporter and forgets the pipeline would otherwise believe it is archiving.
  for (const [kind, defined] of [
    ['receivers', receivers],
    ['processors', processors],
    ['exporters', exporters],
  ] as const) {
    for (const id of defined.keys())
      if (!usedBy[kind].has(id))
        fail(ctx, `${kind}.${id}`, `defined but not used in ${pipes.length === 1 ? `${at}.${kind}` : 'any pipeline'}`);
  }
  if (p.receivers.length !== 1) fail(ctx, `${at}.receivers`, 'must list exactly one otlp receiver');
  const types = p.processors.map((id) => id.split('/')[0]);
  // audit_context (optional) checks only audit records, so it sits between the filter and the seal.
  const withContext = types.length === 3 && types[1] === 'audit_context';
  if (!(types.length === 2 || withContext) || types[0] !== 'audit_filter' || types[types.length - 1] !== 'seal') {
    fail(
      ctx,
      `${at}.processors`,
      'must be an audit_filter processor, optionally an audit_context processor, then a seal processor, e.g. [audit_filter, audit_context, seal]',
    );
  }
  if (ctx.errors.length > 0) return null;

  const otlp = rs[0] as OtlpReceiverConfig;
  // The envelope grows with the environment name; leave at least 1 KiB for the record itself.
  const overhead = entryOverheadBytes(agent.environment);
  if (otlp.maxEntrySize < overhead + 1024) {
    fail(
      ctx,
      `receivers.${p.receivers[0]}.max_entry_size`,
      `must be at least ${overhead + 1024} bytes (the entry envelope for this agent.environment takes ${overhead})`,
    );
  }
  const seal = ps[ps.length - 1] as SealConfig;
  const context = withContext ? (ps[1] as AuditContextConfig) : null;
  if (agent.buffer.maxBytes < seal.maxBytes) {
    fail(ctx, 'agent.buffer.max_size', `must be at least the seal max_bytes (${seal.maxBytes} bytes)`);
  }
  const sinks = es.map((e): ExporterConfig => {
    const x = e as RawExporter;
    return x.type === 'file' ? { ...x, directory: x.directory ?? path.join(agent.dataDir, 'archive') } : x;
  });
  const dirs = new Map<string, string>();
  for (const s of sinks) {
    if (s.type !== 'file') continue;
    const other = dirs.get(s.directory);
    if (other !== undefined) fail(ctx, `exporters.${s.id}.directory`, `${s.directory} is already used by exporters.${other}`);
    dirs.set(s.directory, s.id);
  }
  if (gateway !== null) {
    const g: GatewayConfig = gateway;
    g.exporters = g.exporters.map(
      (e) =>
        sinks.find((x) => x.id === e.id) ??
        (e.type === 'file' ? { ...e, directory: (e as { directory: string | null }).directory ?? path.join(agent.dataDir, 'archive') } : e),
    );
  }
  return { agent, receivers: otlp, filter: ps[0] as AuditFilterConfig, context, seal, exporters: sinks, forward, gateway };
}

/** Validates each "type[/name]" entry of a component section against its type's schema. */
function components(
  section: string,
  raw: unknown,
  registry: Record<string, (id: string) => Schema<unknown>>,
  ctx: Ctx,
): Map<string, unknown> | null {
  if (raw === undefined || raw === null) return (fail(ctx, section, 'is required'), null);
  if (!isMapping(raw)) return (fail(ctx, section, 'must be a mapping'), null);
  const out = new Map<string, unknown>();
  let ok = true;
  for (const [id, value] of Object.entries(raw)) {
    const at = join(section, id);
    const m = COMPONENT_ID_RE.exec(id);
    const make = m ? registry[m[1]!] : undefined;
    if (!m || make === undefined) {
      fail(ctx, at, `unknown ${section.replace(/s$/, '')} type (expected ${Object.keys(registry).join(', ')}, optionally as type/name)`);
      ok = false;
      continue;
    }
    const v = make(id)(value, at, ctx);
    if (v === INVALID) ok = false;
    else out.set(id, v);
  }
  return ok ? out : null;
}

type PipelineDef = { name: string; at: string; p: { receivers: string[]; processors: string[]; exporters: string[] } };

function pipelines(service: unknown, ctx: Ctx): PipelineDef[] | null {
  if (service === undefined || service === null) return (fail(ctx, 'service', 'is required'), null);
  const svc = obj<{ pipelines: Record<string, unknown> }>({
    pipelines: { schema: (v, at, c) => (isMapping(v) ? v : fail(c, at, 'must be a mapping')), required: true },
  })(service, 'service', ctx);
  if (svc === INVALID) return null;
  const names = Object.keys(svc.pipelines);
  if (names.length === 0) return (fail(ctx, 'service.pipelines', 'must define a logs pipeline (logs or logs/<name>)'), null);
  const out: PipelineDef[] = [];
  for (const name of names) {
    const at = `service.pipelines.${name}`;
    if (!/^logs(\/[A-Za-z0-9][A-Za-z0-9._-]{0,62})?$/.test(name)) {
      fail(ctx, at, 'only a logs pipeline is supported (logs or logs/<name>)');
      continue;
    }
    const p = pipelineSchema(svc.pipelines[name], at, ctx);
    if (p !== INVALID) out.push({ name, at, p });
  }
  return out.length === names.length ? out : null;
}

/** SHA-256 hex of the canonical JSON (sorted keys) of the config, secrets redacted. */
export function configDigest(config: Config): string {
  return createHash('sha256')
    .update(canonicalJson(redact(config)))
    .digest('hex');
}

export function redact(config: Config): Config {
  const r = structuredClone(config);
  const hide = (s: string | null) => (s === null ? null : '<redacted>');
  for (const p of [r.receivers.grpc, r.receivers.http]) if (p) p.auth.bearerToken = hide(p.auth.bearerToken);
  if (r.gateway) r.gateway.receiver.auth.bearerToken = hide(r.gateway.receiver.auth.bearerToken);
  for (const e of [...r.exporters, ...(r.gateway?.exporters ?? [])])
    if (e.type === 'sealtrail') e.auth.bearerToken = hide(e.auth.bearerToken);
  for (const f of r.forward) for (const e of f.exporters) for (const k of Object.keys(e.headers)) e.headers[k] = '<redacted>';
  for (const e of r.exporters) {
    if (e.type === 'module')
      for (const k of Object.keys(e.options)) if (/secret|token|password|credential|private/i.test(k)) e.options[k] = '<redacted>';
    if (e.type === 's3') {
      e.secretAccessKey = hide(e.secretAccessKey);
      e.sessionToken = hide(e.sessionToken);
    }
  }
  return r;
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
