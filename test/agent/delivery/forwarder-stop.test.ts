// Stopping a forwarder whose sink is failing: a stop that arrives during an attempt must not
// wait out the backoff that follows it, and a stop during the backoff ends it at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { Forwarder } from '../../../agent/delivery/forwarder.js';
import { SealtrailError } from '../../../lib/errors.js';
import type { PutResult, Sink } from '../../../exporters/sink.js';
import { tempDir } from '../../helpers/agent.js';
import { openTestWriter, item } from '../../helpers/writer.js';

/** A sink whose every put waits until the test releases it, then fails as transient. */
class GatedFailingSink implements Sink {
  readonly id = 'gated';
  calls = 0;
  private release: (() => void) | null = null;
  readonly called: Promise<void>;
  private onCall!: () => void;
  constructor() {
    this.called = new Promise((r) => (this.onCall = r));
  }
  async start(): Promise<void> {}
  async put(): Promise<PutResult> {
    this.calls++;
    this.onCall();
    await new Promise<void>((r) => (this.release = r));
    throw new SealtrailError('SINK_TRANSIENT', 'store unavailable');
  }
  async get(): Promise<Uint8Array | null> {
    return null;
  }
  async close(): Promise<void> {
    this.open();
  }
  open(): void {
    this.release?.();
  }
}

const LONG_BACKOFF = { initialIntervalMs: 60_000, maxIntervalMs: 60_000, multiplier: 2 };

/** Resolves 'stopped' or 'still running' after `ms`: the backoff is 30-60 s, so 'still running' means it was waited out. */
function within(p: Promise<void>, ms: number): Promise<string> {
  return Promise.race([p.then(() => 'stopped'), new Promise<string>((r) => setTimeout(() => r('still running'), ms).unref())]);
}

/** A forwarder on a real buffer whose sink has been called once and is now stuck in that put. */
async function startInAttempt() {
  const dir = await tempDir();
  const w = await openTestWriter(dir, { maxRecords: 1, sinks: ['gated'] });
  const sink = new GatedFailingSink();
  const f = new Forwarder(sink, w.writer, false, LONG_BACKOFF, () => {});
  f.start();
  await w.writer.append([item(0)]);
  await sink.called;
  return { dir, w, sink, f };
}

test('a stop during a failing attempt does not wait out the backoff after it', async () => {
  const { dir, w, sink, f } = await startInAttempt();
  const stopping = f.stop(20_000);
  sink.open(); // the attempt fails now, after the stop was asked for
  assert.equal(await within(stopping, 10_000), 'stopped');
  assert.equal(f.state, 'stopped');
  assert.equal(sink.calls, 1);
  assert.equal(f.cursor, 0, 'nothing was delivered');
  await w.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('a stop during the backoff ends it at once', async () => {
  const { dir, w, sink, f } = await startInAttempt();
  sink.open();
  while (f.state !== 'retrying') await new Promise((r) => setTimeout(r, 5));
  assert.equal(await within(f.stop(), 10_000), 'stopped');
  assert.equal(sink.calls, 1);
  await w.close();
  await fs.rm(dir, { recursive: true, force: true });
});

test('an attempt stuck past the grace period is released by closing the sink', async () => {
  const { dir, w, f } = await startInAttempt();
  // The put never returns by itself; stop closes the sink after 200 ms, which releases it.
  assert.equal(await within(f.stop(200), 10_000), 'stopped');
  await w.close();
  await fs.rm(dir, { recursive: true, force: true });
});
