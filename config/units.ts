// Sizes and durations as written in the YAML config. Both return null for malformed input so
// the schema walker can report the key path. Bare numbers are bytes for sizes, but are refused
// for durations: "30" could mean seconds or milliseconds, and guessing wrong is silent.

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  B: 1,
  KB: 1e3,
  kB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
};

/** Parses 4194304, "4194304", "4MiB", "512KiB", "1GiB", "10MB", "1.5MiB" into whole bytes. */
export function parseSize(v: unknown): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : null;
  if (typeof v !== 'string') return null;
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(v.trim());
  if (!m) return null;
  const mult = SIZE_UNITS[m[2]!];
  if (mult === undefined) return null;
  const n = Number(m[1]) * mult;
  return Number.isSafeInteger(n) ? n : null;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses Go-style durations ("500ms", "5s", "2m", "1h", "1m30s", "0") into whole milliseconds. */
export function parseDuration(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return null;
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos === 0 || !Number.isSafeInteger(total)) return null;
  return total;
}
