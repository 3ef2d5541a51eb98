// sealtrail keygen --name NAME [--dir DIR]: writes <dir>/<name>.key (mode 0600) and
// <dir>/<name>.pub and prints the verifier key. Never overwrites. Exit 0, 1 on failure, 2 usage.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errorMessage, isSealtrailError } from '../lib/errors.js';
import { writeKeyFiles } from '../agent/keys/signer.js';
import { AGENT_NAME_RE } from '../config/components.js';
import { UsageError, parseArgs } from './args.js';

const USAGE = 'usage: sealtrail keygen --name NAME [--dir DIR]   (DIR defaults to ./data/keys)';

export async function keygenCommand(argv: string[]): Promise<number> {
  let name: string;
  let dir: string;
  try {
    const { flags, positionals } = parseArgs(argv, { name: 'string', dir: 'string', help: 'boolean' });
    if (flags.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (flags.name === undefined) throw new UsageError('--name is required');
    // The name is also a file name, so it gets the agent-name rule (no '/', no '+', no spaces).
    if (!AGENT_NAME_RE.test(flags.name))
      throw new UsageError(`--name ${JSON.stringify(flags.name)} must match [A-Za-z0-9][A-Za-z0-9._-]{0,62}`);
    name = flags.name;
    dir = path.resolve(flags.dir ?? './data/keys');
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`sealtrail keygen: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  // Check both files first so that an existing .pub does not leave a fresh orphan .key behind;
  // writeKeyFiles still creates exclusively, so a race cannot overwrite either.
  for (const f of [`${name}.key`, `${name}.pub`]) {
    const p = path.join(dir, f);
    if (await exists(p)) {
      process.stderr.write(`sealtrail keygen: ${p} already exists; refusing to overwrite a key\n`);
      return 1;
    }
  }
  try {
    const { keyPath, pubPath, verifierKey } = await writeKeyFiles(dir, name);
    process.stdout.write(`signer key:   ${keyPath} (mode 0600, keep it secret)\nverifier key: ${pubPath}\n${verifierKey}\n`);
    return 0;
  } catch (err) {
    if (!isSealtrailError(err, 'KEY') && !(err as NodeJS.ErrnoException).code) throw err;
    process.stderr.write(`sealtrail keygen: ${errorMessage(err)}\n`);
    return 1;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}
