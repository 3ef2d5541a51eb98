// Archive object layout, identical in every sink (file directory, S3 prefix, ...):
//   <origin>/<start>-<end>.entries.jsonl      entries [start, end), one line each, '\n'-terminated
//   <origin>/<start>-<end>.entries.jsonl.gz   the same, gzip-compressed
//   <origin>/<start>-<end>.checkpoint         signed checkpoint of tree size `end`
// <start> and <end> are zero-padded to 16 decimal digits, so names sort in log order.
// <origin> is "sealtrail/<agent name>/<chain id>", which is also the checkpoint origin line.

export const POS_DIGITS = 16;
const AGENT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const CHAIN_ID_RE = /^[0-9a-f]{32}$/;
const NAME_RE =
  /^sealtrail\/([A-Za-z0-9][A-Za-z0-9._-]{0,62})\/([0-9a-f]{32})\/([0-9]{16})-([0-9]{16})\.(entries\.jsonl|entries\.jsonl\.gz|checkpoint)$/;

export function isValidAgentName(name: string): boolean {
  return AGENT_NAME_RE.test(name);
}

export function makeOrigin(agentName: string, chainId: string): string {
  if (!AGENT_NAME_RE.test(agentName)) throw new Error(`invalid agent name ${JSON.stringify(agentName)}`);
  if (!CHAIN_ID_RE.test(chainId)) throw new Error(`invalid chain id ${JSON.stringify(chainId)}`);
  return `sealtrail/${agentName}/${chainId}`;
}

export function pos(n: number): string {
  return String(n).padStart(POS_DIGITS, '0');
}

export function entriesObjectName(origin: string, start: number, end: number, gzip: boolean): string {
  return `${origin}/${pos(start)}-${pos(end)}.entries.jsonl${gzip ? '.gz' : ''}`;
}

export function checkpointObjectName(origin: string, start: number, end: number): string {
  return `${origin}/${pos(start)}-${pos(end)}.checkpoint`;
}

export type ObjectKind = 'entries' | 'entries.gz' | 'checkpoint';

export interface ParsedObjectName {
  origin: string;
  agentName: string;
  chainId: string;
  start: number;
  end: number;
  kind: ObjectKind;
}

/** Parses an object name of this layout; null for anything else (reported as unreferenced). */
export function parseObjectName(name: string): ParsedObjectName | null {
  const m = NAME_RE.exec(name);
  if (!m) return null;
  const start = Number(m[3]);
  const end = Number(m[4]);
  if (end <= start) return null;
  const kind: ObjectKind = m[5] === 'checkpoint' ? 'checkpoint' : m[5] === 'entries.jsonl' ? 'entries' : 'entries.gz';
  return { origin: `sealtrail/${m[1]}/${m[2]}`, agentName: m[1]!, chainId: m[2]!, start, end, kind };
}
