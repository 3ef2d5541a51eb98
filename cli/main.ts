// The command dispatcher: the only place that exits the process. It also owns --version and
// --help, so every subcommand answers them the same way (see docs/cli.md for exit codes).
import { runCommand } from './run.js';
import { validateCommand } from './validate.js';
import { keygenCommand } from './keygen.js';
import { verifyCommand } from './verify.js';
import { proveCommand, consistencyCommand, verifyProofCommand } from './prove.js';
import { catCommand } from './cat.js';
import { AGENT_VERSION } from '../agent/own-events.js';

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

const EXIT_CODES = 'exit codes: 0 ok, 1 failed (see above), 2 usage or I/O error';

// One help text per command, all in one layout: usage line, what it does, options, exit codes.
const HELP: Record<string, string> = {
  run: `usage: sealtrail run [--config FILE]

Runs the agent until SIGTERM or SIGINT, then shuts down gracefully: stops accepting, seals
the open batch and delivers it, within agent.shutdown_timeout.

options:
  --config FILE, -c FILE   the YAML config (default: the embedded default config)

exit codes: 0 stopped gracefully, 1 start-up failed or the shutdown overran its bound
(shutdown_timeout + 25 s), 2 usage error or invalid config
`,
  validate: `usage: sealtrail validate [--config FILE | FILE]

Checks a config file (every error names its key path); without one, the embedded default.

options:
  --config FILE   the YAML config to check

exit codes: 0 valid, 1 invalid, 2 usage error
`,
  keygen: `usage: sealtrail keygen --name NAME [--dir DIR]

Writes the signer key DIR/NAME.key (mode 0600) and the verifier key DIR/NAME.pub, and prints
the verifier key. Never overwrites a key.

options:
  --name NAME   the key name (also the agent name in the chain origin)
  --dir DIR     where to write (default: ./data/keys)

exit codes: 0 written, 1 failed (for example the key exists), 2 usage error
`,
  verify: `usage: sealtrail verify ARCHIVE --key VKEY [--key VKEY]... [--checkpoint FILE]... [--live] [--json]

Verifies an archive: chain links, leaf hashes, Merkle roots, signatures, sequence continuity,
consistency with trusted checkpoints and with every signed checkpoint found in the archive,
chains that end without a stop entry, and losses a later chain records. The report names the
object and the seq.

options:
  --key VKEY          a verifier key file (.pub), or the key text <name>+<id>+<base64> (repeatable)
  --checkpoint FILE   a trusted checkpoint the archive must be consistent with (repeatable)
  --live              the agent is still running: a chain without a stop entry is a warning
  --json              print the report as JSON

exit codes: 0 valid, 1 tampered, lost or invalid, 2 usage or I/O error (including a path that holds no archive)
`,
  prove: `usage: sealtrail prove ARCHIVE --seq N [--size M] [--origin ORIGIN]

Prints an RFC 9162 inclusion proof (JSON) of entry N in the tree of checkpointed size M.

options:
  --seq N           the entry
  --size M          a checkpointed tree size (default: the latest)
  --origin ORIGIN   the chain, when the archive holds several

exit codes: 0 printed, 1 invalid archive, 2 usage or I/O error
`,
  consistency: `usage: sealtrail consistency ARCHIVE --from M --to N [--origin ORIGIN]

Prints an RFC 9162 consistency proof (JSON) between two checkpointed tree sizes.

options:
  --from M          the older checkpointed size
  --to N            the newer checkpointed size
  --origin ORIGIN   the chain, when the archive holds several

exit codes: 0 printed, 1 invalid archive, 2 usage or I/O error
`,
  'verify-proof': `usage: sealtrail verify-proof PROOF.json --key VKEY [--key VKEY]... [--json]

Checks a proof printed by prove or consistency against its signed checkpoint.

options:
  --key VKEY   a verifier key file, or the key text (repeatable)
  --json       print the result as JSON

exit codes: 0 valid, 1 invalid proof, 2 usage or I/O error
`,
  cat: `usage: sealtrail cat ARCHIVE [--format table|json|csv|raw] [--receive-time] [--config FILE]
                     [--from TIME] [--to TIME] [--actor A] [--action A] [--resource R] [--result R]
                     [--env E] [--service S] [--where KEY=VALUE]... [--origin ORIGIN]

Prints the records of an archive, oldest first, like journalctl: the record's own time,
environment, service, actor, action, resource and result (docs/audit-context.md).

options:
  --format FORMAT          table (default), json (one object per line), csv (RFC 4180), raw (the stored lines; --json is the same)
  --receive-time           add the agent's receive time as a column
  --config FILE            resolve actor, action, ... through this config's audit_context processor
  --from TIME, --to TIME   bound the record's own time: RFC 3339, a date, "now", "today", "yesterday", or relative (15m, 2h, 3d, 1w ago)
  --actor, --action, --resource, --result, --env, --service VALUE   exact match on that column
  --where KEY=VALUE        a record attribute, or event_name, severity, scope, seq, env, resource.<attribute> (repeatable)
  --origin ORIGIN          only this chain

exit codes: 0 printed, 1 unreadable lines were skipped, 2 usage or I/O error
`,
};

const USAGE = `usage: sealtrail <command> [options]

commands:
  run [--config FILE]                          run the agent (embedded default config without --config)
  validate --config FILE                       check a config file
  keygen --name NAME [--dir DIR]               write a signer key (0600) and its verifier key
  verify ARCHIVE --key VKEY [--checkpoint F]   verify an archive (--live while the agent runs)
  prove ARCHIVE --seq N [--size M]             print an RFC 9162 inclusion proof
  consistency ARCHIVE --from M --to N          print an RFC 9162 consistency proof
  verify-proof PROOF --key VKEY                check a proof against its signed checkpoint
  cat ARCHIVE [--format table|json|csv|raw] [--actor A] [--env E] [--from T] ...
                                               read an archive: who did what, when, where
  version                                      print the version (also --version)

\`sealtrail <command> --help\` describes a command. ${EXIT_CODES}.
`;

/** True when argv asks for help before any "--" (after it, "--help" is a positional). */
function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const topic = cmd === 'help' ? rest[0] : undefined;
    if (topic !== undefined && Object.hasOwn(HELP, topic)) {
      process.stdout.write(HELP[topic]!);
      return 0;
    }
    process.stdout.write(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
    process.stdout.write(`sealtrail ${AGENT_VERSION}\n`);
    return 0;
  }
  const fn = COMMANDS[cmd];
  if (!fn) {
    process.stderr.write(`sealtrail: unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
    return 2;
  }
  if (wantsHelp(rest)) {
    process.stdout.write(HELP[cmd]!);
    return 0;
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
