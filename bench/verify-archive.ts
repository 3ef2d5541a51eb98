// Scenario: verify throughput on the archive the ingest run produced, using the verify bench's
// child mode (bench/verify.bench.ts) so the verifier runs alone in its own process.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { diskBytes } from './lib/proc-stats.js';

export interface VerifyResult {
  entries: number;
  seconds: number;
  entriesPerSec: number;
  mbPerSec: number;
  archiveBytes: number;
  peakRssBytes: number;
}

export function verifyThroughput(archiveDir: string, verifierKey: string): VerifyResult {
  const bench = path.join(path.dirname(fileURLToPath(import.meta.url)), 'verify.bench.js');
  const out = JSON.parse(execFileSync(process.execPath, [bench, '--child', archiveDir, verifierKey, 'node'], { encoding: 'utf8' })) as {
    ms: number;
    entries: number;
    maxRssKiB: number;
  };
  const bytes = diskBytes(archiveDir);
  const seconds = out.ms / 1000;
  return {
    entries: out.entries,
    seconds,
    entriesPerSec: out.entries / seconds,
    mbPerSec: bytes / 1e6 / seconds,
    archiveBytes: bytes,
    peakRssBytes: out.maxRssKiB * 1024,
  };
}
