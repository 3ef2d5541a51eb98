// sealtrail verify ARCHIVE --key VKEY [--key …] [--checkpoint FILE]… [--live] [--json]
// A thin wrapper over verify/verifier.ts. Exit 0 valid, 1 tampered, lost or invalid, 2 usage
// or I/O (including a path that holds no archive, and a signer key given as --key).
import { promises as fs } from 'node:fs';
import { NoteError, parseVerifierKey, type VerifierKey } from '../verify/note.js';
import { isVerifyError } from '../verify/errors.js';
import { openArchive } from '../verify/open-archive.js';
import { verifyArchive } from '../verify/verifier.js';
import type { Progress, Report } from '../verify/report.js';
import { UsageError, parseArgs } from './args.js';

const USAGE =
  'usage: sealtrail verify ARCHIVE --key VKEY [--key VKEY]... [--checkpoint FILE]... [--live] [--json]\n  VKEY is a verifier key file (.pub) or the key text <name>+<id>+<base64>\n  --live: the agent is still running; a chain without a stop entry is a warning';

/** Reads --key values: each a file holding one key per line, or the key text itself. */
export async function loadVerifierKeys(values: readonly string[]): Promise<VerifierKey[]> {
  if (values.length === 0) throw new UsageError('at least one --key is required');
  const keys: VerifierKey[] = [];
  for (const v of values) {
    if (v.startsWith('PRIVATE+KEY+')) throw new UsageError(`--key: this is the signer key (secret); pass the verifier key (.pub) instead`);
    let text: string;
    if (/^[^\s+/\\]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+\s*$/.test(v))
      text = v; // looks like key text
    else {
      try {
        text = await fs.readFile(v, 'utf8');
      } catch (err) {
        throw new UsageError(`--key ${v}: not a verifier key and not a readable file (${(err as Error).message})`);
      }
    }
    for (const line of text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))) {
      if (line.startsWith('PRIVATE+KEY+')) {
        const pub = /\.key$/.test(v) ? `, e.g. ${v.replace(/\.key$/, '.pub')}` : '';
        throw new UsageError(`--key ${v}: this is the signer key (secret); pass the verifier key (.pub) instead${pub}`);
      }
      try {
        keys.push(parseVerifierKey(line));
      } catch (err) {
        if (err instanceof NoteError) throw new UsageError(`--key ${v}: ${err.message}`);
        throw err;
      }
    }
  }
  return keys;
}

export async function verifyCommand(argv: string[]): Promise<number> {
  let archive: string;
  let keys: VerifierKey[];
  const trusted: string[] = [];
  let json: boolean;
  let live: boolean;
  try {
    const { flags, positionals } = parseArgs(argv, { key: 'list', checkpoint: 'list', json: 'boolean', live: 'boolean', help: 'boolean' });
    if (flags.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (positionals.length !== 1)
      throw new UsageError(positionals.length === 0 ? 'ARCHIVE is required' : `unexpected argument ${positionals[1]}`);
    archive = positionals[0]!;
    json = flags.json;
    live = flags.live;
    keys = await loadVerifierKeys(flags.key);
    for (const f of flags.checkpoint) {
      try {
        trusted.push(await fs.readFile(f, 'utf8'));
      } catch (err) {
        throw new UsageError(`--checkpoint ${f}: ${(err as Error).message}`);
      }
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`sealtrail verify: ${err.message}\n${USAGE}\n`);
    return 2;
  }

  const progress = process.stderr.isTTY ? new ProgressLine() : null;
  let report: Report;
  try {
    const reader = await openArchive(archive);
    report = await verifyArchive(reader, { keys, trusted, live, onProgress: progress ? (p) => progress.update(p) : undefined });
  } catch (err) {
    progress?.clear();
    if (isVerifyError(err)) {
      process.stderr.write(`sealtrail verify: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  progress?.clear();
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : humanReport(report));
  return report.ok ? 0 : 1;
}

export function humanReport(r: Report): string {
  const out: string[] = [`archive ${r.location}`];
  for (const o of r.origins) {
    out.push(`  origin ${o.origin}: ${o.entries} entries in ${o.batches} batches, root ${o.root ?? '(not computable)'}`);
  }
  for (const p of r.problems) out.push(`PROBLEM ${p.code} ${p.object}${p.seq === undefined ? '' : ` seq ${p.seq}`}: ${p.message}`);
  for (const w of r.warnings) out.push(`warning ${w.code} ${w.object}${w.seq === undefined ? '' : ` seq ${w.seq}`}: ${w.message}`);
  const n = (k: number, what: string): string => `${k} ${what}${k === 1 ? '' : 's'}`;
  out.push(
    r.ok
      ? `OK: the archive verifies (${n(r.warnings.length, 'warning')})`
      : `FAILED: ${n(r.problems.length, 'problem')}, ${n(r.warnings.length, 'warning')}`,
  );
  return out.join('\n') + '\n';
}

/** A single self-overwriting stderr line, at most a few times a second. */
class ProgressLine {
  private last = 0;
  private shown = false;

  update(p: Progress): void {
    const now = Date.now();
    if (now - this.last < 250) return;
    this.last = now;
    this.shown = true;
    const mb = (p.bytes / 1e6).toFixed(1);
    process.stderr.write(`\r\x1b[Kverifying ${p.entries} entries, ${mb} MB — ${p.object}`.slice(0, (process.stderr.columns ?? 120) + 4));
  }

  clear(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
  }
}
