/** What {@link withTimeout} resolves to when the time ran out first. */
export const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * Races a promise against a timer: resolves to the promise's value, or to {@link TIMED_OUT} after `ms`,
 * whichever comes first. The timer is always cleared, so a settled race keeps no process alive. The promise
 * is not cancelled; a rejection after the timeout is ignored (observed, never unhandled).
 *
 * @example
 * if ((await withTimeout(server.closed, 10_000)) === TIMED_OUT) server.closeAllConnections();
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(resolve, ms, TIMED_OUT)));
  promise.catch(() => {});
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
