// Helpers for gateway tests and the gateway bench: post a sealed batch the way the agent's
// sealtrail exporter does, and a TCP relay on port 0 so agents keep one address while the
// gateway behind it is killed and restarted on another port.
import net from 'node:net';

export interface RawBatch {
  origin: string;
  start: number;
  end: number;
  gzip: boolean;
  entries: Uint8Array;
  checkpoint: string;
}

export async function postBatch(
  addr: string,
  b: RawBatch,
  token: string | null,
): Promise<{ status: number; body: { code?: string; reason?: string; status?: string } }> {
  const cp = Buffer.from(b.checkpoint, 'utf8');
  const headers: Record<string, string> = {
    'content-type': 'application/vnd.sealtrail.batch',
    'x-sealtrail-origin': b.origin,
    'x-sealtrail-start': String(b.start),
    'x-sealtrail-end': String(b.end),
    'x-sealtrail-compression': b.gzip ? 'gzip' : 'none',
    'x-sealtrail-checkpoint-length': String(cp.length),
  };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`http://${addr}/v1/batches`, { method: 'POST', headers, body: Buffer.concat([cp, b.entries]) });
  return { status: res.status, body: (await res.json()) as { code?: string; reason?: string; status?: string } };
}

export interface Relay {
  address: string;
  target: string | null;
  close(): Promise<void>;
}

/** Forwards each connection to `relay.target` (host:port); refuses while it is null. */
export async function startRelay(): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  const relay: Relay = { address: '', target: null, close: async () => {} };
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (relay.target === null) return void client.destroy();
    const [host, port] = relay.target.split(':') as [string, string];
    const upstream = net.connect(Number(port), host);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  relay.address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  relay.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return relay;
}
