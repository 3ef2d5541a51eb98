// Loads the YAML config: parse (yaml 2, YAML 1.2 core schema) -> ${env:...} expansion on
// string scalars -> schema walk with defaults -> pipeline checks -> digest. Every problem is
// reported as "<key path>: <message>"; all of them are thrown together, one per line, as a
// SealtrailError('CONFIG').
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { SealtrailError } from '../lib/errors.js';
import {
  COMPONENT_ID_RE,
  agentSection,
  auditFilterProcessor,
  fileExporter,
  otlpReceiver,
  s3Exporter,
  sealProcessor,
  type OtlpReceiverConfig,
  type RawExporter,
} from './components.js';
import { DEFAULT_CONFIG_YAML } from './default.js';
import { expandTree } from './env.js';
import { INVALID, fail, isMapping, join, list, obj, str, type Ctx, type Schema } from './schema.js';
import type { AuditFilterConfig, Config, ExporterConfig, LoadedConfig, SealConfig } from './types.js';

export const EMBEDDED_SOURCE = '<embedded default>';

const SECTIONS = ['agent', 'receivers', 'processors', 'exporters', 'service'] as const;

const RECEIVERS: Record<string, (id: string) => Schema<unknown>> = { otlp: () => otlpReceiver };
const PROCESSORS: Record<string, (id: string) => Schema<unknown>> = {
  audit_filter: () => auditFilterProcessor,
  seal: () => sealProcessor,
};
const EXPORTERS: Record<string, (id: string) => Schema<unknown>> = { file: fileExporter, s3: s3Exporter };

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
  const pipe = pipeline(tree.service, ctx);
  if (agent === INVALID || !receivers || !processors || !exporters || !pipe) return null;

  const { at, p } = pipe;
  const used = (kind: string, ids: string[], defined: Map<string, unknown>): unknown[] => {
    const out: unknown[] = [];
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) fail(ctx, `${at}.${kind}[${i}]`, `${JSON.stringify(id)} is listed twice`);
      else if (!defined.has(id)) fail(ctx, `${at}.${kind}[${i}]`, `${JSON.stringify(id)} is not defined in ${kind}`);
      else out.push(defined.get(id));
    });
    // A defined but unused component is an error, not a warning: an operator who adds an
    // S3 exporter and forgets the pipeline would otherwise believe it is archiving.
    for (const id of defined.keys()) if (!ids.includes(id)) fail(ctx, `${kind}.${id}`, `defined but not used in ${at}.${kind}`);
    return out;
  };
  const rs = used('receivers', p.receivers, receivers);
  const ps = used('processors', p.processors, processors);
  const es = used('exporters', p.exporters, exporters);
  if (p.receivers.length !== 1) fail(ctx, `${at}.receivers`, 'must list exactly one otlp receiver');
  const types = p.processors.map((id) => id.split('/')[0]);
  if (types.length !== 2 || types[0] !== 'audit_filter' || types[1] !== 'seal') {
    fail(ctx, `${at}.processors`, 'must be an audit_filter processor followed by a seal processor, e.g. [audit_filter, seal]');
  }
  if (ctx.errors.length > 0) return null;

  const seal = ps[1] as SealConfig;
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
  return { agent, receivers: rs[0] as OtlpReceiverConfig, filter: ps[0] as AuditFilterConfig, seal, exporters: sinks };
}

/** Validates each "type[/name]" entry of a component section against its type's schema. */
function components(
  section: string,
  raw: unknown,
  registry: Record<string, (id: string) => Schema<unknown>>,
  ctx: Ctx,
): Map<string, unknown> | null {
  if (raw === undefined || raw === null) return fail(ctx, section, 'is required'), null;
  if (!isMapping(raw)) return fail(ctx, section, 'must be a mapping'), null;
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

function pipeline(service: unknown, ctx: Ctx): { at: string; p: { receivers: string[]; processors: string[]; exporters: string[] } } | null {
  if (service === undefined || service === null) return fail(ctx, 'service', 'is required'), null;
  const svc = obj<{ pipelines: Record<string, unknown> }>({
    pipelines: { schema: (v, at, c) => (isMapping(v) ? v : fail(c, at, 'must be a mapping')), required: true },
  })(service, 'service', ctx);
  if (svc === INVALID) return null;
  const names = Object.keys(svc.pipelines);
  if (names.length !== 1) return fail(ctx, 'service.pipelines', `must define exactly one pipeline (logs or logs/<name>), found ${names.length}`), null;
  const name = names[0]!;
  const at = `service.pipelines.${name}`;
  if (!/^logs(\/[A-Za-z0-9][A-Za-z0-9._-]{0,62})?$/.test(name)) return fail(ctx, at, 'only a logs pipeline is supported (logs or logs/<name>)'), null;
  const p = pipelineSchema(svc.pipelines[name], at, ctx);
  return p === INVALID ? null : { at, p };
}

/** SHA-256 hex of the canonical JSON (sorted keys) of the config, secrets redacted. */
export function configDigest(config: Config): string {
  return createHash('sha256').update(canonicalJson(redact(config))).digest('hex');
}

export function redact(config: Config): Config {
  const r = structuredClone(config);
  const hide = (s: string | null) => (s === null ? null : '<redacted>');
  for (const p of [r.receivers.grpc, r.receivers.http]) if (p) p.auth.bearerToken = hide(p.auth.bearerToken);
  for (const e of r.exporters) {
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
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
