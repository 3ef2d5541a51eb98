// `npm run soak:faults [-- --rounds N]`: the storage-fault soak (soak/faults.ts). Progress goes
// to stderr; stdout gets one line, `acked=N archived=N lost=L recorded_loss=R silent=0 forks=0`.
// Exits 1 on a silent loss or a fork.
import { soakFaults } from './soak/faults.js';

const i = process.argv.indexOf('--rounds');
const rounds = i >= 0 ? Number(process.argv[i + 1]) : Number(process.env.SOAK_ROUNDS ?? 12);
if (!Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write('usage: soak-faults [--rounds N]  (N >= 1, default 12)\n');
  process.exit(2);
}
const r = await soakFaults({ rounds, log: (m) => process.stderr.write(`[soak:faults] ${m}\n`) });
for (const p of r.verifyProblems.slice(0, 10)) process.stderr.write(`[soak:faults] verify: ${p}\n`);
process.stderr.write(`[soak:faults] faults: ${JSON.stringify(r.faults)}\n`);
process.stdout.write(r.line + '\n');
process.exitCode = r.silent > 0 || r.forks > 0 ? 1 : 0;
