/** Runs a task when one of `n` slots is free. */
export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

/**
 * A bound on the calls in flight: the tasks given to it run at most `n` at a time, in the order given.
 * A task must not wait on another task of the same limiter, or both can wait forever.
 */
export function createLimiter(n: number): Limiter {
  if (!Number.isInteger(n) || n < 1) throw new RangeError('a limiter needs at least one slot');
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    // A finishing task hands its slot straight to the next waiter, so a newcomer cannot take it in between.
    if (running < n) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/** No bound: each task runs at once. What a bulk call uses when its caller gives no limiter. */
export const unlimited: Limiter = (task) => task();
