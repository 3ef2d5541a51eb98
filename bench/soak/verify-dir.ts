// Verifies an archive directory with the verifier library, as `sealtrail verify` does.
import { DirArchiveReader } from '../../verify/dir-archive.js';
import { parseVerifierKey } from '../../verify/note.js';
import { verifyArchive } from '../../verify/verifier.js';

export async function verifyDir(
  archiveDir: string,
  verifierKey: string,
): Promise<{ ok: boolean; origins: number; entries: number; problems: string[] }> {
  const r = await verifyArchive(new DirArchiveReader(archiveDir), { keys: [parseVerifierKey(verifierKey)] });
  return {
    ok: r.ok && r.origins.length === 1,
    origins: r.origins.length,
    entries: r.origins.reduce((a, o) => a + o.entries, 0),
    problems: r.problems.slice(0, 5).map((p) => `${p.code}: ${p.message}`),
  };
}
