/** How {@link pollUntil} polls. */
export interface PollOptions {
  /** What is awaited, for the timeout's message (`the gateway`). */
  what: string;
  /** Give up after about this long, counted in pauses (so a fake clock drives it too). @default 30000 */
  timeoutMs?: number;
  /** Pause between two probes. @default 50 */
  intervalMs?: number;
  /** Checked before each probe; throws to end the wait early (a child process that exited, say). */
  stopIf?: () => void;
}

/**
 * Probes until `probe` gives a value other than `undefined` or `false`, and returns it. A probe that throws
 * counts as "not yet" (a server not listening yet). Waits out its pauses on the global timer, so tests with fake
 * timers drive it.
 *
 * @throws Error naming `what` when nothing came within `timeoutMs`, or what `stopIf` throws.
 * @example
 * await pollUntil(async () => (await fetch(`${base}/ready`)).ok, { what: 'the gateway', timeoutMs: 60_000 });
 */
export async function pollUntil<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, o: PollOptions): Promise<T> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const intervalMs = o.intervalMs ?? 50;
  for (let waited = 0; ; waited += intervalMs) {
    o.stopIf?.();
    const value = await Promise.resolve()
      .then(probe)
      .catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (waited >= timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${o.what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
