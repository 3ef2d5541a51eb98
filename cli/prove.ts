// sealtrail prove ARCHIVE --seq N [--size M] [--origin O]
// sealtrail consistency ARCHIVE --from M --to N [--origin O]
// sealtrail verify-proof PROOF.json --key VKEY [--key …]
// Thin wrappers over verify/proof-doc.ts. Exit 0 ok, 1 invalid proof or archive, 2 usage/I/O.
import { promises as fs } from 'node:fs';
import { isVerifyError } from '../verify/errors.js';
import { openArchive } from '../verify/open-archive.js';
import { buildConsistencyProof, buildInclusionProof, verifyProofDoc } from '../verify/proof-doc.js';
import { UsageError, parseArgs } from './args.js';
import { loadVerifierKeys } from './verify.js';

const PROVE_USAGE = 'usage: sealtrail prove ARCHIVE --seq N [--size M] [--origin ORIGIN]   (M: a checkpointed size, default the latest)';
const CONSISTENCY_USAGE = 'usage: sealtrail consistency ARCHIVE --from M --to N [--origin ORIGIN]   (both checkpointed sizes)';
const VERIFY_PROOF_USAGE = 'usage: sealtrail verify-proof PROOF.json --key VKEY [--key VKEY]... [--json]';

function count(flag: string, v: string | undefined, required: boolean): number | undefined {
  if (v === undefined) {
    if (required) throw new UsageError(`${flag} is required`);
    return undefined;
  }
  if (!/^(0|[1-9][0-9]{0,15})$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw new UsageError(`${flag} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

async function runProofCommand(cmd: string, usage: string, fn: () => Promise<unknown>): Promise<number> {
  try {
    process.stdout.write(`${JSON.stringify(await fn(), null, 2)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`sealtrail ${cmd}: ${err.message}\n${usage}\n`);
      return 2;
    }
    if (isVerifyError(err)) {
      process.stderr.write(`sealtrail ${cmd}: ${err.message}\n`);
      // A damaged archive is an invalid one (1); bad arguments or unreadable input are 2.
      return err.code === 'ARCHIVE_INVALID' ? 1 : 2;
    }
    throw err;
  }
}

export async function proveCommand(argv: string[]): Promise<number> {
  return runProofCommand('prove', PROVE_USAGE, async () => {
    const { flags, positionals } = parseArgs(argv, { seq: 'string', size: 'string', origin: 'string' });
    if (positionals.length !== 1) throw new UsageError('ARCHIVE is required (exactly one)');
    const seq = count('--seq', flags.seq, true)!;
    const size = count('--size', flags.size, false);
    const reader = await openArchive(positionals[0]!);
    return buildInclusionProof(reader, { seq, size, origin: flags.origin });
  });
}

export async function consistencyCommand(argv: string[]): Promise<number> {
  return runProofCommand('consistency', CONSISTENCY_USAGE, async () => {
    const { flags, positionals } = parseArgs(argv, { from: 'string', to: 'string', origin: 'string' });
    if (positionals.length !== 1) throw new UsageError('ARCHIVE is required (exactly one)');
    const from = count('--from', flags.from, true)!;
    const to = count('--to', flags.to, true)!;
    const reader = await openArchive(positionals[0]!);
    return buildConsistencyProof(reader, { from, to, origin: flags.origin });
  });
}

export async function verifyProofCommand(argv: string[]): Promise<number> {
  let doc: unknown;
  let keys;
  let json: boolean;
  try {
    const { flags, positionals } = parseArgs(argv, { key: 'list', json: 'boolean' });
    if (positionals.length !== 1) throw new UsageError('PROOF is required (exactly one; "-" reads stdin)');
    json = flags.json;
    keys = await loadVerifierKeys(flags.key);
    let text: string;
    try {
      text = positionals[0] === '-' ? await readStdin() : await fs.readFile(positionals[0]!, 'utf8');
    } catch (err) {
      process.stderr.write(`sealtrail verify-proof: cannot read ${positionals[0]}: ${(err as Error).message}\n`);
      return 2;
    }
    try {
      doc = JSON.parse(text);
    } catch (err) {
      // The proof's content is what is being judged: unparsable is invalid (1), not a usage error.
      return report(json, { ok: false, reason: `proof is not valid JSON: ${(err as Error).message}` });
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`sealtrail verify-proof: ${err.message}\n${VERIFY_PROOF_USAGE}\n`);
    return 2;
  }
  return report(json, verifyProofDoc(doc, keys));
}

function report(json: boolean, r: ReturnType<typeof verifyProofDoc>): number {
  if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else process.stdout.write(r.ok ? `OK: ${r.detail}\n` : `INVALID: ${r.reason}\n`);
  return r.ok ? 0 : 1;
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8');
}
