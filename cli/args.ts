// A tiny argv parser shared by every command: --flag value, --flag=value, repeatable (list)
// flags, booleans and positional arguments; "--" ends the flags. Anything unknown or
// malformed throws UsageError, which commands turn into exit code 2.

export type FlagKind = 'string' | 'boolean' | 'list';
export type FlagSpec = Readonly<Record<string, FlagKind>>;

export type ParsedFlags<S extends FlagSpec> = {
  [K in keyof S]: S[K] extends 'boolean' ? boolean : S[K] extends 'list' ? string[] : string | undefined;
};

export interface ParsedArgs<S extends FlagSpec> {
  flags: ParsedFlags<S>;
  positionals: string[];
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseArgs<S extends FlagSpec>(argv: readonly string[], spec: S): ParsedArgs<S> {
  const flags: Record<string, string | boolean | string[] | undefined> = {};
  for (const [name, kind] of Object.entries(spec)) flags[name] = kind === 'boolean' ? false : kind === 'list' ? [] : undefined;
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option ${arg}`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (kind === undefined) throw new UsageError(`unknown option --${name}`);
    if (kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
      flags[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    if (value === undefined) throw new UsageError(`option --${name} needs a value`);
    if (kind === 'list') (flags[name] as string[]).push(value);
    else if (flags[name] !== undefined) throw new UsageError(`option --${name} given twice`);
    else flags[name] = value;
  }
  return { flags: flags as ParsedFlags<S>, positionals };
}
