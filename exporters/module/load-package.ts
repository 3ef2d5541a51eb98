// Finds and imports a sink package named in the config (docs/sink-packages.md). A package name
// is looked up like Node does, in node_modules directories from the working directory upwards,
// then beside sealtrail itself; a path names a package directory or a module file. The entry
// point is the package's "exports" ("." -> import/default, or a string), else "main", else
// index.js.
import { existsSync, promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SealtrailError } from '../../lib/errors.js';
import type { ModuleExporterConfig } from '../../config/types.js';
import type { SinkFactory } from './module-sink.js';

function configError(cfg: ModuleExporterConfig, msg: string, cause?: unknown): SealtrailError {
  return new SealtrailError('CONFIG', `exporters.${cfg.id}.package: ${msg}`, cause === undefined ? {} : { cause });
}

function packageDirFor(name: string, from: string): string | null {
  let dir = from;
  for (;;) {
    const candidate = path.join(dir, 'node_modules', ...name.split('/'));
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

function exportTarget(exp: unknown): string | null {
  if (typeof exp === 'string') return exp;
  if (exp === null || typeof exp !== 'object' || Array.isArray(exp)) return null;
  const o = exp as Record<string, unknown>;
  if ('.' in o) return exportTarget(o['.']);
  for (const cond of ['import', 'node', 'default']) if (cond in o) return exportTarget(o[cond]);
  return null;
}

async function entryOfDir(dir: string): Promise<string> {
  const pj = path.join(dir, 'package.json');
  if (!existsSync(pj)) return path.join(dir, 'index.js');
  const meta = JSON.parse(await fs.readFile(pj, 'utf8')) as { exports?: unknown; main?: string };
  const target = exportTarget(meta.exports) ?? meta.main ?? 'index.js';
  return path.resolve(dir, target);
}

/** Resolves the package's entry file (absolute path). Throws CONFIG when it cannot be found. */
export async function resolvePackageEntry(cfg: ModuleExporterConfig): Promise<string> {
  if (path.isAbsolute(cfg.package)) {
    let st;
    try {
      st = statSync(cfg.package);
    } catch (err) {
      throw configError(cfg, `${cfg.package} does not exist`, err);
    }
    return st.isDirectory() ? entryOfDir(cfg.package) : cfg.package;
  }
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dir = packageDirFor(cfg.package, cfg.resolveFrom) ?? packageDirFor(cfg.package, here);
  if (dir === null)
    throw configError(
      cfg,
      `package ${JSON.stringify(cfg.package)} is not installed (looked in node_modules from ${cfg.resolveFrom} upwards and beside sealtrail); run npm install ${cfg.package}`,
    );
  return entryOfDir(dir);
}

/** Imports the package and returns its sink factory: `createSink` or the default export. */
export async function loadSinkFactory(cfg: ModuleExporterConfig): Promise<SinkFactory> {
  const entry = await resolvePackageEntry(cfg);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  } catch (err) {
    throw configError(cfg, `cannot load ${entry}: ${(err as Error).message}`, err);
  }
  const f = typeof mod.createSink === 'function' ? mod.createSink : typeof mod.default === 'function' ? mod.default : null;
  if (f === null) throw configError(cfg, `${entry} exports neither a createSink function nor a default function`);
  return f as SinkFactory;
}
