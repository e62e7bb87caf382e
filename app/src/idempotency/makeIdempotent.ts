import { GatewayError } from '../errors';
import type { Logger } from '../logger';
import type { AttemptIds, IdempotencyStore, IdempotentRequest } from './IdempotencyStore';

/** The ids an attempt works with and the time it is accepted at; a replay gets the first attempt's. */
export type Attempt = AttemptIds & { timestamp: string };

/** One request under an `Idempotency-Key`: what it is, and how to do and to replay its work. */
export interface IdempotentCall<T> {
  request: IdempotentRequest;
  /** Fresh ids, used unless the key is bound to a first attempt's. */
  ids: AttemptIds;
  /** Does the work with `attempt` and answers; a refusal is a GatewayError under 500. */
  run(attempt: Attempt): Promise<T>;
  /** The answer of a first attempt that completed, rebuilt from its stored ids and time. */
  replay(attempt: Attempt): T;
  log: Logger;
}

export interface MakeIdempotentOptions {
  store: IdempotencyStore;
  /** @default () => new Date() */
  now?: () => Date;
}

/**
 * The `Idempotency-Key` protocol around a unit of work, as Powertools' `makeIdempotent` wraps a handler:
 * claim the key; replay a completed first attempt's answer without running; else run, then complete the
 * claim (its answer is replayed from now on), discard it on a refusal (4xx: nothing was written, the key is
 * forgotten) or release it on a failure (5xx: the work may have reached the stream, so a retry takes over at
 * once with the same ids and the consumer applies them once). See IdempotencyStore for the claim itself.
 *
 * @example
 * const idempotent = makeIdempotent({ store });
 * return idempotent({ request: { sub, key, fingerprint }, ids, run: publish, replay: answer, log });
 */
export function makeIdempotent(o: MakeIdempotentOptions) {
  const now = o.now ?? (() => new Date());
  return async function idempotent<T>(call: IdempotentCall<T>): Promise<T> {
    // The store answers its own outage as 503 STORE_UNAVAILABLE (IdempotencyStore.claim).
    const claim = await o.store.claim(call.request, call.ids);
    if (claim.outcome === 'replay') return call.replay(claim.answer);
    const attempt: Attempt = { ...claim.ids, timestamp: now().toISOString() };
    let answer: T;
    try {
      answer = await call.run(attempt);
    } catch (err) {
      const refusal = err instanceof GatewayError && err.status < 500;
      await (refusal ? claim.discard() : claim.release()).catch((e: unknown) =>
        call.log.warn('idempotency claim not released; it frees itself when its lease ends', { err: e }),
      );
      throw err;
    }
    await claim.complete(attempt).catch((e: unknown) =>
      call.log.warn('idempotency answer not stored; a retry after the lease republishes the same requestId', { err: e }),
    );
    return answer;
  };
}

export type Idempotent = ReturnType<typeof makeIdempotent>;
