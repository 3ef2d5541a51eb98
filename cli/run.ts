// `sealtrail run [--config FILE]`: runs the agent until SIGTERM/SIGINT, then shuts down
// gracefully (stop accepting, seal, drain sinks up to agent.shutdown_timeout).
import { Agent } from '../agent/agent.js';
import { loadConfig } from '../config/load.js';
import { stderrLogger } from '../lib/log.js';
import { errorMessage, isSealtrailError } from '../lib/errors.js';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { applyProcessTuning } from './process-tuning.js';

export async function runCommand(argv: string[]): Promise<number> {
  let config: string | undefined;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' } },
      strict: true,
      allowPositionals: false,
    });
    config = values.config;
  } catch (err) {
    process.stderr.write(`sealtrail run: ${errorMessage(err)}\nusage: sealtrail run [--config FILE]\n`);
    return 2;
  }
  applyProcessTuning();
  const log = stderrLogger();
  // Keep stderr pure JSON: process warnings (e.g. the AWS SDK's Node version notice) become log lines.
  process.removeAllListeners('warning');
  process.on('warning', (w) => log('warn', 'process warning', { name: w.name, warning: w.message }));
  grpc.setLogger({ error: (...args: unknown[]) => log('warn', 'grpc-js', { detail: args.map(String).join(' ') }) });
  let loaded;
  try {
    loaded = await loadConfig(config ?? null);
  } catch (err) {
    process.stderr.write(`sealtrail run: invalid configuration:\n${errorMessage(err)}\n`);
    return 2;
  }
  const agent = new Agent(loaded, log);
  let signalled: string | null = null;
  let exitCode = 0;
  const done = new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      if (signalled) return;
      signalled = sig;
      log('info', 'shutting down', { signal: sig });
      // A shutdown that overruns its bound is abandoned: everything acknowledged is already on
      // disk, so exiting now is no worse than kill -9, and an agent that never exits is worse.
      const bound = agent.shutdownBoundMs();
      const overrun = setTimeout(() => {
        log('error', 'shutdown overran its bound; exiting without finishing it', { bound_ms: bound, stuck_in: agent.shutdownStage });
        exitCode = 1;
        resolve();
      }, bound);
      agent.shutdown(sig).then(
        () => {
          clearTimeout(overrun);
          resolve();
        },
        (err) => {
          clearTimeout(overrun);
          log('error', 'shutdown failed', { error: errorMessage(err) });
          resolve();
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  try {
    await agent.start();
  } catch (err) {
    log('error', 'start-up failed', { error: errorMessage(err), code: isSealtrailError(err) ? err.code : undefined });
    await agent.shutdown('start-up failed').catch(() => undefined);
    return 1;
  }
  await done;
  return exitCode;
}
