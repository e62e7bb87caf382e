import { startLatencyProxy } from './latencyProxy';

/**
 * The latency proxy in a process of its own, so its forwarding CPU is not taken from the measured consumer
 * or from the bench. Environment: PROXY_TARGET, PROXY_LATENCY_MS. Prints `{"ready":true,"endpoint":...}`;
 * answers `'counts'` over IPC with `{ counts }`.
 */
const proxy = await startLatencyProxy({ target: process.env.PROXY_TARGET!, latencyMs: Number(process.env.PROXY_LATENCY_MS ?? 5) });
process.on('message', (m) => {
  if (m === 'counts') process.send?.({ counts: proxy.counts() });
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
process.stdout.write(`${JSON.stringify({ ready: true, endpoint: proxy.endpoint })}\n`);
