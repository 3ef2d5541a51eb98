// Lifecycle of one agent: start-up (key, buffer, genesis or recovery, sinks, receivers) and
// graceful shutdown (stop accepting, stop entry, seal, drain sinks up to a timeout).
// shutdown() is safe to call twice and before start() finished.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LoadedConfig } from '../config/types.js';
import { errorMessage, isSealtrailError } from '../lib/errors.js';
import { loadSignerKey, writeKeyFiles, type NoteSigner } from './keys/signer.js';
import { BufferWriter } from './buffer/writer.js';
import { DataDirLock } from './buffer/dir-lock.js';
import type { HighWaterFile } from './buffer/high-water.js';
import { openChain } from './buffer/open-chain.js';
import { compileFilter } from './filter/audit-filter.js';
import { createAuditContext } from './context/audit-context.js';
import { decodeLimitsFor } from './otlp/model.js';
import { DecodePool } from './otlp/decode-pool.js';
import { AuditPipeline } from './pipeline/audit-pipeline.js';
import { Forwarder } from './delivery/forwarder.js';
import { startForwarding, type Forwarding } from './forward/forwarding.js';
import { startGateway } from '../gateway/server.js';
import { ownEntry, ownResource } from './own-events.js';
import { Metrics, gauge, counter, label } from './telemetry/metrics.js';
import { startTelemetryServer, type TelemetryServer } from './telemetry/server.js';
import type { LogFn } from '../lib/log.js';
import { startGrpcReceiver } from './receivers/otlp-grpc.js';
import { startHttpReceiver } from './receivers/otlp-http.js';
import { InflightBudget } from './receivers/inflight.js';
import { createSink } from '../exporters/factory.js';
import type { Sink } from '../exporters/sink.js';

interface Closable {
  address: string;
  close(graceful: boolean): Promise<void>;
}

export interface AgentAddresses {
  grpc: string | null;
  http: string | null;
  telemetry: string | null;
  gateway?: string | null;
}

export class Agent {
  readonly metrics = new Metrics();
  private lock: DataDirLock | null = null;
  private highWater: HighWaterFile | null = null;
  private sinks: Sink[] = [];
  private writer: BufferWriter | null = null;
  private pipeline: AuditPipeline | null = null;
  private forwarders: Forwarder[] = [];
  private forwarding: Forwarding | null = null;
  private decoder: DecodePool | null = null;
  private receivers: Closable[] = [];
  private telemetry: TelemetryServer | null = null;
  private ready = false;
  private startedAt = Date.now();
  private stopping: Promise<void> | null = null;
  /** What a running shutdown is waiting for (for the log when it overruns its bound). */
  shutdownStage = '';
  private startup: Promise<AgentAddresses> | null = null;
  private batchesSealed = 0;
  origin = '';
  verifierKeyPath: string | null = null;

  constructor(
    private readonly loaded: LoadedConfig,
    private readonly log: LogFn,
  ) {}

  start(): Promise<AgentAddresses> {
    if (!this.startup) this.startup = this.doStart();
    return this.startup;
  }

  private async doStart(): Promise<AgentAddresses> {
    const cfg = this.loaded.config;
    const a = cfg.agent;
    await fs.mkdir(a.dataDir, { recursive: true });
    // Before anything else touches the data directory: one agent per directory.
    this.lock = await DataDirLock.acquire(a.dataDir);
    const addrs: AgentAddresses = { grpc: null, http: null, telemetry: null };
    if (a.telemetry.endpoint) {
      this.telemetry = await startTelemetryServer(a.telemetry.endpoint, this.metrics, () => this.readiness());
      addrs.telemetry = this.telemetry.address;
    }
    const signer = await this.loadKey();
    const sinks = cfg.exporters.map((e) => createSink(e, this.log));
    this.sinks = sinks;
    const opened = await openChain({
      dataDir: a.dataDir,
      agentName: a.name,
      environment: a.environment,
      signer,
      sinkIds: sinks.map((s) => s.id),
      seal: cfg.seal,
      maxBufferBytes: a.buffer.maxBytes,
      configDigest: this.loaded.digest,
      log: this.log,
    });
    this.writer = opened.writer;
    this.highWater = opened.highWater;
    this.origin = opened.origin;
    this.writer.on('sealed', () => this.batchesSealed++);

    for (const [i, s] of sinks.entries()) {
      let needsStart = false;
      try {
        await s.start();
      } catch (err) {
        // Misconfiguration fails fast; a store that is only unreachable now is retried by the
        // forwarder like any other outage, while the agent keeps accepting into the buffer.
        if (!isSealtrailError(err, 'SINK_TRANSIENT')) throw err;
        this.log('warn', 'sink unreachable at start-up; batches wait in the buffer until it is back', { sink: s.id, error: err.message });
        needsStart = true;
      }
      const exp = cfg.exporters[i]!;
      const f = new Forwarder(s, this.writer, exp.compression === 'gzip', a.retry, this.log);
      f.needsStart = needsStart;
      this.forwarders.push(f);
      f.start();
    }
    this.registerGauges();

    const context = createAuditContext(cfg.context, a.environment, this.metrics, this.log);
    this.pipeline = new AuditPipeline(compileFilter(cfg.filter.rules), this.writer, this.metrics, undefined, this.log, context);
    this.forwarding = startForwarding(cfg, this.metrics, this.log);
    this.pipeline.tap = this.forwarding;
    // One in-flight budget for both protocols: the bound is on the receiver's memory as a whole.
    const inflight = new InflightBudget(cfg.receivers.maxInflightBytes);
    const decodeLimits = decodeLimitsFor(cfg.receivers, a.environment);
    // Bodies are decoded in a worker thread, except when forwarding pipelines need the decoded
    // records themselves on this thread.
    if (this.forwarding === null) {
      this.decoder = new DecodePool(
        {
          limits: { ...decodeLimits, maxDepth: cfg.receivers.maxDepth },
          filterRules: cfg.filter.rules,
          context: cfg.context,
          environment: a.environment,
        },
        context,
        this.log,
      );
    }
    const opts = {
      maxDepth: cfg.receivers.maxDepth,
      decodeLimits,
      log: this.log,
      metrics: this.metrics,
      inflight,
      decoder: this.decoder ?? undefined,
    };
    if (cfg.receivers.grpc) {
      const r = await startGrpcReceiver(cfg.receivers.grpc, this.pipeline, opts);
      this.receivers.push(r);
      addrs.grpc = r.address;
    }
    if (cfg.receivers.http) {
      const r = await startHttpReceiver(cfg.receivers.http, this.pipeline, opts);
      this.receivers.push(r);
      addrs.http = r.address;
    }
    if (cfg.gateway) {
      const g = await startGateway(cfg.gateway, a.dataDir, this.metrics, this.log, sinks);
      this.receivers.push(g);
      addrs.gateway = g.address;
    }
    this.ready = true;
    this.log('info', 'ready', {
      origin: this.origin,
      grpc: addrs.grpc,
      http: addrs.http,
      telemetry: addrs.telemetry,
      ...(addrs.gateway ? { gateway: addrs.gateway } : {}),
      verifier_key: signer.verifierKey(),
      quarantined: opened.quarantined?.path ?? null,
      verifier_key_file: this.verifierKeyPath,
      config: this.loaded.source,
    });
    return addrs;
  }

  private async loadKey(): Promise<NoteSigner> {
    const a = this.loaded.config.agent;
    if (a.signingKey) {
      const signer = await loadSignerKey(a.signingKey);
      const pub = a.signingKey.replace(/\.key$/, '') + '.pub';
      this.verifierKeyPath = (await fs.stat(pub).then(
        () => true,
        () => false,
      ))
        ? pub
        : null;
      return signer;
    }
    const dir = path.join(a.dataDir, 'keys');
    const keyPath = path.join(dir, `${a.name}.key`);
    const exists = await fs.stat(keyPath).then(
      () => true,
      () => false,
    );
    if (!exists) {
      const k = await writeKeyFiles(dir, a.name);
      this.log('info', 'generated a signing key; give the verifier key to whoever verifies the archive', {
        signer_key_file: k.keyPath,
        verifier_key_file: k.pubPath,
        verifier_key: k.verifierKey,
      });
    }
    this.verifierKeyPath = path.join(dir, `${a.name}.pub`);
    return loadSignerKey(keyPath);
  }

  private registerGauges(): void {
    const w = this.writer as BufferWriter;
    this.metrics.addGauges(() => {
      const s = w.state();
      const sinks = this.forwarders;
      return (
        gauge('sealtrail_buffer_bytes', 'Entry bytes held in the buffer.', [['', s.bytes]]) +
        gauge('sealtrail_buffer_entries', 'Entries held in the buffer.', [['', s.entries]]) +
        gauge('sealtrail_chain_size', 'Entries in the chain (next seq).', [['', s.chain.size]]) +
        gauge('sealtrail_sealed_size', 'Tree size of the last signed checkpoint.', [['', s.sealedSize]]) +
        gauge('sealtrail_buffer_writable', '0 while the buffer refuses writes after a failed write (it reopens itself).', [
          ['', w.storageError === null ? 1 : 0],
        ]) +
        counter('sealtrail_batches_sealed_total', 'Batches sealed since start.', this.batchesSealed) +
        gauge(
          'sealtrail_sink_lag_entries',
          'Sealed entries the sink does not have yet.',
          sinks.map((f) => [label('sink', f.sink.id), s.sealedSize - f.cursor]),
        ) +
        counter(
          'sealtrail_sink_errors_total',
          'Failed delivery attempts since start.',
          sinks.map((f) => [label('sink', f.sink.id), f.errors]),
        ) +
        counter(
          'sealtrail_sink_batches_delivered_total',
          'Batches delivered since start.',
          sinks.map((f) => [label('sink', f.sink.id), f.batchesDelivered]),
        ) +
        gauge(
          'sealtrail_sink_conflict',
          '1 when the sink stopped on a conflict.',
          sinks.map((f) => [label('sink', f.sink.id), f.state === 'conflict' ? 1 : 0]),
        )
      );
    });
  }

  shutdown(reason: string): Promise<void> {
    if (!this.stopping) this.stopping = this.doShutdown(reason);
    return this.stopping;
  }

  /** /readyz: receivers up and the buffer accepting writes (not while it recovers from a failed write). */
  private readiness(): boolean {
    return this.ready && this.writer !== null && this.writer.storageError === null;
  }

  // Components stop in the reverse order of start: receivers, forwarders (after the stop entry
  // is sealed and delivered, up to the timeout), sinks, the buffer, telemetry, the lock.
  private async doShutdown(reason: string): Promise<void> {
    const stage = (what: string): void => void (this.shutdownStage = what);
    stage('waiting for start-up to finish');
    if (this.startup) await this.startup.catch(() => undefined);
    this.ready = false;
    const timeout = this.loaded.config.agent.shutdownTimeoutMs;
    this.pipeline?.stopAccepting();
    stage('closing receivers');
    await Promise.all(this.receivers.map((r) => r.close(true).catch(() => undefined)));
    stage('closing the decoder pool');
    await this.decoder?.close();
    stage('flushing the OTLP forwarding');
    await this.forwarding?.stop(Math.min(timeout, 5000)); // best effort: a short flush, then counted drops
    if (this.writer) {
      const a = this.loaded.config.agent;
      try {
        stage('recording the stop entry');
        await this.writer.append(
          [
            ownEntry(ownResource(a.name, a.environment), 'sealtrail.stop', 'agent stopping', {
              'sealtrail.reason': reason,
              'sealtrail.uptime_ms': Date.now() - this.startedAt,
            }),
          ],
          true,
        );
        stage('sealing the open batch');
        await this.writer.sealNow();
      } catch (err) {
        this.log('error', 'could not record the stop entry; the tail is sealed at the next start', { error: errorMessage(err) });
      }
      stage('delivering to the sinks');
      const deadline = Date.now() + timeout;
      while (Date.now() < deadline && !this.forwarders.every((f) => f.caughtUp() || f.state === 'conflict')) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const behind = this.forwarders
        .filter((f) => !f.caughtUp())
        .map((f) => ({ sink: f.sink.id, lag_entries: this.writer!.sealedSize - f.cursor }));
      if (behind.length > 0)
        this.log('warn', 'shutdown timeout: undelivered batches stay in the buffer for the next start', { sinks: behind });
    }
    // A forwarder stops between attempts; one stuck in a sink call is released by closing its sink.
    stage('stopping the forwarders');
    await Promise.all(this.forwarders.map((f) => f.stop(FORWARDER_STOP_GRACE_MS)));
    stage('closing the sinks');
    await Promise.all(this.sinks.map((s) => s.close().catch(() => undefined)));
    stage('closing the buffer');
    await this.writer?.close();
    await this.highWater?.close().catch(() => undefined);
    stage('closing telemetry');
    await this.telemetry?.close();
    await this.lock?.release().catch(() => undefined);
    stage('stopped');
    this.log('info', 'stopped', { reason, origin: this.origin });
  }

  /**
   * How long a shutdown may take before `sealtrail run` gives up on it: the OTLP flush, the
   * delivery wait, the forwarders' grace, and a margin for closing the rest.
   */
  shutdownBoundMs(): number {
    return 5000 + this.loaded.config.agent.shutdownTimeoutMs + FORWARDER_STOP_GRACE_MS + SHUTDOWN_MARGIN_MS;
  }
}

/** How long a stopping forwarder may finish its current attempt before its sink is closed under it. */
const FORWARDER_STOP_GRACE_MS = 5000;
/** Closing receivers, sinks, the buffer and telemetry: each takes milliseconds when healthy. */
const SHUTDOWN_MARGIN_MS = 15_000;
