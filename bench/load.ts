import autocannon, { type AutocannonClient, type AutocannonRequest } from 'autocannon';

export interface LoadOptions {
  /** Names the run in the progress lines. */
  label: string;
  url: string;
  connections: number;
  durationSec: number;
  /** The cycle of requests each connection sends. */
  requests: AutocannonRequest[];
  /** Requests per second over all connections; unset: as fast as the server answers. */
  overallRate?: number;
  /** Extra text for each progress line (e.g. the gateway's CPU that second). */
  progress?(): string;
  /** Seconds between progress lines; 0 prints none. @default 1 */
  progressEverySec?: number;
  /** Told of each response (the soak counts its rate per sample). */
  onResponse?(statusCode: number): void;
}

export interface LoadResult {
  /** Wall time from the first request to the last response, in seconds. */
  seconds: number;
  /** Responses received (any status). */
  responses: number;
  ok2xx: number;
  non2xx: number;
  /** Socket errors and timeouts. */
  socketErrors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** Response latency percentiles in ms, over all responses. */
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** Requests per second: responses / seconds. */
  rps: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * Drives `durationSec` of load with autocannon, then drains instead of cutting: each connection finishes the
 * request it has in flight and closes. autocannon's own stop destroys sockets with requests in flight, whose
 * records the gateway may still put on the stream; draining is what lets the bench match the 202s it counted
 * against the records on the stream exactly. The window ends with the last response.
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const clients: AutocannonClient[] = [];
  let done = 0;
  let lastResponseAt = 0;
  let latencies = new Float64Array(1 << 16);
  let responses = 0;
  let ok2xx = 0;
  let socketErrors = 0;
  let timeouts = 0;
  const statusCodes: Record<string, number> = {};

  const startedAt = performance.now();
  let allDone!: () => void;
  const drained = new Promise<void>((resolve) => (allDone = resolve));
  const instance = autocannon({
    url: o.url,
    connections: o.connections,
    // A safety net only: the drain below ends the run.
    duration: o.durationSec + 120,
    overallRate: o.overallRate,
    timeout: 10,
    requests: o.requests,
    setupClient(client) {
      clients.push(client);
      client.on('done', () => {
        if (++done === o.connections) allDone();
      });
    },
  });
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (responses === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[responses++] = responseTime;
    if (statusCode >= 200 && statusCode < 300) ok2xx++;
    statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
    lastResponseAt = performance.now();
    o.onResponse?.(statusCode);
  });
  instance.on('reqError', (e: Error) => {
    if (/timed out/.test(e.message)) timeouts++;
    socketErrors++;
  });

  let lastCount = 0;
  const every = o.progressEverySec ?? 1;
  const ticker = setInterval(() => {
    if (every === 0) return;
    const s = Math.round((performance.now() - startedAt) / 1000);
    const extra = o.progress ? `  ${o.progress()}` : '';
    process.stdout.write(
      `  [${o.label}] ${String(s).padStart(3)}s  ${String(Math.round((responses - lastCount) / every)).padStart(6)} req/s  total ${responses}  non-2xx ${responses - ok2xx}  errors ${socketErrors}${extra}\n`,
    );
    lastCount = responses;
  }, Math.max(every, 1) * 1000);
  const stopSending = setTimeout(() => {
    // responseMax is checked before each next request: a connection sends nothing more and closes after
    // the answer to the one it has in flight.
    for (const c of clients) c.responseMax = Math.max(1, c.reqsMade);
  }, o.durationSec * 1000);

  await drained;
  clearTimeout(stopSending);
  clearInterval(ticker);
  instance.stop();
  await instance;

  const seconds = ((lastResponseAt || performance.now()) - startedAt) / 1000;
  const sorted = latencies.slice(0, responses).sort();
  let sum = 0;
  for (const l of sorted) sum += l;
  return {
    seconds,
    responses,
    ok2xx,
    non2xx: responses - ok2xx,
    socketErrors,
    timeouts,
    statusCodes,
    latencyMs: {
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      max: sorted.length ? sorted[sorted.length - 1]! : NaN,
      mean: responses ? sum / responses : NaN,
    },
    rps: responses / seconds,
  };
}
