// /healthz (process alive), /readyz (receivers up and buffer open) and /metrics.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.js';

export interface TelemetryServer {
  address: string;
  close(): Promise<void>;
}

export async function startTelemetryServer(endpoint: string, metrics: Metrics, ready: () => boolean): Promise<TelemetryServer> {
  const { host, port } = splitEndpoint(endpoint);
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    // HEAD gets the GET status and headers without a body (scrapers and probes use it).
    const body = (text: string) => (req.method === 'HEAD' ? undefined : text);
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(body('ok\n'));
    } else if (url === '/readyz') {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(body(ok ? 'ready\n' : 'not ready\n'));
    } else if (url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body(metrics.render()));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    address: `${a.address}:${a.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Splits "host:port" (IPv6 as "[::1]:port"). */
export function splitEndpoint(endpoint: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(endpoint);
  if (!m) throw new Error(`bad endpoint ${endpoint}`);
  return { host: m[1] as string, port: Number(m[2]) };
}
