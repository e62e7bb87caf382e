import { vi } from 'vitest';

/** The real setImmediate: file I/O completes in turns of the real event loop, which fake timers leave alone. */
const realImmediate = setImmediate;
const turn = () => new Promise<void>((r) => realImmediate(r));

/**
 * Fakes the clock and timers (not setImmediate, which I/O and group commit use). With `realDate`, only the
 * timers: for code that compares `Date.now()` with file times, which the file system stamps in real time.
 */
export function useFakeClock(o: { realDate?: boolean } = {}): void {
  const timers = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] as const;
  vi.useFakeTimers({ toFake: o.realDate ? [...timers] : [...timers, 'Date'] });
}

/**
 * Lets fake time pass 1 ms per real event-loop turn until `check` holds: backoffs and deadlines elapse without
 * waiting, and file I/O gets the turns it needs. Fails if it does not hold within `maxMs` of fake time.
 */
export async function until(check: () => boolean, maxMs = 60_000): Promise<void> {
  for (let ms = 0; !check(); ms++) {
    if (ms > maxMs) throw new Error(`condition not met within ${maxMs} ms of fake time`);
    await turn();
    await vi.advanceTimersByTimeAsync(1);
  }
}

/** Resolves with what `promise` settles to, letting fake time pass meanwhile (see {@link until}). */
export async function settle<T>(promise: Promise<T>, maxMs?: number): Promise<T> {
  let done = false;
  const watched = promise.finally(() => (done = true));
  watched.catch(() => {});
  await until(() => done, maxMs);
  return watched;
}
