// `npm run soak:crash [-- --kills N]`: the crash soak (soak/crash.ts). Progress goes to stderr;
// stdout gets exactly one line, `acked=N archived=N lost=0 duplicates=D verify=ok`.
// Exits 1 when an acknowledged record is missing or the archive does not verify.
import { soakCrash } from './soak/crash.js';

const i = process.argv.indexOf('--kills');
const kills = i >= 0 ? Number(process.argv[i + 1]) : Number(process.env.SOAK_KILLS ?? 20);
if (!Number.isInteger(kills) || kills < 1) {
  process.stderr.write('usage: soak-crash [--kills N]  (N >= 1, default 20)\n');
  process.exit(2);
}
const r = await soakCrash({ kills, log: (m) => process.stderr.write(`[soak:crash] ${m}\n`) });
process.stdout.write(r.line + '\n');
process.exitCode = r.lost > 0 || !r.verifyOk ? 1 : 0;
