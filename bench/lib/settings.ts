// Bench settings from flags (--name value) or environment (BENCH_NAME), flags winning.
import type { RecordShape } from './requests.js';

export interface BenchSettings {
  concurrency: number;
  recordsPerRequest: number[]; // the matrix
  shapes: RecordShape[];
  durationMs: number; // measured window per scenario step
  warmupMs: number;
  openLoopMs: number;
  levels: number[]; // open-loop fractions of the measured maximum
  transports: Array<'grpc' | 'http'>;
  out: string;
}

export function readSettings(argv = process.argv.slice(2), env = process.env): BenchSettings {
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i >= 0 && argv[i + 1] !== undefined) return argv[i + 1];
    return env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  };
  const nums = (v: string | undefined, d: number[]): number[] =>
    v
      ? v
          .split(',')
          .map(Number)
          .filter((n) => Number.isFinite(n) && n > 0)
      : d;
  // --sizes audit,250,1024: the realistic audit record, or synthetic records of N protobuf bytes.
  const shapeList = (v: string | undefined, d: RecordShape[]): RecordShape[] =>
    v ? v.split(',').flatMap((x): RecordShape[] => (x === 'audit' ? ['audit'] : Number(x) > 0 ? [Number(x)] : [])) : d;
  const secs = (v: string | undefined, d: number): number => (v && Number(v) > 0 ? Number(v) * 1000 : d);
  const quick = argv.includes('--quick') || env.BENCH_QUICK === '1';
  return {
    concurrency: nums(flag('concurrency'), [16])[0]!,
    recordsPerRequest: nums(flag('records'), [100, 500, 2000]),
    shapes: shapeList(flag('sizes'), quick ? ['audit'] : ['audit', 250, 1024]),
    durationMs: secs(flag('duration'), quick ? 3000 : 10000),
    warmupMs: secs(flag('warmup'), quick ? 1000 : 2000),
    openLoopMs: secs(flag('open-duration'), quick ? 3000 : 10000),
    levels: nums(flag('levels'), [0.25, 0.5, 0.75]),
    transports: (flag('transports') ?? 'grpc,http').split(',').filter((t): t is 'grpc' | 'http' => t === 'grpc' || t === 'http'),
    out: flag('out') ?? 'docs/benchmarks.md',
  };
}
