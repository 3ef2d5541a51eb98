// Opens an archive location given on the command line. Directories now; an s3://bucket/prefix
// reader plugs in here (same layout, same ArchiveReader interface).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ArchiveReader } from './archive.js';
import { DirArchiveReader } from './dir-archive.js';
import { VerifyError } from './errors.js';

export async function openArchive(location: string): Promise<ArchiveReader> {
  // Loaded on demand: the AWS SDK stays out of directory verification.
  if (location.startsWith('s3://')) return (await import('./s3-archive.js')).openS3Archive(location)!;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new VerifyError('UNSUPPORTED', `archive location ${location}: only directories are supported so far`);
  }
  const dir = path.resolve(location);
  let st;
  try {
    st = await fs.stat(dir);
  } catch (err) {
    throw new VerifyError('IO', `cannot open archive ${location}: ${(err as Error).message}`, { cause: err });
  }
  if (!st.isDirectory()) throw new VerifyError('IO', `archive ${location} is not a directory`);
  return new DirArchiveReader(dir);
}
