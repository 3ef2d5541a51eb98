// The crash soak in short (bench/soak/crash.ts, which `npm run soak:crash` runs with 20 kills):
// continuous gRPC + HTTP load, the real agent SIGKILLed at random moments three times and
// restarted, then a graceful stop. Every acknowledged record must be in the archive, and the
// archive must verify (one origin, signatures, chain links, roots).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { soakCrash } from '../../bench/soak/crash.js';

it('crash soak: three SIGKILLs under load lose no acknowledged record and the archive verifies', async () => {
  const r = await soakCrash({ kills: 3, minRunMs: 300, maxRunMs: 1500 });
  assert.ok(r.acked > 0, 'the load got acknowledgements');
  assert.equal(r.verifyOk, true, `verify problems: ${r.verifyProblems.join('; ')}`);
  assert.equal(r.lost, 0, `lost ${r.lost} acknowledged records, e.g. ids ${r.lostSample.join(', ')}`);
  // Requests are never resent with the same ids, so a duplicate would be the agent writing twice.
  assert.equal(r.duplicates, 0);
  assert.ok(r.archived >= r.acked, 'everything acknowledged is archived (plus possibly unacknowledged writes a kill cut off)');
  assert.match(r.line, /^acked=\d+ archived=\d+ lost=0 duplicates=0 verify=ok$/);
});
