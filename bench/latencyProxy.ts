import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';

/** A running proxy. */
export interface LatencyProxy {
  endpoint: string;
  /** Calls forwarded so far, by operation (the `X-Amz-Target` after its dot: `PutItem`, `BatchGetItem`, ...). */
  counts(): Record<string, number>;
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of an emulator that holds every request for `latencyMs` before forwarding it, and
 * counts the calls by `X-Amz-Target`. An emulator on loopback answers in 1-3 ms, where a same-region AWS
 * round trip is about 5 ms (DynamoDB) to 20 ms (Kinesis): without the delay, a consumer that waits on its
 * calls one after another looks nearly as fast as one that overlaps them.
 */
export async function startLatencyProxy(o: { target: string; latencyMs: number; port?: number }): Promise<LatencyProxy> {
  const target = new URL(o.target);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const counts: Record<string, number> = {};
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const t = req.headers['x-amz-target'];
    if (typeof t === 'string') {
      const op = t.slice(t.indexOf('.') + 1);
      counts[op] = (counts[op] ?? 0) + 1;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      setTimeout(() => forward(req, Buffer.concat(chunks), res), o.latencyMs);
    });
    req.on('error', () => res.destroy());
  });
  function forward(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const out = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host }, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    out.end(body);
  }
  // Keep-alive sockets of the SDK stay open between calls, as they do against AWS.
  server.keepAliveTimeout = 60_000;
  server.listen(o.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  return {
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    counts: () => ({ ...counts }),
    close: async () => {
      server.closeAllConnections();
      server.close();
      agent.destroy();
    },
  };
}
