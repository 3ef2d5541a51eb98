// Process settings that keep the agent's memory bounded under load, applied by re-executing
// `sealtrail run` once, before anything is opened (process.execve: Node >= 22.15, Linux; same
// pid, same stdio, same arguments). Measured on this project's 2-core machine under a closed
// loop of 500-record gRPC requests of audit records (peak VmRSS of the agent):
//  - MALLOC_ARENA_MAX=1: glibc gives each thread that allocates (the libuv pool running LevelDB
//    writes, LevelDB's compaction thread, the workers) an arena that keeps the multi-MB buffers
//    it freed, each arena with its own free space and trim threshold. Two arenas instead of
//    glibc's default of eight per core: 444 -> 333 MiB on Node 20, 453 -> 369 MiB on Node 24,
//    at the same rate. One arena, against two (Node 24.22.3, 2026-12-03, alternating pairs,
//    peak RSS): gRPC 500 audit 254 / 254 / 251 -> 240 / 252 / 248 MiB at 10.9 / 11.1 / 10.7 ->
//    10.7 / 10.0 / 10.5 CPU s per million records, gRPC 2000 audit 294 / 293 -> 279 / 268, HTTP
//    2000 audit 289 / 291 -> 277 / 270, the open-loop overload step 296 / 304 -> 290 / 275: the
//    threads' locking on one arena cost nothing measurable on two cores.
//  - --max-semi-space-size=8 (MiB): V8 on Node 24 grew its young generation to about 150 MiB
//    under this allocation rate; capped, the heap stays near 40 MiB (369 -> 292 MiB RSS). The
//    price is more frequent scavenges: 29-35 CPU s per million records against 27-30 without
//    either setting, in three paired runs each (at the edge of this shared machine's noise).
//  - --initial-old-space-size=64 (MiB): the buffers a request passes through (body, entry
//    tails, commit and batch buffers) count towards V8's heap limits, and with the small initial
//    limit the main thread ran a full (mark-compact) collection about 6 times a second at 25,000
//    records/s, on a heap of under 20 MiB. With this setting (Node 24.22.3, two paired runs
//    each): at 25,000 records/s 70-76 -> 16 full collections in 12 s, 30.2-33.7 -> 24.8-25.6
//    CPU s per million records, peak RSS 221-227 -> 262-273 MiB; in a closed loop 44-46k ->
//    55-58k records/s and 29.5-30.4 -> 22.3-22.8 CPU s per million.
//  - MALLOC_MMAP_THRESHOLD_=16 MiB with MALLOC_TRIM_THRESHOLD_=32 MiB: glibc otherwise maps
//    the multi-MB buffers of each commit (LevelDB's write batch growing to 8 MiB, the commit's
//    line buffer, request bodies) fresh and returns them on free, and the main thread then
//    paid page faults on every commit: classic-level's batch_do took 0.84-0.98 ns per byte
//    against 0.33 with the settings (4 MiB commits of 256 KiB values). In the agent (Node
//    24.22.3, 10 s closed loops, alternating pairs, 2026-12-03): gRPC 500 audit 12.3 / 13.6 /
//    13.0 -> 11.3 / 11.8 / 12.0 CPU s per million records, HTTP 500 audit 13.3 / 12.1 -> 10.7 /
//    10.1; the price is what malloc keeps: peak RSS -2 to +19 MiB in 500-record rows, +11 to
//    +39 MiB with 2000 records of 1 KB, none at 25,000 records/s. A lower trim threshold gives
//    the CPU back (4 MiB: worse than glibc's defaults). Figures: docs/architecture.md.
// An operator's own MALLOC_* settings or heap flags win; SEALTRAIL_PROCESS_TUNING=off keeps the
// process exactly as started.

const MARK = 'SEALTRAIL_PROCESS_TUNED';
const SEMI_SPACE_FLAG = '--max-semi-space-size=8';
const OLD_SPACE_FLAG = '--initial-old-space-size=64';
const MMAP_THRESHOLD = String(16 << 20);
const TRIM_THRESHOLD = String(32 << 20);

/** Whether GLIBC_TUNABLES already sets malloc's mmap or trim threshold (the newer spelling of the same settings). */
function hasMallocTunable(env: NodeJS.ProcessEnv): boolean {
  return /glibc\.malloc\.(mmap|trim)_threshold=/.test(env.GLIBC_TUNABLES ?? '');
}

type Execve = (file: string, args: string[], env: Record<string, string | undefined>) => never;

/** The arguments and environment to re-execute with, or null to run as started. */
export function tunedExec(
  env: NodeJS.ProcessEnv,
  execArgv: readonly string[],
  argv: readonly string[],
  execPath: string,
): { args: string[]; env: Record<string, string | undefined> } | null {
  if (env[MARK] === '1' || env.SEALTRAIL_PROCESS_TUNING === 'off') return null;
  const has = (name: string): boolean => [...execArgv, env.NODE_OPTIONS ?? ''].some((a) => a.includes(name));
  const flags: string[] = [];
  if (!has('semi-space-size')) flags.push(SEMI_SPACE_FLAG);
  // 'old-space-size' covers --max-old-space-size too: an operator's cap is never exceeded.
  if (!has('old-space-size') && !has('initial-heap-size')) flags.push(OLD_SPACE_FLAG);
  const malloc: Record<string, string> = {};
  if (env.MALLOC_ARENA_MAX === undefined) malloc.MALLOC_ARENA_MAX = '1';
  // Either one set by the operator keeps both as they are: glibc fixes both once one is set.
  if (env.MALLOC_MMAP_THRESHOLD_ === undefined && env.MALLOC_TRIM_THRESHOLD_ === undefined && !hasMallocTunable(env)) {
    malloc.MALLOC_MMAP_THRESHOLD_ = MMAP_THRESHOLD;
    malloc.MALLOC_TRIM_THRESHOLD_ = TRIM_THRESHOLD;
  }
  if (flags.length === 0 && Object.keys(malloc).length === 0) return null;
  return {
    args: [execPath, ...flags, ...execArgv, ...argv.slice(1)],
    env: { ...env, ...malloc, [MARK]: '1' },
  };
}

/** Re-executes the process with the settings above when this Node can; returns otherwise. */
export function applyProcessTuning(): void {
  const execve = (process as unknown as { execve?: Execve }).execve;
  if (process.platform !== 'linux' || typeof execve !== 'function') return;
  const t = tunedExec(process.env, process.execArgv, process.argv, process.execPath);
  if (t === null) return;
  try {
    execve.call(process, process.execPath, t.args, t.env);
  } catch {
    // Not allowed here (e.g. a seccomp profile): run as started, the settings are an optimisation.
  }
}
