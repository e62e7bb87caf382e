import type { Context } from 'hono';
import type { ResourceOperation } from '../../../contract/operation';
import type { OperationAcceptor } from '../accept/OperationAcceptor';
import { requestFingerprint } from '../idempotency/fingerprint';
import type { IdempotencyStore } from '../idempotency/IdempotencyStore';
import { makeIdempotent, type Attempt } from '../idempotency/makeIdempotent';
import type { AcceptedBody } from './schemas';
import type { GatewayEnv } from './types';

export interface AcceptOperationDeps {
  acceptor: OperationAcceptor;
  /** @default () => new Date() */
  now?: () => Date;
  /** @default crypto.randomUUID */
  newId?: () => string;
  /** `Idempotency-Key` records; without it the header is validated, then ignored. */
  idempotency?: IdempotencyStore;
}

/** Builds an operation from the ids and time it is accepted with. */
export type MakeOperation = (attempt: Attempt) => ResourceOperation;

/** The 202 body and Location for `op`; a replay rebuilds the same from the stored ids. */
function answer(c: Context<GatewayEnv>, op: ResourceOperation) {
  c.header('Location', `/api/requests/${op.requestId}`);
  const scope = { businessId: op.businessId, locationId: op.locationId, resourceType: op.resourceType };
  const status = 'processing' as const;
  const body: AcceptedBody =
    op.operation === 'list'
      ? { success: true, data: { status, requestId: op.requestId }, meta: { ...scope, operation: op.operation, timestamp: op.timestamp } }
      : {
          success: true,
          data: { ...('data' in op ? op.data : {}), id: op.resourceId, status, requestId: op.requestId },
          meta: { ...scope, operation: op.operation, timestamp: op.timestamp },
        };
  return c.json(body, 202);
}

/**
 * How a resource route accepts the operation it built: the fields every operation carries from the request,
 * the publish and its 202, under the request's `Idempotency-Key` when it sent one (makeIdempotent).
 */
export function acceptOperation(deps: AcceptOperationDeps) {
  const now = deps.now ?? (() => new Date());
  const newId = deps.newId ?? (() => crypto.randomUUID());
  const idempotent = deps.idempotency ? makeIdempotent({ store: deps.idempotency, now }) : undefined;

  /** Publishes the operation and answers 202 once it is accepted (on the stream, or spooled). */
  const publish = async (c: Context<GatewayEnv>, op: ResourceOperation) => {
    // From here on, every line of this request (the access line too) names the operation's requestId.
    c.set('log', c.get('log').child({ requestId: op.requestId }));
    await deps.acceptor.accept(op, c.get('log'));
    return answer(c, op);
  };

  const replay = (c: Context<GatewayEnv>, op: ResourceOperation) => {
    c.set('log', c.get('log').child({ requestId: op.requestId }));
    c.get('log').info('idempotent replay');
    return answer(c, op);
  };

  return {
    /** A fresh id, unique across concurrent requests and gateway tasks. */
    newId,
    /** The fields of every operation: the scope, ids, time, caller and correlation id. */
    base: (c: Context<GatewayEnv>, a: Attempt) => ({
      ...c.get('scope'),
      timestamp: a.timestamp,
      requestId: a.requestId,
      sub: c.get('principal').sub,
      correlationId: c.get('correlationId'),
    }),
    /** Accepts the operation `make` builds; `fresh` holds a create's new resource id and the body fingerprinted. */
    async accept(c: Context<GatewayEnv>, make: MakeOperation, fresh: { resourceId?: string; body?: unknown } = {}) {
      const ids = { requestId: newId(), ...(fresh.resourceId ? { resourceId: fresh.resourceId } : {}) };
      const key = c.get('idempotencyKey');
      if (key === undefined || !idempotent) return publish(c, make({ ...ids, timestamp: now().toISOString() }));
      // A record over Kinesis' limit is refused before the key is claimed: a refusal writes nothing, not even that.
      deps.acceptor.encode(make({ ...ids, timestamp: now().toISOString() }));
      const fingerprint = requestFingerprint({ method: c.req.method, path: c.req.path, scope: c.get('scope'), body: fresh.body });
      return idempotent({
        request: { sub: c.get('principal').sub, key, fingerprint },
        ids,
        run: (a) => publish(c, make(a)),
        replay: (a) => replay(c, make(a)),
        log: c.get('log'),
      });
    },
  };
}
