// The agent-side `sealtrail/<name>` exporter: delivers each sealed batch, entries object and
// checkpoint in one request, to a sealtrail gateway (docs/gateway.md), which verifies it
// before acknowledging. Only whole batches make sense to a verifying gateway, so this sink
// implements deliverBatch(); single-object put() is refused.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { SealtrailError, errorMessage } from '../../lib/errors.js';
import type { LogFn } from '../../lib/log.js';
import type { SealtrailExporterConfig } from '../../config/types.js';
import { encodeEntriesObject, type DeliverOptions, type SealedBatch } from '../deliver.js';
import type { PutResult, Sink } from '../sink.js';

const PATH = '/v1/batches';

export class GatewaySink implements Sink {
  readonly id: string;
  private agent: http.Agent | null = null;

  constructor(
    private readonly cfg: SealtrailExporterConfig,
    _log: LogFn,
  ) {
    this.id = cfg.id;
  }

  async start(): Promise<void> {
    if (this.agent) return;
    const read = (f: string | null, what: string): Buffer | undefined => {
      if (f === null) return undefined;
      try {
        return readFileSync(f);
      } catch (err) {
        throw new SealtrailError('CONFIG', `exporters.${this.id}.tls.${what}: cannot read ${f}: ${errorMessage(err)}`, { cause: err });
      }
    };
    this.agent = this.cfg.endpoint.startsWith('https:')
      ? new https.Agent({
          keepAlive: true,
          ca: read(this.cfg.tls.caFile, 'ca_file'),
          cert: read(this.cfg.tls.certFile, 'cert_file'),
          key: read(this.cfg.tls.keyFile, 'key_file'),
        })
      : new http.Agent({ keepAlive: true });
  }

  put(name: string): Promise<PutResult> {
    return Promise.reject(new SealtrailError('SINK_PERMANENT', `sink ${this.id}: the gateway takes whole batches, not ${name}`));
  }

  async get(): Promise<Uint8Array | null> {
    return null; // the gateway's archive is read with its own sinks, not through the agent
  }

  async deliverBatch(batch: SealedBatch, opts: DeliverOptions): Promise<void> {
    if (!this.agent) await this.start();
    const cp = Buffer.from(batch.checkpoint, 'utf8');
    const body = Buffer.concat([cp, encodeEntriesObject(batch.lines, opts.gzip)]);
    const headers: Record<string, string | number> = {
      'content-type': 'application/vnd.sealtrail.batch',
      'content-length': body.length,
      'x-sealtrail-origin': batch.origin,
      'x-sealtrail-start': batch.start,
      'x-sealtrail-end': batch.end,
      'x-sealtrail-compression': opts.gzip ? 'gzip' : 'none',
      'x-sealtrail-checkpoint-length': cp.length,
    };
    if (this.cfg.auth.bearerToken !== null) headers.authorization = `Bearer ${this.cfg.auth.bearerToken}`;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const mod = this.cfg.endpoint.startsWith('https:') ? https : http;
      const req = mod.request(
        `${this.cfg.endpoint}${PATH}`,
        { method: 'POST', headers, agent: this.agent!, timeout: this.cfg.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.length < 64 && chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.cfg.timeoutMs}ms`)));
      req.on('error', (err) => reject(new SealtrailError('SINK_TRANSIENT', `sink ${this.id}: ${err.message}`, { cause: err })));
      req.end(body);
    });
    if (status === 200) return;
    let reason = text;
    let code = '';
    try {
      const j = JSON.parse(text) as { code?: string; reason?: string };
      code = j.code ?? '';
      reason = `${j.code}: ${j.reason}`;
    } catch {
      /* not JSON: keep the text */
    }
    const msg = `sink ${this.id}: gateway answered ${status} ${reason}`;
    if (status === 409) throw new SealtrailError('SINK_CONFLICT', msg);
    // A refusal (tampered, fork, unknown key) or rejected credentials will not clear by itself.
    if (status === 401 || status === 403 || status === 413 || status === 422) throw new SealtrailError('SINK_PERMANENT', msg);
    if (code === 'GAP') throw new SealtrailError('SINK_PERMANENT', msg);
    throw new SealtrailError('SINK_TRANSIENT', msg);
  }

  async close(): Promise<void> {
    this.agent?.destroy();
    this.agent = null;
  }
}
