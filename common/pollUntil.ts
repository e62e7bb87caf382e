/** How {@link pollUntil} polls. */
export interface PollOptions {
  /** What is awaited, for the timeout's message (`the gateway`). */
  what: string;
  /** Give up after this long. @default 30000 */
  timeoutMs?: number;
  /** Pause between two probes, at least 1 ms. @default 50 */
  intervalMs?: number;
  /** Checked before each probe; throws to end the wait early (a child process that exited, say). */
  stopIf?: () => void;
}

/**
 * Probes until `probe` gives a value other than `undefined` or `false`, and returns it. A probe that throws
 * counts as "not yet" (a server not listening yet); the last such error is the timeout's cause. The wait ends at
 * `timeoutMs` by the clock or by the pauses taken, whichever comes first, so neither slow probes nor a frozen fake
 * `Date` make it endless; its pauses use the global timer, so tests with fake timers drive it.
 *
 * @throws Error naming `what` (and the last probe error) when nothing came within `timeoutMs`, or what `stopIf` throws.
 * @example
 * await pollUntil(async () => (await fetch(`${base}/ready`)).ok, { what: 'the gateway', timeoutMs: 60_000 });
 */
export async function pollUntil<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, o: PollOptions): Promise<T> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const intervalMs = Math.max(1, o.intervalMs ?? 50);
  const start = Date.now();
  let lastError: unknown;
  for (let paused = 0; ; paused += intervalMs) {
    o.stopIf?.();
    const value = await Promise.resolve()
      .then(probe)
      .catch((e: unknown) => {
        lastError = e;
        return undefined;
      });
    if (value !== undefined && value !== false) return value;
    if (paused >= timeoutMs || Date.now() - start >= timeoutMs) {
      const cause = lastError instanceof Error ? ` (last probe error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${o.what}${cause}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
