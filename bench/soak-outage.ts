// `npm run soak:outage`: the sink outage soak (soak/outage.ts). Needs root (chattr +i).
// Progress on stderr; one result line on stdout; exits 1 if an acknowledged record is missing,
// the archive does not verify, or backpressure never started.
import { soakOutage } from './soak/outage.js';

const flag = (n: string): string | undefined => {
  const i = process.argv.indexOf(`--${n}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const r = await soakOutage({
  bufferMaxSize: flag('buffer') ?? '128MiB',
  outageAfterRefusalMs: Number(flag('hold') ?? 5) * 1000,
  log: (m) => process.stderr.write(`[soak:outage] ${m}\n`),
});
process.stderr.write(
  `[soak:outage] buffer max ${(r.bufferMaxBytes / 1048576).toFixed(0)} MiB, peak ${(r.peakBufferBytes / 1048576).toFixed(1)} MiB / ${r.peakBufferEntries} entries, ` +
    `full after ${r.secondsToFill.toFixed(1)} s, ${r.ackedDuringOutage} records acked during the outage, agent peak RSS ${(r.peakRssBytes / 1048576).toFixed(0)} MiB\n`,
);
process.stdout.write(r.line + '\n');
process.exitCode = r.lost > 0 || !r.verifyOk || r.refusedRequests === 0 ? 1 : 0;
