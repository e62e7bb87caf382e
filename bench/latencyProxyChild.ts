import { fileURLToPath } from 'node:url';
import { startCountingChild } from './countingChild';

/** The latency proxy child as the bench uses it. */
export interface ProxyChild {
  endpoint: string;
  pid: number;
  /** Calls forwarded so far, by operation. */
  counts(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('./latencyProxyProcess.ts', import.meta.url));

/** Starts `latencyProxyProcess.ts` in front of `target`, adding `latencyMs` to every call. */
export async function startProxyChild(target: string, latencyMs: number): Promise<ProxyChild> {
  const env = { ...process.env, PROXY_TARGET: target, PROXY_LATENCY_MS: String(latencyMs) };
  const { ready, ...child } = await startCountingChild<{ endpoint: string }>(ENTRY, 'latency proxy', env);
  return { endpoint: ready.endpoint, ...child };
}
