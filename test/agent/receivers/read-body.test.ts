// readBody over real HTTP and HTTPS connections: the body comes out whole, and over HTTP the
// chunks it arrived in are freed once copied or discarded (on Node >= 22, which has
// ArrayBuffer.transfer). Over HTTPS a body arrives in TLS records of 16 KiB, below the size
// lib/own-memory.ts frees early, so there the test holds only the bytes and the outcome.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readBody, type BodyResult } from '../../../agent/receivers/read-body.js';

const CAN_FREE = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';
const OWN_MIN = 64 << 10;

interface Seen {
  result: BodyResult;
  /** Chunks the request emitted that had memory of their own (>= 64 KiB, nothing else in it), as [view, length when emitted]. */
  own: [Buffer, number][];
  chunks: number;
  /** Own-memory chunks already freed when the request's next 'data' listener (after readBody's) saw them. */
  freedOnArrival: number;
}

type Server = http.Server | https.Server;

/** A server whose handler runs readBody(limit, drainLimit) and reports what it saw after the answer. */
function serve(
  make: (h: http.RequestListener) => Server,
  limit: number,
  drainLimit: number,
  declared = false,
): { server: Server; seen: Promise<Seen> } {
  let report!: (s: Seen) => void;
  const seen = new Promise<Seen>((r) => (report = r));
  const server = make((req, res) => {
    const own: [Buffer, number][] = [];
    let chunks = 0;
    let freedOnArrival = 0;
    // Registered first, so it sees each chunk before readBody does.
    req.on('data', (c: Buffer) => {
      chunks++;
      if (c.byteLength >= OWN_MIN && c.byteOffset === 0 && c.buffer.byteLength === c.byteLength) own.push([c, c.byteLength]);
    });
    const length = declared ? Number(req.headers['content-length']) : null;
    void readBody(req, limit, drainLimit, length).then((result) => {
      res.end('ok');
      report({ result, own, chunks, freedOnArrival });
    });
    // Registered after readBody's: sees each chunk once readBody has handled it.
    req.on('data', (c: Buffer) => {
      if (own.length > 0 && own[own.length - 1]![0] === c && c.byteLength === 0) freedOnArrival++;
    });
  });
  return { server, seen };
}

async function post(server: Server, tls: { ca: Buffer } | null, body: Buffer): Promise<void> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => {
    const opts = { host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'content-length': body.length } };
    const req = tls ? https.request({ ...opts, ca: tls.ca, servername: 'localhost' }) : http.request(opts);
    req.on('response', (res) => res.resume().on('end', resolve));
    req.on('error', reject);
    req.end(body);
  });
  await new Promise<void>((r) => server.close(() => r()));
}

function assertFreed(seen: Seen, scheme: 'http' | 'https'): void {
  assert.ok(seen.chunks > 1, `the body came in ${seen.chunks} chunk(s)`);
  if (scheme === 'https') return;
  if (!CAN_FREE) {
    for (const [c, n] of seen.own) assert.equal(c.byteLength, n, 'nothing is freed without ArrayBuffer.transfer');
    return;
  }
  assert.ok(seen.own.length > 0, 'some chunks had memory of their own');
  for (const [c] of seen.own) assert.equal(c.byteLength, 0, 'a chunk of its own memory was freed');
}

describe('readBody', () => {
  let pki = '';
  let tls: { key: Buffer; cert: Buffer };
  before(async () => {
    pki = await fs.mkdtemp(path.join(os.tmpdir(), 'sealtrail-read-body-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        'k.pem',
        '-out',
        'c.pem',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ],
      { cwd: pki, stdio: 'pipe' },
    );
    tls = { key: await fs.readFile(path.join(pki, 'k.pem')), cert: await fs.readFile(path.join(pki, 'c.pem')) };
  });
  after(() => fs.rm(pki, { recursive: true, force: true }));

  for (const scheme of ['http', 'https'] as const) {
    const make = (h: http.RequestListener): Server => (scheme === 'http' ? http.createServer(h) : https.createServer(tls, h));

    it(`${scheme}: a 2 MB body comes out byte for byte, and the chunks it arrived in are freed`, async () => {
      const body = randomBytes(2 << 20);
      const { server, seen } = serve(make, 4 << 20, 1 << 20);
      await post(server, scheme === 'https' ? { ca: tls.cert } : null, body);
      const s = await seen;
      assert.ok('body' in s.result);
      assert.ok(s.result.body.equals(body), 'the body is intact after its chunks were freed');
      assertFreed(s, scheme);
    });

    it(`${scheme}: a body of declared length is read into one buffer of that length, each chunk freed as it arrives`, async () => {
      const body = randomBytes(2 << 20);
      const { server, seen } = serve(make, 4 << 20, 1 << 20, true);
      await post(server, scheme === 'https' ? { ca: tls.cert } : null, body);
      const s = await seen;
      assert.ok('body' in s.result);
      assert.ok(s.result.body.equals(body), 'the body is intact');
      assert.equal(s.result.body.buffer.byteLength, body.length, 'the body has memory of its own, of exactly its length');
      assertFreed(s, scheme);
      // Without the declared length the chunks are kept to the end (then concatenated): none freed on arrival.
      if (scheme === 'http' && CAN_FREE)
        assert.equal(s.freedOnArrival, s.own.length, 'every own-memory chunk was freed as soon as it was copied');
    });

    it(`${scheme}: a body over the limit is read to its end and discarded, its chunks freed as they come`, async () => {
      const body = randomBytes(1 << 20);
      const { server, seen } = serve(make, 100_000, 2 << 20);
      await post(server, scheme === 'https' ? { ca: tls.cert } : null, body);
      const s = await seen;
      assert.deepEqual(s.result, { tooLarge: true, drained: true });
      assertFreed(s, scheme);
    });
  }

  for (const declared of [true, false]) {
    const how = declared ? 'read into one buffer of the declared length' : 'chunks kept';
    it(`a client that closes mid-body (${how}): readBody rejects with the connection's error, no body`, { timeout: 20_000 }, async () => {
      let outcome!: (r: BodyResult | Error) => void;
      const seen = new Promise<BodyResult | Error>((r) => (outcome = r));
      const server = http.createServer((req) => {
        readBody(req, 4 << 20, 1 << 20, declared ? Number(req.headers['content-length']) : null).then(outcome, outcome);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const { port } = server.address() as AddressInfo;
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', headers: { 'content-length': 2 << 20 } });
        req.on('error', () => {}); // the client's own socket is destroyed below
        req.write(randomBytes(1 << 20), () => setTimeout(() => req.destroy(), 50));
        const r = await seen;
        assert.ok(r instanceof Error, 'no body comes back');
        // Node reports the cut request as an 'aborted' error (ECONNRESET) before its 'close'.
        assert.equal(r.message, 'aborted');
        assert.equal((r as NodeJS.ErrnoException).code, 'ECONNRESET');
      } finally {
        server.closeAllConnections();
        await new Promise<void>((res) => server.close(() => res()));
      }
    });
  }

  it('a body past the drain limit is left unread (drained: false)', async () => {
    const body = randomBytes(4 << 20);
    const { server, seen } = serve((h) => http.createServer(h), 0, 1 << 20);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', headers: { 'content-length': body.length } });
    req.on('error', () => {}); // the server stops reading; the client may see a reset
    req.on('response', (res) => res.resume());
    req.end(body);
    const s = await seen;
    assert.deepEqual(s.result, { tooLarge: true, drained: false });
    req.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
});
