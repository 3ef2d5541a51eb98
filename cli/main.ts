// The command dispatcher: the only place that exits the process.
import { runCommand } from './run.js';
import { validateCommand } from './validate.js';
import { keygenCommand } from './keygen.js';
import { verifyCommand } from './verify.js';
import { proveCommand, consistencyCommand, verifyProofCommand } from './prove.js';
import { catCommand } from './cat.js';

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  run: runCommand,
  validate: validateCommand,
  keygen: keygenCommand,
  verify: verifyCommand,
  prove: proveCommand,
  consistency: consistencyCommand,
  'verify-proof': verifyProofCommand,
  cat: catCommand,
};

const USAGE = `usage: sealtrail <command> [options]

commands:
  run [--config FILE]                          run the agent (embedded default config without --config)
  validate --config FILE                       check a config file
  keygen --name NAME [--dir DIR]               write a signer key (0600) and its verifier key
  verify ARCHIVE --key VKEY [--checkpoint F]   verify an archive (exit 0 valid, 1 tampered or lost, 2 usage/IO; --live)
  prove ARCHIVE --seq N [--size M]             print an RFC 9162 inclusion proof
  consistency ARCHIVE --from M --to N          print an RFC 9162 consistency proof
  verify-proof PROOF --key VKEY                check a proof against its signed checkpoint
  cat ARCHIVE [--format table|json|csv|raw] [--actor A] [--env E] [--from T] ...
                                               read an archive: who did what, when, where
`;

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  const fn = COMMANDS[cmd];
  if (!fn) {
    process.stderr.write(`sealtrail: unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
    return 2;
  }
  return fn(rest);
}

main().then(
  (code) => {
    process.exitCode = code;
    // The agent leaves nothing running after shutdown; other commands are done.
    if (process.argv[2] === 'run') setTimeout(() => process.exit(code), 100).unref();
  },
  (err) => {
    process.stderr.write(`sealtrail: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
