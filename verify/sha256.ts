// SHA-256 for the verifier and the chain. node:crypto is used where the runtime has it: on
// this machine it is 2-6x faster than @noble/hashes (see docs/verifying.md); elsewhere
// (browsers, edge runtimes) the portable @noble/hashes implementation takes over.
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

type NodeCrypto = typeof import('node:crypto');
const nodeCrypto: NodeCrypto | null = await import('node:crypto').catch(() => null);
const oneShot = nodeCrypto && typeof nodeCrypto.hash === 'function' ? nodeCrypto.hash : null;

/** SHA-256 of one buffer (the fast path: no hasher object on Node >= 20.12). */
export function sha256One(data: Uint8Array): Uint8Array {
  if (oneShot) return oneShot('sha256', data, 'buffer') as unknown as Uint8Array;
  return sha256(data);
}

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (nodeCrypto) {
    const h = nodeCrypto.createHash('sha256');
    for (const p of parts) h.update(p);
    return h.digest();
  }
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}
