// The conformance suite every sink runs (exporters/sink.ts states the rules it checks), built
// into dist/ as library code so that sink packages can run it too (docs/sink-packages.md).
// A sink's test file calls sinkConformanceSuite() with a factory for a fresh, unstarted sink
// plus hooks that reach the backing store by another path than the sink itself, so "readable
// once acknowledged" is checked independently of the code under test.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { isSealtrailError, type ErrorCode } from '../../lib/errors.js';
import { deliverBatch, encodeEntriesObject, type SealedBatch } from '../deliver.js';
import type { PutResult, Sink } from '../sink.js';
import { checkpointObjectName, entriesObjectName, makeOrigin } from '../../verify/layout.js';

export interface SinkHarness {
  /** A fresh sink, not yet started; the suite calls start() and close(). */
  sink: Sink;
  /** Reads an object straight from the backing store (not through the sink); null if absent. */
  readBack(name: string): Promise<Uint8Array | null>;
  /** Every object name in the backing store, '/'-separated, including any stray/temp objects. */
  listNames(): Promise<string[]>;
  /** Makes writes fail in a way an operator could fix (unwritable dir, store unreachable, ...). */
  injectTransientFault(): Promise<void>;
  /** Undoes injectTransientFault / injectPermanentFault. Must be safe to call when healthy. */
  healFault(): Promise<void>;
  /** Optional: makes writes fail permanently (e.g. rejected credentials or bucket settings). */
  injectPermanentFault?(): Promise<void>;
  /** Removes everything the harness created. Called after healFault(). */
  cleanup(): Promise<void>;
}

export interface SinkConformanceOptions {
  name: string;
  makeSink: () => Promise<SinkHarness>;
}

const enc = new TextEncoder();

export function makeTestBatch(origin: string, start: number, end: number, tag = 'a'): SealedBatch {
  let text = '';
  for (let i = start; i < end; i++) text += JSON.stringify({ v: 1, seq: i, tag, body: `record ${i} ${tag}` }) + '\n';
  return {
    origin,
    start,
    end,
    lines: enc.encode(text),
    checkpoint: `${origin}\n${end}\n${Buffer.from(`root-${tag}-${end}`).toString('base64')}\n\n— test sig-${tag}\n`,
  };
}

export function freshOrigin(): string {
  return makeOrigin('conformance', randomBytes(16).toString('hex'));
}

export async function assertRejectsCode(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isSealtrailError(err), `expected a SealtrailError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return true;
  });
}

function bytesEqual(actual: Uint8Array | null, expected: Uint8Array, what: string): void {
  assert.ok(actual !== null, `${what}: object is absent`);
  assert.ok(Buffer.from(actual).equals(Buffer.from(expected)), `${what}: bytes differ`);
}

async function namesUnder(h: SinkHarness, origin: string): Promise<string[]> {
  return (await h.listNames()).filter((n) => n.startsWith(`${origin}/`)).sort();
}

function namesOf(b: SealedBatch, gzip: boolean): { entries: string; checkpoint: string } {
  return { entries: entriesObjectName(b.origin, b.start, b.end, gzip), checkpoint: checkpointObjectName(b.origin, b.start, b.end) };
}

/** A pass-through sink that records put order and can run a hook after each successful put. */
function recordingSink(inner: Sink, afterPut?: (name: string) => Promise<void>): Sink & { puts: string[] } {
  const puts: string[] = [];
  return {
    id: inner.id,
    puts,
    start: () => inner.start(),
    close: () => inner.close(),
    get: (name) => inner.get(name),
    async put(name, body): Promise<PutResult> {
      puts.push(name);
      const r = await inner.put(name, body);
      if (afterPut) await afterPut(name);
      return r;
    },
  };
}

export function sinkConformanceSuite(opts: SinkConformanceOptions): void {
  async function withSink(fn: (h: SinkHarness) => Promise<void>): Promise<void> {
    const h = await opts.makeSink();
    try {
      await h.sink.start();
      await fn(h);
    } finally {
      await h.sink.close();
      await h.sink.close(); // close is idempotent
      await h.healFault();
      await h.cleanup();
    }
  }

  describe(`sink conformance: ${opts.name}`, () => {
    it('a put resolves written and the object reads back identically from the store', () =>
      withSink(async (h) => {
        const origin = freshOrigin();
        const b = makeTestBatch(origin, 0, 5);
        const name = entriesObjectName(origin, 0, 5, false);
        assert.equal(await h.sink.put(name, b.lines), 'written');
        bytesEqual(await h.readBack(name), b.lines, 'readBack');
        bytesEqual(await h.sink.get(name), b.lines, 'sink.get');
        assert.equal(await h.sink.get(entriesObjectName(origin, 5, 6, false)), null);
        assert.deepEqual(await namesUnder(h, origin), [name]);
      }));

    for (const gzip of [false, true]) {
      it(`deliverBatch puts the entries object before the checkpoint object (gzip=${gzip})`, () =>
        withSink(async (h) => {
          const b = makeTestBatch(freshOrigin(), 0, 4);
          const n = namesOf(b, gzip);
          const rec = recordingSink(h.sink);
          await deliverBatch(rec, b, { gzip });
          assert.deepEqual(rec.puts, [n.entries, n.checkpoint]);
          bytesEqual(await h.readBack(n.entries), encodeEntriesObject(b.lines, gzip), 'entries');
          bytesEqual(await h.readBack(n.checkpoint), enc.encode(b.checkpoint), 'checkpoint');
          assert.deepEqual(await namesUnder(h, b.origin), [n.entries, n.checkpoint].sort());
        }));
    }

    it('when the entries put fails, no checkpoint object exists', () =>
      withSink(async (h) => {
        const b = makeTestBatch(freshOrigin(), 0, 3);
        await h.injectTransientFault();
        await assertRejectsCode(deliverBatch(h.sink, b, { gzip: false }), 'SINK_TRANSIENT');
        await h.healFault();
        const n = namesOf(b, false);
        assert.equal(await h.readBack(n.checkpoint), null);
        assert.equal(await h.readBack(n.entries), null);
        assert.deepEqual(await namesUnder(h, b.origin), []);
      }));

    it('a fault between the entries and checkpoint puts leaves no checkpoint; redelivery completes it', () =>
      withSink(async (h) => {
        const b = makeTestBatch(freshOrigin(), 10, 14);
        const n = namesOf(b, false);
        const rec = recordingSink(h.sink, async (name) => {
          if (name === n.entries) await h.injectTransientFault();
        });
        await assertRejectsCode(deliverBatch(rec, b, { gzip: false }), 'SINK_TRANSIENT');
        bytesEqual(await h.readBack(n.entries), b.lines, 'entries after fault');
        assert.equal(await h.readBack(n.checkpoint), null);
        await h.healFault();
        await deliverBatch(h.sink, b, { gzip: false });
        bytesEqual(await h.readBack(n.entries), b.lines, 'entries');
        bytesEqual(await h.readBack(n.checkpoint), enc.encode(b.checkpoint), 'checkpoint');
        assert.deepEqual(await namesUnder(h, b.origin), [n.entries, n.checkpoint].sort());
      }));

    for (const gzip of [false, true]) {
      it(`delivering the same batch again is a no-op (gzip=${gzip})`, () =>
        withSink(async (h) => {
          const b = makeTestBatch(freshOrigin(), 0, 7);
          const n = namesOf(b, gzip);
          await deliverBatch(h.sink, b, { gzip });
          const entries1 = await h.readBack(n.entries);
          const checkpoint1 = await h.readBack(n.checkpoint);
          await deliverBatch(h.sink, b, { gzip });
          assert.equal(await h.sink.put(n.entries, encodeEntriesObject(b.lines, gzip)), 'exists');
          assert.equal(await h.sink.put(n.checkpoint, enc.encode(b.checkpoint)), 'exists');
          bytesEqual(await h.readBack(n.entries), entries1!, 'entries unchanged');
          bytesEqual(await h.readBack(n.checkpoint), checkpoint1!, 'checkpoint unchanged');
          assert.deepEqual(await namesUnder(h, b.origin), [n.entries, n.checkpoint].sort());
        }));
    }

    it('different bytes under an existing name are a SINK_CONFLICT and the original is unchanged', () =>
      withSink(async (h) => {
        const origin = freshOrigin();
        const name = checkpointObjectName(origin, 0, 2);
        const original = enc.encode('original checkpoint\n');
        assert.equal(await h.sink.put(name, original), 'written');
        await assertRejectsCode(h.sink.put(name, enc.encode('replaced checkpoint\n')), 'SINK_CONFLICT'); // same length
        await assertRejectsCode(h.sink.put(name, enc.encode('x')), 'SINK_CONFLICT');
        await assertRejectsCode(h.sink.put(name, new Uint8Array(0)), 'SINK_CONFLICT');
        await assertRejectsCode(h.sink.put(name, enc.encode('original checkpoint\nand more\n')), 'SINK_CONFLICT');
        bytesEqual(await h.readBack(name), original, 'original');
        assert.deepEqual(await namesUnder(h, origin), [name]);
      }));

    it('a batch whose entries object conflicts never gets its checkpoint written', () =>
      withSink(async (h) => {
        const b = makeTestBatch(freshOrigin(), 0, 3);
        const other = makeTestBatch(b.origin, 0, 3, 'other');
        const n = namesOf(b, false);
        await h.sink.put(n.entries, other.lines);
        await assertRejectsCode(deliverBatch(h.sink, b, { gzip: false }), 'SINK_CONFLICT');
        bytesEqual(await h.readBack(n.entries), other.lines, 'existing entries');
        assert.equal(await h.readBack(n.checkpoint), null);
      }));

    it('under a transient fault puts reject SINK_TRANSIENT; after healing the same delivery succeeds, each object once', () =>
      withSink(async (h) => {
        const origin = freshOrigin();
        const b1 = makeTestBatch(origin, 0, 3);
        const b2 = makeTestBatch(origin, 3, 9);
        await deliverBatch(h.sink, b1, { gzip: false });
        await h.injectTransientFault();
        for (let attempt = 0; attempt < 3; attempt++) {
          await assertRejectsCode(deliverBatch(h.sink, b2, { gzip: false }), 'SINK_TRANSIENT');
        }
        await assertRejectsCode(h.sink.put(`${origin}/${'9'.repeat(16)}-${'9'.repeat(15)}0.checkpoint`, enc.encode('x')), 'SINK_TRANSIENT');
        await h.healFault();
        const n1 = namesOf(b1, false);
        const n2 = namesOf(b2, false);
        assert.deepEqual(await namesUnder(h, origin), [n1.entries, n1.checkpoint].sort());
        await deliverBatch(h.sink, b2, { gzip: false });
        assert.deepEqual(await namesUnder(h, origin), [n1.entries, n1.checkpoint, n2.entries, n2.checkpoint].sort());
        bytesEqual(await h.readBack(n1.entries), b1.lines, 'b1 entries');
        bytesEqual(await h.readBack(n2.entries), b2.lines, 'b2 entries');
        bytesEqual(await h.readBack(n2.checkpoint), enc.encode(b2.checkpoint), 'b2 checkpoint');
      }));

    it('invalid object names are rejected with SINK_PERMANENT and nothing is written', () =>
      withSink(async (h) => {
        const origin = freshOrigin();
        const before = (await h.listNames()).sort();
        const bad = [
          '',
          '/abs/x.checkpoint',
          '../x.checkpoint',
          `${origin}/../../x`,
          `${origin}//x`,
          `${origin}/./x`,
          `${origin}\\x`,
          `${origin}/`,
          `${origin}/a\u0000b`,
        ];
        for (const name of bad) {
          await assertRejectsCode(h.sink.put(name, enc.encode('payload')), 'SINK_PERMANENT');
          await assertRejectsCode(h.sink.get(name), 'SINK_PERMANENT');
        }
        assert.deepEqual((await h.listNames()).sort(), before);
      }));

    it('concurrent puts of one name write it once; the losers see exists or SINK_CONFLICT', () =>
      withSink(async (h) => {
        const origin = freshOrigin();
        const same = entriesObjectName(origin, 0, 1, false);
        const results = await Promise.all([1, 2, 3, 4].map(() => h.sink.put(same, enc.encode('same\n'))));
        assert.deepEqual(results.sort(), ['exists', 'exists', 'exists', 'written']);
        const contested = entriesObjectName(origin, 1, 2, false);
        const bodies = ['a\n', 'b\n', 'c\n'].map((s) => enc.encode(s));
        const settled = await Promise.allSettled(bodies.map((body) => h.sink.put(contested, body)));
        const winners = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [i] : []));
        assert.equal(winners.length, 1);
        assert.equal((settled[winners[0]!] as PromiseFulfilledResult<PutResult>).value, 'written');
        for (const s of settled) if (s.status === 'rejected') assert.ok(isSealtrailError(s.reason, 'SINK_CONFLICT'), String(s.reason));
        bytesEqual(await h.readBack(contested), bodies[winners[0]!]!, 'winner');
        assert.deepEqual(await namesUnder(h, origin), [same, contested].sort());
      }));

    it('gzip batches round-trip', () =>
      withSink(async (h) => {
        const b = makeTestBatch(freshOrigin(), 0, 50);
        const n = namesOf(b, true);
        assert.ok(n.entries.endsWith('.entries.jsonl.gz'));
        await deliverBatch(h.sink, b, { gzip: true });
        const stored = await h.readBack(n.entries);
        assert.ok(stored !== null);
        assert.ok(Buffer.from(gunzipSync(stored)).equals(Buffer.from(b.lines)));
        bytesEqual(await h.readBack(n.checkpoint), enc.encode(b.checkpoint), 'checkpoint');
      }));

    it('a .gz entries object compressed differently but holding the same lines counts as delivered', () =>
      withSink(async (h) => {
        const b = makeTestBatch(freshOrigin(), 0, 50);
        const n = namesOf(b, true);
        const otherCompression = new Uint8Array(gzipSync(b.lines, { level: 1 }));
        assert.ok(!Buffer.from(otherCompression).equals(Buffer.from(encodeEntriesObject(b.lines, true))));
        await h.sink.put(n.entries, otherCompression);
        await deliverBatch(h.sink, b, { gzip: true });
        bytesEqual(await h.readBack(n.entries), otherCompression, 'entries untouched');
        bytesEqual(await h.readBack(n.checkpoint), enc.encode(b.checkpoint), 'checkpoint');
      }));

    it('a .gz entries object holding other lines, or not gzip at all, is a SINK_CONFLICT', () =>
      withSink(async (h) => {
        const origin = freshOrigin();
        const b = makeTestBatch(origin, 0, 5);
        const n = namesOf(b, true);
        // Same length, different bytes: only a content comparison can tell.
        const foreignLines = makeTestBatch(origin, 0, 5, 'b').lines;
        assert.equal(foreignLines.length, b.lines.length);
        const foreign = new Uint8Array(gzipSync(foreignLines));
        await h.sink.put(n.entries, foreign);
        await assertRejectsCode(deliverBatch(h.sink, b, { gzip: true }), 'SINK_CONFLICT');
        bytesEqual(await h.readBack(n.entries), foreign, 'foreign entries untouched');
        assert.equal(await h.readBack(n.checkpoint), null);

        const b2 = makeTestBatch(origin, 5, 6);
        const n2 = namesOf(b2, true);
        await h.sink.put(n2.entries, enc.encode('not gzip\n'));
        await assertRejectsCode(deliverBatch(h.sink, b2, { gzip: true }), 'SINK_CONFLICT');
        assert.equal(await h.readBack(n2.checkpoint), null);
      }));

    it('close is safe before start and twice', async () => {
      const h = await opts.makeSink();
      try {
        await h.sink.close();
        await h.sink.close();
      } finally {
        await h.cleanup();
      }
    });
  });

  describe(`sink conformance: ${opts.name} (permanent faults)`, () => {
    it('a permanent fault, where the sink supports injecting one, rejects SINK_PERMANENT and writes nothing', () =>
      withSink(async (h) => {
        const origin = freshOrigin();
        const b = makeTestBatch(origin, 0, 2);
        if (h.injectPermanentFault) {
          await h.injectPermanentFault();
          await assertRejectsCode(deliverBatch(h.sink, b, { gzip: false }), 'SINK_PERMANENT');
          await h.healFault();
        } else {
          // Every sink supports the invalid-name permanent fault: a batch whose origin escapes the root.
          await assertRejectsCode(deliverBatch(h.sink, { ...b, origin: `${origin}/..` }, { gzip: false }), 'SINK_PERMANENT');
        }
        assert.deepEqual(await namesUnder(h, origin), []);
      }));
  });
}
