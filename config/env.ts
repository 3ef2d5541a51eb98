// ${env:VAR} expansion, applied to string scalars *after* YAML parsing so that a variable's
// value can never add YAML structure (keys, lists, anchors) to the config.
//
//   ${env:VAR}            value of VAR; an error when VAR is unset (set-but-empty is fine)
//   ${env:VAR:-default}   value of VAR, or `default` when VAR is unset or empty (as in sh);
//                         the default may be empty and may not contain '}'
//   $$                    a literal '$' (the Collector's escape)
//   ${anything else}      an error: "${VAR}" without "env:" is refused rather than left as
//                         text, so a forgotten prefix cannot ship a literal "${TOKEN}"
//   $ followed by any other character (or at the end) is kept as is: "pa$s" stays "pa$s".
// Expansion is one pass: a variable's value is never expanded again, and keys are not expanded.

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Expands one string; problems are described without the key path (the caller adds it). */
export function expandString(s: string, env: NodeJS.ProcessEnv): { value: string; errors: string[] } {
  const errors: string[] = [];
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c !== '$' || i + 1 >= s.length) {
      out += c;
      i++;
      continue;
    }
    const next = s[i + 1]!;
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next !== '{') {
      out += c;
      i++;
      continue;
    }
    const end = s.indexOf('}', i + 2);
    if (end < 0) {
      errors.push(`unterminated "\${" (write $$ for a literal $)`);
      out += s.slice(i);
      break;
    }
    const body = s.slice(i + 2, end);
    i = end + 1;
    if (!body.startsWith('env:')) {
      errors.push(`unsupported substitution "\${${body}}" (use \${env:VAR} or \${env:VAR:-default}; $$ for a literal $)`);
      continue;
    }
    const spec = body.slice(4);
    const sep = spec.indexOf(':-');
    const name = sep < 0 ? spec : spec.slice(0, sep);
    if (!VAR_NAME.test(name)) {
      errors.push(`invalid environment variable name ${JSON.stringify(name)} in "\${${body}}"`);
      continue;
    }
    const val = env[name];
    if (sep >= 0) {
      out += val === undefined || val === '' ? spec.slice(sep + 2) : val;
    } else if (val === undefined) {
      errors.push(`environment variable ${name} is not set (use \${env:${name}:-default} to give a default)`);
    } else {
      out += val;
    }
  }
  return { value: out, errors };
}

/** Returns a copy of a parsed YAML tree with every string scalar expanded; errors name key paths. */
export function expandTree(node: unknown, env: NodeJS.ProcessEnv, path: string, errors: string[]): unknown {
  if (typeof node === 'string') {
    const r = expandString(node, env);
    for (const e of r.errors) errors.push(`${path || '<root>'}: ${e}`);
    return r.value;
  }
  if (Array.isArray(node)) return node.map((v, i) => expandTree(v, env, `${path}[${i}]`, errors));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      // defineProperty: a YAML key "__proto__" must stay a plain (and later rejected) key.
      Object.defineProperty(out, k, {
        value: expandTree(v, env, path ? `${path}.${k}` : k, errors),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return node;
}
