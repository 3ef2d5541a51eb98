// A sink provided by a package (docs/sink-packages.md). The package's factory returns an
// object with the Sink interface; this wrapper loads the package on start() (inside the sink's
// worker thread, like every sink), checks the object's shape, and turns the errors it throws
// into SealtrailErrors: a package does not share sealtrail's error class, so the contract is
// an Error whose `code` is SINK_CONFLICT, SINK_TRANSIENT or SINK_PERMANENT. Any other error
// counts as SINK_TRANSIENT, so an unexpected failure is retried, never treated as delivered.
import { SealtrailError, errorMessage, type ErrorCode } from '../../lib/errors.js';
import type { LogFn } from '../../lib/log.js';
import type { ModuleExporterConfig } from '../../config/types.js';
import type { PutResult, Sink } from '../sink.js';
import { loadSinkFactory } from './load-package.js';

/** What a sink package exports (as `createSink` or as its default export). */
export type SinkFactory = (ctx: SinkFactoryContext) => Sink | Promise<Sink>;

export interface SinkFactoryContext {
  /** The exporter id from the config, e.g. "module/gcs". The returned sink must use it as its id. */
  id: string;
  /** The exporter's keys from the config other than `package` and `compression`, unchanged. */
  options: Record<string, unknown>;
  /** Structured log lines, shown in the agent's log with the sink's id. */
  log: LogFn;
}

const SINK_CODES: ReadonlySet<string> = new Set(['SINK_CONFLICT', 'SINK_TRANSIENT', 'SINK_PERMANENT', 'CONFIG']);

function coded(id: string, err: unknown): SealtrailError {
  if (err instanceof SealtrailError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && SINK_CODES.has(code)) return new SealtrailError(code as ErrorCode, errorMessage(err), { cause: err });
  return new SealtrailError('SINK_TRANSIENT', `sink ${id}: ${errorMessage(err)}`, { cause: err });
}

function checkShape(id: string, s: unknown): Sink {
  const o = s as Record<string, unknown> | null;
  const missing = ['start', 'put', 'get', 'close'].filter((m) => typeof o?.[m] !== 'function');
  if (o === null || typeof o !== 'object' || missing.length > 0) {
    throw new SealtrailError(
      'CONFIG',
      `exporters.${id}: the package's factory did not return a sink (missing ${missing.join(', ') || 'object'})`,
    );
  }
  return o as unknown as Sink;
}

/** Wraps a sink object from a package: coded errors become SealtrailErrors; results are checked. */
export function wrapPackageSink(id: string, inner: Sink): Sink {
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw coded(id, err);
    }
  };
  return {
    id,
    start: () => guard(() => Promise.resolve(inner.start())),
    async put(name, body): Promise<PutResult> {
      const r = await guard(() => Promise.resolve(inner.put(name, body)));
      if (r !== 'written' && r !== 'exists')
        throw new SealtrailError('SINK_PERMANENT', `sink ${id}: put() resolved ${JSON.stringify(r)}, not "written" or "exists"`);
      return r;
    },
    async get(name) {
      const r = await guard(() => Promise.resolve(inner.get(name)));
      if (r !== null && !(r instanceof Uint8Array))
        throw new SealtrailError('SINK_PERMANENT', `sink ${id}: get() must resolve a Uint8Array or null`);
      return r;
    },
    close: () => guard(() => Promise.resolve(inner.close())),
  };
}

/** Builds a wrapped sink straight from a factory (what the conformance suite's users call). */
export async function sinkFromFactory(factory: SinkFactory, ctx: SinkFactoryContext): Promise<Sink> {
  return wrapPackageSink(ctx.id, checkShape(ctx.id, await factory(ctx)));
}

export class ModuleSink implements Sink {
  readonly id: string;
  private inner: Sink | null = null;
  private closed = false;

  constructor(
    private readonly cfg: ModuleExporterConfig,
    private readonly log: LogFn,
  ) {
    this.id = cfg.id;
  }

  async start(): Promise<void> {
    if (this.inner === null) {
      const factory = await loadSinkFactory(this.cfg);
      const log: LogFn = (level, msg, fields) => this.log(level, msg, { sink: this.id, ...fields });
      try {
        this.inner = await sinkFromFactory(factory, { id: this.id, options: structuredClone(this.cfg.options), log });
      } catch (err) {
        throw err instanceof SealtrailError
          ? err
          : new SealtrailError('CONFIG', `exporters.${this.id}: the package's factory failed: ${errorMessage(err)}`, { cause: err });
      }
    }
    await this.inner.start();
  }

  private started(): Sink {
    if (this.inner === null) throw new SealtrailError('SINK_TRANSIENT', `sink ${this.id} is not started`);
    return this.inner;
  }

  put(name: string, body: Uint8Array): Promise<PutResult> {
    return Promise.resolve().then(() => this.started().put(name, body));
  }

  get(name: string): Promise<Uint8Array | null> {
    return Promise.resolve().then(() => this.started().get(name));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.inner?.close();
  }
}
