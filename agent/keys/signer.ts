// Ed25519 signer keys in the C2SP/Go note format, kept in files with mode 0600.
// The agent refuses a signer key file that anyone but its owner can read or write.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SealtrailError } from '../../lib/errors.js';
import { formatSignatureLine, formatSignerKey, formatVerifierKey, hexId, keyId, parseSignerKey, checkKeyName } from '../../verify/note.js';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export class NoteSigner {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  private readonly key: KeyObject;

  constructor(name: string, seed: Uint8Array) {
    checkKeyName(name);
    if (seed.length !== 32) throw new SealtrailError('KEY', 'Ed25519 seed must be 32 bytes');
    this.name = name;
    this.key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    const spki = createPublicKey(this.key).export({ format: 'der', type: 'spki' });
    this.publicKey = new Uint8Array(spki.subarray(spki.length - 32));
    this.keyId = keyId(name, this.publicKey);
  }

  /** The verifier key line: <name>+<hex id>+<base64(0x01||pub)>. */
  verifierKey(): string {
    return formatVerifierKey(this.name, this.publicKey);
  }

  /** Signs `text` (which must end in '\n') and returns the complete signed note. */
  signNote(text: string): string {
    if (!text.endsWith('\n')) throw new Error('note text must end with a newline');
    const sig = sign(null, Buffer.from(text, 'utf8'), this.key);
    return `${text}\n${formatSignatureLine(this.name, this.keyId, sig)}`;
  }
}

export interface GeneratedKey {
  signerKey: string;
  verifierKey: string;
}

export function generateKey(name: string): GeneratedKey {
  checkKeyName(name);
  const { privateKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const seed = new Uint8Array(der.subarray(der.length - 32));
  const signer = new NoteSigner(name, seed);
  return { signerKey: formatSignerKey(name, seed, signer.publicKey), verifierKey: signer.verifierKey() };
}

/** Writes <dir>/<name>.key (0600, exclusive create) and <dir>/<name>.pub. */
export async function writeKeyFiles(dir: string, name: string): Promise<{ keyPath: string; pubPath: string; verifierKey: string }> {
  const k = generateKey(name);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const keyPath = path.join(dir, `${name}.key`);
  const pubPath = path.join(dir, `${name}.pub`);
  await writeExclusive(keyPath, k.signerKey + '\n', 0o600);
  await writeExclusive(pubPath, k.verifierKey + '\n', 0o644);
  return { keyPath, pubPath, verifierKey: k.verifierKey };
}

async function writeExclusive(file: string, data: string, mode: number): Promise<void> {
  let fh;
  try {
    fh = await fs.open(file, 'wx', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new SealtrailError('KEY', `${file} already exists; refusing to overwrite a key`);
    }
    throw err;
  }
  try {
    await fh.writeFile(data);
    await fh.chmod(mode); // umask may have narrowed or widened nothing, but be explicit
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Loads a signer key file, refusing one that group or others can access. */
export async function loadSignerKey(file: string): Promise<NoteSigner> {
  let st;
  try {
    st = await fs.stat(file);
  } catch (err) {
    throw new SealtrailError('KEY', `cannot read signer key ${file}: ${(err as Error).message}`, { cause: err });
  }
  if ((st.mode & 0o077) !== 0) {
    throw new SealtrailError(
      'KEY',
      `signer key ${file} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}; it must not be accessible to group or others (chmod 600)`,
    );
  }
  const text = await fs.readFile(file, 'utf8');
  let parsed;
  try {
    parsed = parseSignerKey(text);
  } catch (err) {
    throw new SealtrailError('KEY', `signer key ${file}: ${(err as Error).message}`, { cause: err });
  }
  const signer = new NoteSigner(parsed.name, parsed.seed);
  if (signer.keyId !== parsed.keyId) {
    throw new SealtrailError('KEY', `signer key ${file}: key id ${hexId(parsed.keyId)} does not match the key (${hexId(signer.keyId)})`);
  }
  return signer;
}
