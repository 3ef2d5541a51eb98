// Hints for a verify pointed at the wrong place: a part of an archive (one or more levels too
// deep) or a directory that holds an archive further down. Pure: looks only at object names.
import path from 'node:path';
import { parseObjectName } from './layout.js';

const MAX_NAMES = 10_000;
// Stand-ins for the levels above a batch object: "sealtrail/<agent name>/<chain id>/".
const LEVELS = ['sealtrail', 'agent', '0'.repeat(32)];

/**
 * When `names` (relative to `location`) show an archive root elsewhere, a sentence saying
 * where; null when nothing in them looks like a part of an archive.
 */
export function suggestArchiveRoot(location: string, names: readonly string[]): string | null {
  for (const name of names.slice(0, MAX_NAMES)) {
    const parts = name.split('/');
    // Too deep: the object names lack their first 1-3 levels.
    const missing = 4 - parts.length;
    if (missing >= 1 && missing <= 3 && parseObjectName([...LEVELS.slice(0, missing), ...parts].join('/'))) {
      return `${location} looks like a part of an archive (${missing === 1 ? 'one level' : `${missing} levels`} below its root): point verify at the archive root, e.g. ${up(location, missing)}`;
    }
    // Too high: a full layout name further down.
    for (let i = 1; i + 4 <= parts.length; i++) {
      if (parseObjectName(parts.slice(i).join('/'))) {
        return `an archive lies further down: point verify at its root, e.g. ${down(location, parts.slice(0, i))}`;
      }
    }
  }
  return null;
}

function up(location: string, levels: number): string {
  const s3 = /^(s3:\/\/[^/]+\/)(.*)$/.exec(location);
  if (s3) {
    const segs = s3[2]!.split('/').filter((x) => x !== '');
    const kept = segs.slice(0, Math.max(0, segs.length - levels));
    return s3[1]! + kept.map((x) => `${x}/`).join('');
  }
  return path.resolve(location, ...Array<string>(levels).fill('..'));
}

function down(location: string, parts: string[]): string {
  if (location.startsWith('s3://')) return `${location.endsWith('/') ? location : `${location}/`}${parts.join('/')}/`;
  return path.join(location, ...parts);
}
