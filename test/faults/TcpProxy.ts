import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** How the proxy treats traffic: forward it, accept and stall it, or refuse connections outright. */
export type ProxyMode = 'pass' | 'hang' | 'refuse';

/**
 * A TCP proxy a test controls, for faults an emulator cannot produce: `hang` accepts connections and stalls
 * them (existing ones too), `refuse` stops listening (ECONNREFUSED), `drop()` resets every open connection.
 */
export class TcpProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  #mode: ProxyMode = 'pass';
  port = 0;

  readonly #targetPort: number;

  constructor(targetPort: number) {
    this.#targetPort = targetPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    this.#server = createServer((client) => this.#accept(client));
    await new Promise<void>((resolve) => this.#server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  #accept(client: Socket): void {
    this.#sockets.add(client);
    client.on('close', () => this.#sockets.delete(client));
    client.on('error', () => {});
    if (this.#mode === 'hang') return; // accepted, never answered
    const upstream = connect(this.#targetPort, '127.0.0.1');
    this.#sockets.add(upstream);
    upstream.on('close', () => {
      this.#sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.on('data', (d) => this.#mode === 'pass' && upstream.write(d));
    upstream.on('data', (d) => this.#mode === 'pass' && client.write(d));
  }

  async setMode(mode: ProxyMode): Promise<void> {
    if (mode === this.#mode) return;
    const was = this.#mode;
    this.#mode = mode;
    if (mode === 'refuse') {
      this.drop();
      await new Promise<void>((resolve) => this.#server!.close(() => resolve()));
    } else if (was === 'refuse') {
      await this.start(this.port);
    }
    // Leaving `hang`: stalled connections carry half-forwarded bytes; reset them so clients reconnect cleanly.
    if (was === 'hang') this.drop();
  }

  /** Resets every open connection. */
  drop(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  async close(): Promise<void> {
    this.drop();
    if (this.#mode !== 'refuse') await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }
}
