// Interoperability with Go's golang.org/x/mod/sumdb/note: the signer key, verifier key and
// signed note below are the published example of that package (ExampleSign / ExampleOpen).
// Ed25519 is deterministic, so our signer must produce the very same note byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NoteSigner } from '../../../agent/keys/signer.js';
import { parseSignerKey, parseVerifierKey, parseNote, verifyNote, NoteError, hexId } from '../../../verify/note.js';

const SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const SIGNED = `${TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

test('signing the Go note example reproduces its signed note exactly', () => {
  const k = parseSignerKey(SKEY);
  const signer = new NoteSigner(k.name, k.seed);
  assert.equal(hexId(signer.keyId), 'c74f20a3');
  assert.equal(signer.verifierKey(), VKEY);
  assert.equal(signer.signNote(TEXT), SIGNED);
});

test('the Go note example verifies with its verifier key', () => {
  const key = parseVerifierKey(VKEY);
  assert.equal(verifyNote(parseNote(SIGNED), [key]).name, 'PeterNeumann');
});

test('a changed text fails with BAD_SIGNATURE, an unknown key with UNKNOWN_KEY', () => {
  const key = parseVerifierKey(VKEY);
  const edited = SIGNED.replace('problem,', 'problem;');
  assert.throws(
    () => verifyNote(parseNote(edited), [key]),
    (e) => e instanceof NoteError && e.code === 'BAD_SIGNATURE',
  );
  const other = parseVerifierKey(new NoteSigner('Other', new Uint8Array(32)).verifierKey());
  assert.throws(
    () => verifyNote(parseNote(SIGNED), [other]),
    (e) => e instanceof NoteError && e.code === 'UNKNOWN_KEY',
  );
});

test('a verifier key whose id does not match its key is refused', () => {
  assert.throws(
    () => parseVerifierKey(VKEY.replace('c74f20a3', 'c74f20a4')),
    (e) => e instanceof NoteError && e.code === 'MALFORMED_KEY',
  );
});
