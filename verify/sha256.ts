// SHA-256 for the verifier and the chain, on node:crypto. The verifier needs Node for its
// Ed25519 checks (verify/note.ts) anyway, so a pure-JS fallback here could never run.
import { createHash, hash } from 'node:crypto';

/** SHA-256 of one buffer (the fast path: no hasher object). */
export function sha256One(data: Uint8Array): Uint8Array {
  return hash('sha256', data, 'buffer');
}

/** SHA-256 of one buffer as a 32-character latin1 string: a string digest costs less than a Buffer. */
export function sha256String(data: Uint8Array): string {
  return hash('sha256', data, 'binary'); // 'binary' is latin1: one character per byte
}

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}
