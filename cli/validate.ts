// sealtrail validate [--config FILE | FILE]: checks a config file (or, with neither, the
// embedded default) without starting anything. Exit 0 valid, 1 invalid, 2 usage error.
import { errorMessage, isSealtrailError } from '../lib/errors.js';
import { loadConfig } from '../config/load.js';
import { UsageError, parseArgs } from './args.js';

const USAGE = 'usage: sealtrail validate [--config FILE | FILE]';

export async function validateCommand(argv: string[]): Promise<number> {
  let file: string | null;
  try {
    const { flags, positionals } = parseArgs(argv, { config: 'string', help: 'boolean' });
    if (flags.help) {
      process.stdout.write(`${USAGE}\nChecks a config file; without one, checks the embedded default.\n`);
      return 0;
    }
    if (positionals.length > 1 || (positionals.length === 1 && flags.config !== undefined)) {
      throw new UsageError('give one config file, either as --config FILE or as FILE');
    }
    file = flags.config ?? positionals[0] ?? null;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`sealtrail validate: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  try {
    const loaded = await loadConfig(file);
    process.stdout.write(`config OK: ${loaded.source} (digest ${loaded.digest})\n`);
    return 0;
  } catch (err) {
    if (!isSealtrailError(err, 'CONFIG')) throw err;
    process.stderr.write(`config invalid: ${file ?? '<embedded default>'}\n${errorMessage(err)}\n`);
    return 1;
  }
}
