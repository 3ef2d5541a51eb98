// An acknowledged record survives kill -9. Senders keep several requests in flight
// (so kills land during group commits), the test records which were acknowledged, SIGKILLs the
// agent at several points, restarts it, and finally checks every acknowledged record is in one
// gap-free chain of the same origin.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { startAgentWith, tempDir, testConfig, type AgentProcess } from '../helpers/agent.js';
import { encodeRequest, postHttp, GrpcLogsClient } from '../helpers/otlp-client.js';
import { allEntries, attr, isOwn } from '../helpers/entries.js';

it('acknowledged records survive SIGKILL at several points, and the chain continues', async () => {
  const dir = await tempDir();
  const yaml = testConfig(dir, { maxRecords: 50, maxAge: '100ms' });
  const acked = new Set<string>();
  let origin: string | null = null;
  let nextId = 0;

  for (const killAfterAcks of [0, 7, 40, 150]) {
    const agent = await startAgentWith(dir, yaml);
    if (origin === null) origin = agent.origin;
    assert.equal(agent.origin, origin, 'a restart continues the same chain (same origin)');
    await loadThenKill(agent, killAfterAcks);
  }
  const final = await startAgentWith(dir, yaml);
  assert.equal(final.origin, origin);
  assert.equal(await final.stop(), 0);

  const entries = await allEntries(dir); // throws on any gap, fork or broken link
  const ids = new Set(entries.filter((e) => !isOwn(e)).map((e) => String(attr(e, 'id'))));
  const lost = [...acked].filter((id) => !ids.has(id));
  assert.deepEqual(lost, [], `lost ${lost.length} of ${acked.size} acknowledged records`);
  assert.ok(acked.size > 150, `only ${acked.size} records were acknowledged`);
  // One genesis; every restart records a start entry.
  const events = entries.filter(isOwn).map((e) => e.json.record.eventName);
  assert.equal(events.filter((x) => x === 'sealtrail.genesis').length, 1);
  assert.equal(events.filter((x) => x === 'sealtrail.start').length, 5);
  await fs.rm(dir, { recursive: true, force: true });

  async function loadThenKill(agent: AgentProcess, killAfterAcks: number): Promise<void> {
    const grpcClient = new GrpcLogsClient(agent.grpc);
    let stop = false;
    let acksThisRun = 0;
    const outcomes = new Map<string, number>(); // for the failure message: what the senders saw
    const saw = (what: string): void => void outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
    const sender = async (useGrpc: boolean): Promise<void> => {
      while (!stop) {
        const batch = Array.from({ length: 5 }, () => `r${nextId++}`);
        const body = encodeRequest(batch.map((id) => ({ body: `record ${id}`, attributes: { audit: true, id } })));
        let ok: boolean;
        try {
          const answer = useGrpc
            ? `grpc ${(await grpcClient.export(body, 5000)).code}`
            : `http ${(await postHttp(agent.http, body)).status}`;
          ok = answer === 'grpc 0' || answer === 'http 200';
          saw(answer);
        } catch (err) {
          ok = false; // connection reset by the kill: not acknowledged
          saw(`error ${(err as Error).message}`);
        }
        if (ok && !stop) {
          for (const id of batch) acked.add(id);
          acksThisRun++;
        } else if (ok) {
          for (const id of batch) acked.add(id); // acknowledged just as we decided to kill: still owed
        }
      }
    };
    const senders = [sender(true), sender(false), sender(true), sender(false)];
    // An agent that stops acknowledging (exited, stuck or refusing) fails here with what the
    // senders saw and its last log lines, instead of holding the test until the tier's timeout.
    const deadline = Date.now() + 60_000;
    while (acksThisRun < killAfterAcks) {
      if (agent.proc.exitCode !== null || agent.proc.signalCode !== null || Date.now() > deadline) {
        stop = true;
        await agent.kill();
        await Promise.allSettled(senders);
        grpcClient.close();
        const tail = agent.logs
          .slice(-15)
          .map((l) => JSON.stringify(l))
          .join('\n');
        assert.fail(
          `${acksThisRun} of ${killAfterAcks} acknowledgements before the kill (agent exit ${agent.proc.exitCode}/${agent.proc.signalCode}); ` +
            `senders saw ${JSON.stringify([...outcomes])}; last log lines:\n${tail}`,
        );
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    stop = true;
    agent.proc.kill('SIGKILL'); // requests are still in flight: the kill lands mid group commit
    // grpc-js keeps only unref'd timers for a call to a dead server; hold the loop until it fails.
    const hold = setInterval(() => undefined, 1000);
    await Promise.all(senders).finally(() => clearInterval(hold));
    await agent.kill();
    grpcClient.close();
  }
});
