// The gateway's sealtrail receiver (docs/gateway.md): agents POST sealed batches to
// /v1/batches over HTTP or HTTPS (mTLS when client_ca_file is set; bearer token when set).
// Each batch is verified (verify-batch.ts), written unchanged to the gateway's sinks with the
// usual write-once rules, its origin state persisted with fsync, and only then acknowledged.
// A refused batch gets 422 with {code, reason}; a fork is also an error log and a metric.
import { promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { SealtrailError, errorMessage, isSealtrailError } from '../lib/errors.js';
import { bearerChecker, formatAddress, loadTls, parseEndpoint } from '../agent/receivers/common.js';
import type { LogFn } from '../lib/log.js';
import { gauge, label, type Metrics } from '../agent/telemetry/metrics.js';
import type { GatewayConfig } from '../config/types.js';
import { createSink } from '../exporters/factory.js';
import type { Sink } from '../exporters/sink.js';
import { parseVerifierKey } from '../verify/note.js';
import { OriginStore } from './origin-store.js';
import { Refusal, objectNames, verifyBatch, type IncomingBatch, type RefusalCode, type TrustedKeyEntry } from './verify-batch.js';

export const BATCH_PATH = '/v1/batches';
export const BATCH_CONTENT_TYPE = 'application/vnd.sealtrail.batch';

export interface GatewayHandle {
  address: string;
  close(graceful: boolean): Promise<void>;
}

class Counters {
  batches = 0;
  records = 0;
  duplicates = 0;
  forks = 0;
  refused: Partial<Record<RefusalCode | 'CONFLICT' | 'UNAUTHENTICATED', number>> = {};
}

async function loadTrusted(cfg: GatewayConfig['receiver']): Promise<TrustedKeyEntry[]> {
  const out: TrustedKeyEntry[] = [];
  for (const [i, t] of cfg.trustedKeys.entries()) {
    let text: string;
    try {
      text = (await fs.readFile(t.keyFile, 'utf8')).trim();
    } catch (err) {
      throw new SealtrailError(
        'CONFIG',
        `receivers.sealtrail.trusted_keys[${i}].key_file: cannot read ${t.keyFile}: ${errorMessage(err)}`,
        { cause: err },
      );
    }
    try {
      out.push({ originPrefix: t.originPrefix, key: parseVerifierKey(text) });
    } catch (err) {
      throw new SealtrailError(
        'CONFIG',
        `receivers.sealtrail.trusted_keys[${i}].key_file: ${t.keyFile} is not a verifier key: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }
  return out;
}

/**
 * `shared` are the agent's own sinks: a gateway exporter that is also in the audit pipeline
 * uses the same sink (one writer per archive, no second start-up sweeping the other's temp
 * files); the others are created, started and closed here.
 */
export async function startGateway(
  cfg: GatewayConfig,
  dataDir: string,
  metrics: Metrics,
  log: LogFn,
  shared: readonly Sink[] = [],
): Promise<GatewayHandle> {
  const r = cfg.receiver;
  const trusted = await loadTrusted(r);
  const store = new OriginStore(path.join(dataDir, 'gateway', 'origins'));
  await store.open();
  const own: Sink[] = [];
  const sinks: Sink[] = cfg.exporters.map((e) => {
    const existing = shared.find((s) => s.id === e.id);
    if (existing) return existing;
    const s = createSink(e, log);
    own.push(s);
    return s;
  });
  for (const s of own) await s.start();
  const authorized = bearerChecker(r.auth.bearerToken);
  const c = new Counters();
  metrics.addGauges(() => {
    const refused = Object.entries(c.refused).map(([k, v]): [string, number] => [label('reason', k), v ?? 0]);
    return (
      gauge('sealtrail_gateway_batches_total', 'Batches verified and stored by the gateway (not counting redeliveries).', [
        ['', c.batches],
      ]).replace('gauge', 'counter') +
      gauge('sealtrail_gateway_records_total', 'Entries in the batches the gateway stored.', [['', c.records]]).replace(
        'gauge',
        'counter',
      ) +
      gauge('sealtrail_gateway_duplicates_total', 'Batches delivered again and acknowledged without change.', [['', c.duplicates]]).replace(
        'gauge',
        'counter',
      ) +
      gauge('sealtrail_gateway_forks_total', 'Signed checkpoints that disagree with one the gateway holds (an alert).', [
        ['', c.forks],
      ]).replace('gauge', 'counter') +
      (refused.length > 0
        ? gauge('sealtrail_gateway_refused_total', 'Batches refused, by reason.', refused).replace('gauge', 'counter')
        : '')
    );
  });

  const answer = (res: http.ServerResponse, status: number, body: Record<string, unknown>): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  };

  const refuse = (
    res: http.ServerResponse,
    code: RefusalCode | 'CONFLICT' | 'UNAUTHENTICATED',
    reason: string,
    fields: Record<string, unknown>,
  ): void => {
    c.refused[code] = (c.refused[code] ?? 0) + 1;
    if (code === 'FORK') {
      c.forks++;
      log('error', 'gateway: FORK: an agent signed a checkpoint that disagrees with one the gateway holds; batch refused', {
        ...fields,
        reason,
      });
    } else log('warn', 'gateway: batch refused', { ...fields, code, reason });
    answer(res, code === 'UNAUTHENTICATED' ? 401 : code === 'CONFLICT' ? 409 : 422, { code, reason });
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    const h = req.headers;
    const origin = String(h['x-sealtrail-origin'] ?? '');
    const start = Number(h['x-sealtrail-start']);
    const end = Number(h['x-sealtrail-end']);
    const cpLen = Number(h['x-sealtrail-checkpoint-length']);
    const compression = String(h['x-sealtrail-compression'] ?? 'none');
    const fields = { origin, start, end, peer: req.socket.remoteAddress };
    if (!Number.isSafeInteger(cpLen) || cpLen <= 0 || cpLen > body.length || (compression !== 'none' && compression !== 'gzip')) {
      refuse(res, 'MALFORMED', 'bad x-sealtrail-checkpoint-length or x-sealtrail-compression', fields);
      return;
    }
    const batch: IncomingBatch = {
      origin,
      start,
      end,
      gzip: compression === 'gzip',
      checkpoint: body.subarray(0, cpLen).toString('utf8'),
      entriesObject: new Uint8Array(body.subarray(cpLen)),
    };
    await store.exclusive(origin, async () => {
      let verdict;
      try {
        verdict = verifyBatch(batch, await store.get(origin), trusted, r.maxBatchSize * 64);
      } catch (err) {
        if (err instanceof Refusal) return refuse(res, err.code, err.message, fields);
        throw err;
      }
      // The objects go to every sink before the state moves on and before the acknowledgement.
      const names = objectNames(batch);
      try {
        for (const s of sinks) {
          await s.put(names.entries, batch.entriesObject);
          await s.put(names.checkpoint, new TextEncoder().encode(batch.checkpoint));
        }
      } catch (err) {
        if (isSealtrailError(err, 'SINK_CONFLICT')) return refuse(res, 'CONFLICT', err.message, fields);
        log('warn', 'gateway: a sink failed; the agent retries the batch', { ...fields, error: errorMessage(err) });
        return answer(res, 503, { code: 'UNAVAILABLE', reason: errorMessage(err) });
      }
      if (!verdict.duplicate) await store.put(verdict.next);
      if (verdict.duplicate) c.duplicates++;
      else {
        c.batches++;
        c.records += end - start;
      }
      answer(res, 200, { status: verdict.duplicate ? 'duplicate' : 'stored' });
    });
  }

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.url !== BATCH_PATH) return void answer(res, 404, { code: 'NOT_FOUND', reason: `POST ${BATCH_PATH}` });
    if (req.method !== 'POST') return void answer(res, 405, { code: 'METHOD_NOT_ALLOWED', reason: 'POST only' });
    if (!authorized(req.headers.authorization)) {
      req.resume();
      return void refuse(res, 'UNAUTHENTICATED', 'missing or wrong bearer token', { peer: req.socket.remoteAddress });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > r.maxBatchSize) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      if (tooLarge) return void answer(res, 413, { code: 'TOO_LARGE', reason: `body over ${r.maxBatchSize} bytes` });
      handle(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        log('error', 'gateway: unexpected error; the agent retries the batch', { error: errorMessage(err) });
        if (!res.headersSent) answer(res, 503, { code: 'UNAVAILABLE', reason: errorMessage(err) });
      });
    });
  };

  const server = r.tls
    ? (() => {
        const m = loadTls(r.tls);
        return https.createServer(
          { cert: m.cert, key: m.key, ...(m.ca ? { ca: m.ca, requestCert: true, rejectUnauthorized: true } : {}) },
          onRequest,
        );
      })()
    : http.createServer(onRequest);
  const { host, port } = parseEndpoint(r.endpoint);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as { port: number };
  const address = formatAddress(host, bound.port);
  let closed = false;
  return {
    address,
    async close(graceful) {
      if (closed) return;
      closed = true;
      if (!graceful) server.closeAllConnections();
      else server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(own.map((s) => s.close().catch(() => undefined)));
    },
  };
}
