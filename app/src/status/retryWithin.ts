import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryableAwsError, isUnusableAwsResource } from '../../../common/awsErrors';
import { StoreUnavailableError } from '../errors';
import { backoffDelay, type BackoffOptions } from '../publish/backoff';

/**
 * How a call to the status table retries: the gateway's client makes one attempt per call in batching mode.
 * Past `deadlineMs` a call still failing is 503 STORE_UNAVAILABLE.
 */
export interface StoreRetry extends BackoffOptions {
  deadlineMs: number;
}

/** A few retries within 2 s: a socket hang-up or a throttled call is retried, an outage answers 503 soon. */
export const DEFAULT_STORE_RETRY: StoreRetry = { baseMs: 50, capMs: 400, deadlineMs: 2_000 };

export interface RetryWithinOptions {
  /** @default DEFAULT_STORE_RETRY */
  retry?: StoreRetry;
  random?: () => number;
  /** @default Date.now */
  now?: () => number;
  /** @default timers/promises setTimeout */
  sleep?: (ms: number) => Promise<unknown>;
}

/**
 * Runs `call` until it answers, retrying a transient failure with backoff while the next attempt can start
 * within the deadline. Only for a call that is safe to repeat: a read, or a conditional write whose caller
 * tells an earlier attempt's effect from another writer's. A store that cannot serve now is
 * {@link StoreUnavailableError} with `message`: transient failures past the deadline, or a table that is
 * missing or may not be used (retrying does not help, and it is no client's mistake). Any other failure is
 * thrown as it is.
 *
 * @example
 * const res = await retryWithin(() => dynamo.send(new GetCommand(input)), 'the status store is unavailable', { retry });
 */
export async function retryWithin<T>(call: () => Promise<T>, message: string, o: RetryWithinOptions = {}): Promise<T> {
  const retry = o.retry ?? DEFAULT_STORE_RETRY;
  const now = o.now ?? Date.now;
  const deadline = now() + retry.deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (isUnusableAwsResource(err)) throw new StoreUnavailableError(message, 1, { cause: err });
      if (!isRetryableAwsError(err)) throw err;
      const pause = backoffDelay(attempt, retry, o.random);
      if (now() + pause >= deadline) throw new StoreUnavailableError(message, 1, { cause: err });
      await (o.sleep ?? sleep)(pause);
    }
  }
}
