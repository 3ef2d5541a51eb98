// sealtrail prove / consistency / verify-proof as child processes on a fixture archive: a
// printed proof verifies, and flipping any one bit of it (any hash bit, index, size, entry or
// checkpoint byte) makes it fail.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { buildArchive, tempDir, type Fixture } from '../verify/fixtures.js';
import { verifyProofDoc } from '../../verify/proof-doc.js';
import { parseVerifierKey } from '../../verify/note.js';

const cli = (...args: string[]) => runCli(args);

let dir: string;
let fx: Fixture;
let keyFile: string;

before(async () => {
  dir = await tempDir();
  fx = await buildArchive(path.join(dir, 'archive'), { entries: 45, batchSize: 7, gzip: true });
  keyFile = path.join(dir, 'test.pub');
  await fs.writeFile(keyFile, fx.verifierKey + '\n');
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function flipBit(b64: string, bit: number): string {
  const b = Buffer.from(b64, 'base64');
  b[bit >> 3] = b[bit >> 3]! ^ (1 << (bit & 7));
  return b.toString('base64');
}

test('prove prints an inclusion proof that verify-proof accepts (key as file and as text)', async () => {
  const p = await cli('prove', fx.dir, '--seq', '17', '--size', '35');
  assert.equal(p.code, 0, p.stderr);
  const doc = JSON.parse(p.stdout);
  assert.equal(doc.type, 'inclusion');
  assert.equal(doc.index, 17);
  assert.equal(doc.size, 35);
  assert.equal(doc.checkpoint, fx.batches.find((b) => b.end === 35)!.note);
  assert.equal(JSON.parse(doc.entry).seq, 17);
  const f = path.join(dir, 'p.json');
  await fs.writeFile(f, p.stdout);
  assert.equal((await cli('verify-proof', f, '--key', keyFile)).code, 0);
  assert.equal((await cli('verify-proof', f, '--key', fx.verifierKey)).code, 0);
});

test('prove defaults to the latest checkpoint and refuses a size that is not checkpointed', async () => {
  const p = await cli('prove', fx.dir, '--seq', '0');
  assert.equal(p.code, 0, p.stderr);
  assert.equal(JSON.parse(p.stdout).size, 45);
  const bad = await cli('prove', fx.dir, '--seq', '3', '--size', '30');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /no checkpoint of size 30/);
  assert.equal((await cli('prove', fx.dir)).code, 2); // --seq missing
  assert.equal((await cli('prove', fx.dir, '--seq', '45')).code, 2); // beyond the log
});

test('every single-bit flip of an inclusion proof is rejected', async () => {
  const doc = JSON.parse((await cli('prove', fx.dir, '--seq', '22', '--size', '42')).stdout);
  const keys = [parseVerifierKey(fx.verifierKey)];
  assert.equal(verifyProofDoc(doc, keys).ok, true);
  let tried = 0;
  const reject = (mutated: unknown, what: string): void => {
    tried++;
    assert.equal(verifyProofDoc(mutated, keys).ok, false, what);
  };
  for (const [i, h] of (doc.proof as string[]).entries()) {
    for (let bit = 0; bit < 256; bit++)
      reject({ ...doc, proof: (doc.proof as string[]).map((x, j) => (j === i ? flipBit(h, bit) : x)) }, `proof[${i}] bit ${bit}`);
  }
  for (let bit = 0; bit < 256; bit++) reject({ ...doc, leafHash: flipBit(doc.leafHash, bit) }, `leafHash bit ${bit}`);
  for (let bit = 0; bit < 16; bit++) {
    reject({ ...doc, index: doc.index ^ (1 << bit) }, `index bit ${bit}`);
    reject({ ...doc, size: doc.size ^ (1 << bit) }, `size bit ${bit}`);
  }
  const entry = Buffer.from(doc.entry as string);
  for (let byte = 0; byte < entry.length; byte += 7) {
    const e = Buffer.from(entry);
    e[byte] = e[byte]! ^ 1;
    reject({ ...doc, entry: e.toString('latin1') }, `entry byte ${byte}`);
  }
  const note = Buffer.from(doc.checkpoint as string);
  for (let byte = 0; byte < note.length; byte++) {
    const n = Buffer.from(note);
    n[byte] = n[byte]! ^ 4;
    reject({ ...doc, checkpoint: n.toString('utf8') }, `checkpoint byte ${byte}`);
  }
  assert.ok(tried > 1500, `${tried} mutations`);
});

test('verify-proof (child process) exits 1 on a flipped proof bit, 2 on usage', async () => {
  const doc = JSON.parse((await cli('prove', fx.dir, '--seq', '9')).stdout);
  for (const bit of [0, 100, 255]) {
    const f = path.join(dir, `flip-${bit}.json`);
    await fs.writeFile(f, JSON.stringify({ ...doc, proof: [flipBit(doc.proof[0], bit), ...doc.proof.slice(1)] }));
    const r = await cli('verify-proof', f, '--key', keyFile);
    assert.equal(r.code, 1, `bit ${bit}`);
    assert.match(r.stdout, /^INVALID: /);
  }
  const f = path.join(dir, 'garbage.json');
  await fs.writeFile(f, '{"type":');
  assert.equal((await cli('verify-proof', f, '--key', keyFile)).code, 1);
  assert.equal((await cli('verify-proof', f)).code, 2); // no --key
  assert.equal((await cli('verify-proof', path.join(dir, 'missing.json'), '--key', keyFile)).code, 2);
});

test('consistency prints a proof between checkpointed sizes that verify-proof accepts; flips are rejected', async () => {
  const r = await cli('consistency', fx.dir, '--from', '14', '--to', '42');
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.type, 'consistency');
  const f = path.join(dir, 'c.json');
  await fs.writeFile(f, r.stdout);
  assert.equal((await cli('verify-proof', f, '--key', keyFile)).code, 0);
  const keys = [parseVerifierKey(fx.verifierKey)];
  for (const [i, h] of (doc.proof as string[]).entries()) {
    for (let bit = 0; bit < 256; bit += 3) {
      assert.equal(
        verifyProofDoc({ ...doc, proof: doc.proof.map((x: string, j: number) => (j === i ? flipBit(h, bit) : x)) }, keys).ok,
        false,
      );
    }
  }
  assert.equal(verifyProofDoc({ ...doc, size1: 21 }, keys).ok, false);
  assert.equal(verifyProofDoc({ ...doc, checkpoint1: doc.checkpoint2 }, keys).ok, false);
  assert.equal((await cli('consistency', fx.dir, '--from', '15', '--to', '42')).code, 2); // 15 not checkpointed
});
