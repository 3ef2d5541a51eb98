// A small declarative schema walker for the YAML config. Each schema checks one value, coerces
// what the docs allow (numbers and booleans given as strings, sizes, durations) and reports
// problems as "<key path>: <message>" into ctx.errors, so one run lists every mistake.
// Unknown keys are errors: a misspelt option silently falling back to its default is how an
// audit pipeline ends up not doing what its operator thinks.
import path from 'node:path';
import { parseDuration, parseSize } from './units.js';

export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;

export interface Ctx {
  errors: string[];
  cwd: string;
}

export type Schema<T> = (v: unknown, at: string, ctx: Ctx) => T | Invalid;

function fail(ctx: Ctx, at: string, msg: string): Invalid {
  ctx.errors.push(`${at || '<root>'}: ${msg}`);
  return INVALID;
}

export function join(at: string, key: string): string {
  return at ? `${at}.${key}` : key;
}

export function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function str(opts: { pattern?: RegExp; hint?: string; nonEmpty?: boolean } = {}): Schema<string> {
  return (v, at, ctx) => {
    if (typeof v !== 'string') return fail(ctx, at, 'must be a string');
    if (opts.nonEmpty && v === '') return fail(ctx, at, 'must not be empty');
    if (opts.pattern && !opts.pattern.test(v)) return fail(ctx, at, `${JSON.stringify(v)} ${opts.hint ?? `must match ${opts.pattern}`}`);
    return v;
  };
}

/** "" means "not set": lets ${env:X:-} switch an option off. */
export function emptyAsNull<T>(inner: Schema<T>): Schema<T | null> {
  return (v, at, ctx) => (v === '' ? null : inner(v, at, ctx));
}

export function int(opts: { min?: number; max?: number } = {}): Schema<number> {
  return (v, at, ctx) => {
    const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) return fail(ctx, at, 'must be an integer');
    return range(n, opts, at, ctx);
  };
}

export function num(opts: { min?: number; max?: number } = {}): Schema<number> {
  return (v, at, ctx) => {
    const n = typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n)) return fail(ctx, at, 'must be a number');
    return range(n, opts, at, ctx);
  };
}

function range(n: number, opts: { min?: number; max?: number }, at: string, ctx: Ctx): number | Invalid {
  if (opts.min !== undefined && n < opts.min) return fail(ctx, at, `must be at least ${opts.min}`);
  if (opts.max !== undefined && n > opts.max) return fail(ctx, at, `must be at most ${opts.max}`);
  return n;
}

export function bool(): Schema<boolean> {
  return (v, at, ctx) => {
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    return fail(ctx, at, 'must be true or false');
  };
}

export function size(opts: { min?: number } = {}): Schema<number> {
  return (v, at, ctx) => {
    const n = parseSize(v);
    if (n === null) return fail(ctx, at, `${JSON.stringify(v)} is not a size (use bytes or a unit: 512KiB, 4MiB, 1GiB, 10MB)`);
    return range(n, opts, at, ctx);
  };
}

export function duration(opts: { min?: number } = {}): Schema<number> {
  return (v, at, ctx) => {
    const n = parseDuration(v);
    if (n === null) return fail(ctx, at, `${JSON.stringify(v)} is not a duration (use 500ms, 5s, 2m, 1h)`);
    if (opts.min !== undefined && n < opts.min) return fail(ctx, at, `must be at least ${opts.min}ms`);
    return n;
  };
}

export function oneOf<const T extends string>(values: readonly T[]): Schema<T> {
  return (v, at, ctx) =>
    typeof v === 'string' && (values as readonly string[]).includes(v) ? (v as T) : fail(ctx, at, `must be one of ${values.join(', ')}`);
}

/** host:port with port 0..65535; host is a name, IPv4 address or [IPv6] address. */
export function endpoint(): Schema<string> {
  return (v, at, ctx) => {
    const m = typeof v === 'string' ? /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(v) : null;
    if (!m || Number(m[2]) > 65535) return fail(ctx, at, `${JSON.stringify(v)} is not host:port (e.g. 127.0.0.1:4317)`);
    return v as string;
  };
}

/** A file system path, resolved against the working directory. */
export function filePath(): Schema<string> {
  return (v, at, ctx) => {
    if (typeof v !== 'string' || v === '') return fail(ctx, at, 'must be a non-empty path');
    if (v.includes('\0')) return fail(ctx, at, 'must not contain NUL');
    return path.resolve(ctx.cwd, v);
  };
}

export function list<T>(item: Schema<T>, opts: { minItems?: number } = {}): Schema<T[]> {
  return (v, at, ctx) => {
    if (!Array.isArray(v)) return fail(ctx, at, 'must be a list');
    if (opts.minItems !== undefined && v.length < opts.minItems) return fail(ctx, at, `must list at least ${opts.minItems} item(s)`);
    const out = v.map((x, i) => item(x, `${at}[${i}]`, ctx));
    return out.includes(INVALID) ? INVALID : (out as T[]);
  };
}

export interface Field {
  schema: Schema<unknown>;
  /** Raw (YAML-level) value used when the key is absent or null; run through `schema`. */
  default?: unknown;
  required?: boolean;
  /** Key present with a null value means "on, with defaults" (Collector style); absent = null. */
  nullIsEmpty?: boolean;
  /** Output property name; defaults to the camelCase of the key. */
  to?: string;
}

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * A mapping with known keys. Absent/null keys take their default, else null. `check` runs
 * only when every field is valid, for rules that span fields.
 */
export function obj<T>(fields: Record<string, Field>, check?: (out: T, at: string, ctx: Ctx) => void): Schema<T> {
  return (v, at, ctx) => {
    if (v === null || v === undefined) v = {};
    if (!isMapping(v)) return fail(ctx, at, 'must be a mapping');
    let ok = true;
    for (const key of Object.keys(v)) {
      if (!Object.hasOwn(fields, key)) {
        fail(ctx, join(at, key), `unknown key (expected one of ${Object.keys(fields).join(', ')})`);
        ok = false;
      }
    }
    const out: Record<string, unknown> = {};
    for (const [key, f] of Object.entries(fields)) {
      const raw = v[key];
      const where = join(at, key);
      let val: unknown;
      if (raw === undefined || raw === null) {
        if (raw === null && f.nullIsEmpty) val = f.schema({}, where, ctx);
        else if (f.required) val = fail(ctx, where, 'is required');
        else if ('default' in f) val = f.schema(f.default, where, ctx);
        else val = null;
      } else {
        val = f.schema(raw, where, ctx);
      }
      if (val === INVALID) ok = false;
      out[f.to ?? camel(key)] = val;
    }
    if (!ok) return INVALID;
    const before = ctx.errors.length;
    check?.(out as T, at, ctx);
    return ctx.errors.length > before ? INVALID : (out as T);
  };
}

/** Adds a check or a conversion after a schema succeeded; `fn` may call fail via ctx.errors. */
export function then<A, B>(inner: Schema<A>, fn: (a: A, at: string, ctx: Ctx) => B | Invalid): Schema<B> {
  return (v, at, ctx) => {
    const a = inner(v, at, ctx);
    return a === INVALID ? INVALID : fn(a, at, ctx);
  };
}

export { fail };
