// Lifecycle of one agent: start-up (key, buffer, genesis or recovery, sinks, receivers) and
// graceful shutdown (stop accepting, stop entry, seal, drain sinks up to a timeout).
// shutdown() is safe to call twice and before start() finished.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LoadedConfig } from '../config/types.js';
import { SealtrailError, isSealtrailError } from './errors.js';
import { loadSignerKey, writeKeyFiles, type NoteSigner } from './keys/signer.js';
import { openStore, readCursor, json, type Db } from './buffer/store.js';
import { CHAIN_KEY, HEAD_KEY, cursorKey } from './buffer/keys.js';
import { BufferWriter } from './buffer/writer.js';
import { Chain } from './chain/chain.js';
import { compileFilter } from './filter/audit-filter.js';
import { AuditPipeline } from './pipeline/audit-pipeline.js';
import { Forwarder } from './delivery/forwarder.js';
import { AGENT_VERSION, ownEntry, ownResource } from './own-events.js';
import { Metrics, gauge, counter, label } from './telemetry/metrics.js';
import { startTelemetryServer, type TelemetryServer } from './telemetry/server.js';
import type { LogFn } from './telemetry/log.js';
import { startGrpcReceiver } from './receivers/otlp-grpc.js';
import { startHttpReceiver } from './receivers/otlp-http.js';
import { InflightBudget } from './receivers/inflight.js';
import { createSink } from '../exporters/factory.js';
import { makeOrigin } from '../verify/layout.js';
import { hexId } from '../verify/note.js';

interface Closable {
  address: string;
  close(graceful: boolean): Promise<void>;
}

export interface AgentAddresses {
  grpc: string | null;
  http: string | null;
  telemetry: string | null;
}

export class Agent {
  readonly metrics = new Metrics();
  private db: Db | null = null;
  private writer: BufferWriter | null = null;
  private pipeline: AuditPipeline | null = null;
  private forwarders: Forwarder[] = [];
  private receivers: Closable[] = [];
  private telemetry: TelemetryServer | null = null;
  private ready = false;
  private startedAt = Date.now();
  private stopping: Promise<void> | null = null;
  private startup: Promise<AgentAddresses> | null = null;
  private batchesSealed = 0;
  origin = '';
  verifierKeyPath: string | null = null;

  constructor(private readonly loaded: LoadedConfig, private readonly log: LogFn) {}

  start(): Promise<AgentAddresses> {
    if (!this.startup) this.startup = this.doStart();
    return this.startup;
  }

  private async doStart(): Promise<AgentAddresses> {
    const cfg = this.loaded.config;
    const a = cfg.agent;
    await fs.mkdir(a.dataDir, { recursive: true });
    const signer = await this.loadKey();

    const store = await openStore(path.join(a.dataDir, 'buffer'));
    this.db = store.db;
    if (store.quarantined) {
      this.log('error', 'buffer was damaged; it was quarantined (kept, not deleted) and a new chain starts', {
        quarantine: store.quarantined.path,
        reason: store.quarantined.reason,
        previous_origin: store.quarantined.previousOrigin,
      });
    }
    let chain = store.chain;
    let ledger = store.ledger;
    if (chain === null || ledger === null) {
      chain = {
        origin: '',
        agentName: a.name,
        chainId: randomBytes(16).toString('hex'),
        keyName: signer.name,
        keyId: hexId(signer.keyId),
        createdAt: new Date().toISOString(),
      };
      chain.origin = makeOrigin(a.name, chain.chainId);
      ledger = { chain: Chain.empty(), sealedSize: 0, sealedRoot: '', bytes: 0, entries: 0, lowWater: 0, unsealedSince: 0, unsealedBytes: 0 };
      await this.db.batch(
        [
          { type: 'put', key: CHAIN_KEY, value: json(chain) },
          { type: 'put', key: HEAD_KEY, value: json(ledger) },
        ],
        { sync: true },
      );
    } else if (chain.agentName !== a.name) {
      throw new SealtrailError('CONFIG', `agent.name is ${JSON.stringify(a.name)} but the buffer in ${a.dataDir} belongs to agent ${JSON.stringify(chain.agentName)}; use that name or another data_dir`);
    }
    this.origin = chain.origin;

    const sinks = cfg.exporters.map((e) => createSink(e, this.log));
    const cursors = new Map<string, number>();
    for (const s of sinks) {
      const c = await readCursor(this.db, s.id);
      if (c === null) await this.db.put(cursorKey(s.id), json({ next: ledger.lowWater }), { sync: true });
      cursors.set(s.id, c ?? ledger.lowWater);
    }

    this.writer = new BufferWriter({
      db: this.db,
      chainInfo: chain,
      ledger,
      cursors,
      env: a.environment,
      signer,
      seal: cfg.seal,
      maxBufferBytes: a.buffer.maxBytes,
    });
    this.writer.on('sealed', () => this.batchesSealed++);
    const resource = ownResource(a.name, a.environment);
    if (ledger.chain.size === 0) {
      await this.writer.append(
        [
          ownEntry(resource, 'sealtrail.genesis', 'chain created', {
            'sealtrail.origin': chain.origin,
            'sealtrail.chain_id': chain.chainId,
            'sealtrail.verifier_key': signer.verifierKey(),
            'sealtrail.version': AGENT_VERSION,
            'sealtrail.config_digest': this.loaded.digest,
            'sealtrail.environment': a.environment,
            ...(store.quarantined
              ? { 'sealtrail.quarantined_buffer': store.quarantined.path, 'sealtrail.previous_origin': store.quarantined.previousOrigin ?? '' }
              : {}),
          }),
        ],
        true,
      );
    }
    const unsealed = this.writer.state().chain.size - this.writer.state().sealedSize;
    if (unsealed > 0 && ledger.chain.size > 0) {
      this.log('warn', 'sealing the tail an earlier run left unsealed (it did not shut down cleanly)', { entries: unsealed });
      await this.writer.sealNow();
    }
    await this.writer.append(
      [
        ownEntry(resource, 'sealtrail.start', 'agent started', {
          'sealtrail.version': AGENT_VERSION,
          'sealtrail.config_digest': this.loaded.digest,
          'sealtrail.verifier_key': signer.verifierKey(),
          'sealtrail.pid': process.pid,
          'sealtrail.recovered_unsealed_entries': ledger.chain.size > 0 ? unsealed : 0,
        }),
      ],
      true,
    );

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
      const f = new Forwarder(s, this.db, this.writer, exp.compression === 'gzip', a.retry, this.log);
      f.needsStart = needsStart;
      this.forwarders.push(f);
      f.start();
    }
    this.registerGauges();

    this.pipeline = new AuditPipeline(compileFilter(cfg.filter.rules), this.writer, this.metrics, undefined, this.log);
    // One in-flight budget for both protocols: the bound is on the receiver's memory as a whole.
    const inflight = new InflightBudget(cfg.receivers.maxInflightBytes);
    const opts = { maxDepth: cfg.receivers.maxDepth, log: this.log, metrics: this.metrics, inflight };
    const addrs: AgentAddresses = { grpc: null, http: null, telemetry: null };
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
    if (a.telemetry.endpoint) {
      this.telemetry = await startTelemetryServer(a.telemetry.endpoint, this.metrics, () => this.ready);
      addrs.telemetry = this.telemetry.address;
    }
    this.ready = true;
    this.log('info', 'ready', {
      origin: this.origin,
      grpc: addrs.grpc,
      http: addrs.http,
      telemetry: addrs.telemetry,
      verifier_key: signer.verifierKey(),
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
      this.verifierKeyPath = (await fs.stat(pub).then(() => true, () => false)) ? pub : null;
      return signer;
    }
    const dir = path.join(a.dataDir, 'keys');
    const keyPath = path.join(dir, `${a.name}.key`);
    const exists = await fs.stat(keyPath).then(() => true, () => false);
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
        counter('sealtrail_batches_sealed_total', 'Batches sealed since start.', this.batchesSealed) +
        gauge('sealtrail_sink_lag_entries', 'Sealed entries the sink does not have yet.', sinks.map((f) => [label('sink', f.sink.id), s.sealedSize - f.cursor])) +
        gauge('sealtrail_sink_errors', 'Failed delivery attempts since start.', sinks.map((f) => [label('sink', f.sink.id), f.errors])) +
        gauge('sealtrail_sink_batches_delivered', 'Batches delivered since start.', sinks.map((f) => [label('sink', f.sink.id), f.batchesDelivered])) +
        gauge('sealtrail_sink_conflict', '1 when the sink stopped on a conflict.', sinks.map((f) => [label('sink', f.sink.id), f.state === 'conflict' ? 1 : 0]))
      );
    });
  }

  shutdown(reason: string): Promise<void> {
    if (!this.stopping) this.stopping = this.doShutdown(reason);
    return this.stopping;
  }

  private async doShutdown(reason: string): Promise<void> {
    if (this.startup) await this.startup.catch(() => undefined);
    this.ready = false;
    const timeout = this.loaded.config.agent.shutdownTimeoutMs;
    this.pipeline?.stopAccepting();
    await Promise.all(this.receivers.map((r) => r.close(true).catch(() => undefined)));
    if (this.writer) {
      const a = this.loaded.config.agent;
      try {
        await this.writer.append(
          [
            ownEntry(ownResource(a.name, a.environment), 'sealtrail.stop', 'agent stopping', {
              'sealtrail.reason': reason,
              'sealtrail.uptime_ms': Date.now() - this.startedAt,
            }),
          ],
          true,
        );
        await this.writer.sealNow();
      } catch (err) {
        this.log('error', 'could not record the stop entry; the tail is sealed at the next start', { error: err as Error });
      }
      const deadline = Date.now() + timeout;
      while (Date.now() < deadline && !this.forwarders.every((f) => f.caughtUp() || f.state === 'conflict')) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const behind = this.forwarders.filter((f) => !f.caughtUp()).map((f) => ({ sink: f.sink.id, lag_entries: this.writer!.state().sealedSize - f.cursor }));
      if (behind.length > 0) this.log('warn', 'shutdown timeout: undelivered batches stay in the buffer for the next start', { sinks: behind });
    }
    await Promise.all(this.forwarders.map((f) => withTimeout(f.stop(), 5000)));
    await Promise.all(this.forwarders.map((f) => f.sink.close().catch(() => undefined)));
    await this.writer?.close();
    await this.db?.close();
    await this.telemetry?.close();
    this.log('info', 'stopped', { reason, origin: this.origin });
  }
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return Promise.race([p, new Promise<void>((r) => setTimeout(r, ms).unref())]);
}
