// C2SP signed-note and tlog-checkpoint, Ed25519 only (https://c2sp.org/signed-note,
// https://c2sp.org/tlog-checkpoint). Formats match Go's golang.org/x/mod/sumdb/note:
//   verifier key: <name>+<hex key id>+<base64(0x01 || 32-byte public key)>
//   signer key:   PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>
//   key id:       SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian uint32
//   note:         <text ending in \n>\n— <name> <base64(4-byte key id || 64-byte signature)>\n
// The signature covers the text (without the blank separator line).
// Everything parsed here may come from an attacker; malformed input yields NoteError.
import { createPublicKey, verify as edVerify, type KeyObject } from 'node:crypto';
import { sha256 } from './sha256.js';

export const ALG_ED25519 = 0x01;
const SIG_PREFIX = '\u2014 '; // em dash + space
const NAME_RE = /^[^\s+]+$/u; // no whitespace, no '+', non-empty

export class NoteError extends Error {
  constructor(
    readonly code: 'MALFORMED_KEY' | 'MALFORMED_NOTE' | 'MALFORMED_CHECKPOINT' | 'UNKNOWN_KEY' | 'BAD_SIGNATURE',
    message: string,
  ) {
    super(message);
    this.name = 'NoteError';
  }
}

export interface VerifierKey {
  name: string;
  keyId: number;
  publicKey: Uint8Array; // 32 bytes
}

export function keyId(name: string, publicKey: Uint8Array): number {
  const h = sha256(new TextEncoder().encode(name + '\n'), Uint8Array.of(ALG_ED25519), publicKey);
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
}

export function hexId(id: number): string {
  return id.toString(16).padStart(8, '0');
}

export function checkKeyName(name: string): void {
  if (!NAME_RE.test(name)) throw new NoteError('MALFORMED_KEY', `key name ${JSON.stringify(name)} must be non-empty with no spaces or '+'`);
}

export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  checkKeyName(name);
  return `${name}+${hexId(keyId(name, publicKey))}+${b64(concat(Uint8Array.of(ALG_ED25519), publicKey))}`;
}

export function parseVerifierKey(text: string): VerifierKey {
  const parts = splitN(text.trim(), '+', 3);
  if (parts.length !== 3) throw new NoteError('MALFORMED_KEY', 'verifier key must be <name>+<hex id>+<base64 key>');
  const [name, idHex, keyB64] = parts as [string, string, string];
  checkKeyName(name);
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new NoteError('MALFORMED_KEY', 'verifier key id must be 8 lowercase hex digits');
  const raw = unb64(keyB64);
  if (raw === null || raw.length !== 33 || raw[0] !== ALG_ED25519) {
    throw new NoteError('MALFORMED_KEY', 'verifier key must be base64 of 0x01 followed by a 32-byte Ed25519 public key');
  }
  const publicKey = raw.subarray(1);
  const id = keyId(name, publicKey);
  if (hexId(id) !== idHex) throw new NoteError('MALFORMED_KEY', `verifier key id ${idHex} does not match its key (${hexId(id)})`);
  return { name, keyId: id, publicKey };
}

export interface SignerKeyMaterial {
  name: string;
  keyId: number;
  seed: Uint8Array; // 32 bytes
}

export function formatSignerKey(name: string, seed: Uint8Array, publicKey: Uint8Array): string {
  checkKeyName(name);
  return `PRIVATE+KEY+${name}+${hexId(keyId(name, publicKey))}+${b64(concat(Uint8Array.of(ALG_ED25519), seed))}`;
}

/** Parses a signer key; the key id is checked by the caller once the public key is derived. */
export function parseSignerKey(text: string): SignerKeyMaterial {
  const parts = splitN(text.trim(), '+', 5);
  if (parts.length !== 5 || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') {
    throw new NoteError('MALFORMED_KEY', 'signer key must be PRIVATE+KEY+<name>+<hex id>+<base64 seed>');
  }
  const [, , name, idHex, seedB64] = parts as [string, string, string, string, string];
  checkKeyName(name);
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new NoteError('MALFORMED_KEY', 'signer key id must be 8 lowercase hex digits');
  const raw = unb64(seedB64);
  if (raw === null || raw.length !== 33 || raw[0] !== ALG_ED25519) {
    throw new NoteError('MALFORMED_KEY', 'signer key must be base64 of 0x01 followed by a 32-byte Ed25519 seed');
  }
  return { name, keyId: parseInt(idHex, 16), seed: raw.subarray(1) };
}

export interface NoteSignature {
  name: string;
  keyId: number;
  signature: Uint8Array; // 64 bytes for Ed25519
}

export interface ParsedNote {
  text: string; // the signed text, ending in '\n'
  signatures: NoteSignature[];
}

/** Formats one signature line: "— <name> <base64(id || sig)>\n". */
export function formatSignatureLine(name: string, id: number, signature: Uint8Array): string {
  const idBytes = Uint8Array.of(id >>> 24, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff);
  return `${SIG_PREFIX}${name} ${b64(concat(idBytes, signature))}\n`;
}

export function parseNote(note: string): ParsedNote {
  if (!note.endsWith('\n')) throw new NoteError('MALFORMED_NOTE', 'note must end with a newline');
  const sep = note.lastIndexOf('\n\n');
  if (sep < 0) throw new NoteError('MALFORMED_NOTE', 'note has no blank line before its signatures');
  const text = note.slice(0, sep + 1);
  const sigLines = note.slice(sep + 2, -1).split('\n');
  const signatures: NoteSignature[] = [];
  for (const line of sigLines) {
    if (!line.startsWith(SIG_PREFIX)) throw new NoteError('MALFORMED_NOTE', 'signature line must start with "\u2014 "');
    const rest = line.slice(SIG_PREFIX.length);
    const sp = rest.indexOf(' ');
    if (sp <= 0) throw new NoteError('MALFORMED_NOTE', 'signature line must be "\u2014 <name> <base64>"');
    const name = rest.slice(0, sp);
    const raw = unb64(rest.slice(sp + 1));
    if (raw === null || raw.length < 5) throw new NoteError('MALFORMED_NOTE', 'signature is not valid base64 of id || signature');
    const id = ((raw[0]! << 24) | (raw[1]! << 16) | (raw[2]! << 8) | raw[3]!) >>> 0;
    signatures.push({ name, keyId: id, signature: raw.subarray(4) });
  }
  if (signatures.length === 0) throw new NoteError('MALFORMED_NOTE', 'note has no signatures');
  return { text, signatures };
}

const keyObjects = new WeakMap<VerifierKey, KeyObject>();
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Verifies that `note` carries a valid signature by one of `keys`; returns the key that signed. */
export function verifyNote(note: ParsedNote, keys: readonly VerifierKey[]): VerifierKey {
  const msg = new TextEncoder().encode(note.text);
  let known = false;
  for (const sig of note.signatures) {
    const key = keys.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (!key) continue;
    known = true;
    let ko = keyObjects.get(key);
    if (!ko) {
      ko = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, key.publicKey]), format: 'der', type: 'spki' });
      keyObjects.set(key, ko);
    }
    if (sig.signature.length === 64 && edVerify(null, msg, ko, sig.signature)) return key;
  }
  if (!known)
    throw new NoteError(
      'UNKNOWN_KEY',
      `no signature by a known key (signed by ${note.signatures.map((s) => `${s.name}+${hexId(s.keyId)}`).join(', ')})`,
    );
  throw new NoteError('BAD_SIGNATURE', 'signature does not verify');
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array; // 32 bytes
  extensions: string[];
}

export function formatCheckpointBody(origin: string, size: number, root: Uint8Array): string {
  return `${origin}\n${size}\n${b64(root)}\n`;
}

/** Parses the signed text of a tlog-checkpoint (origin, decimal size, base64 root, extensions). */
export function parseCheckpointBody(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '')
    throw new NoteError('MALFORMED_CHECKPOINT', 'checkpoint needs origin, size and root lines');
  const [origin, sizeStr, rootB64] = lines as [string, string, string];
  if (origin === '') throw new NoteError('MALFORMED_CHECKPOINT', 'checkpoint origin is empty');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeStr))
    throw new NoteError('MALFORMED_CHECKPOINT', `checkpoint size ${JSON.stringify(sizeStr)} is not a decimal integer`);
  const size = Number(sizeStr);
  if (!Number.isSafeInteger(size)) throw new NoteError('MALFORMED_CHECKPOINT', 'checkpoint size is too large');
  const root = unb64(rootB64);
  if (root === null || root.length !== 32) throw new NoteError('MALFORMED_CHECKPOINT', 'checkpoint root must be base64 of 32 bytes');
  return { origin, size, root, extensions: lines.slice(3, -1) };
}

export function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Strict standard base64 (with padding); null when not canonical. */
export function unb64(s: string): Uint8Array | null {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) return null;
  const out = Buffer.from(s, 'base64');
  if (out.toString('base64') !== s) return null;
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Splits on `sep` at most n-1 times: the last field is base64 and may itself contain '+'. */
function splitN(s: string, sep: string, n: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (out.length < n - 1) {
    const i = rest.indexOf(sep);
    if (i < 0) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + 1);
  }
  out.push(rest);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
