import { Hono, type Context } from 'hono';
import { describeRoute } from 'hono-openapi';
import type { StatusItem } from '../../../contract/status';
import { authenticate } from '../auth/authenticate';
import { hasAnyPermission } from '../auth/permissions';
import type { TokenVerifier } from '../auth/verifyToken';
import { NotFoundError } from '../errors';
import { preferWait } from '../http/preferWait';
import { statusRouteDocs } from '../openapi/routeDocs';
import { MAX_WAIT_SECONDS, type StatusWaiter } from '../status/StatusWaiter';
import { validator } from '../validation/validator';
import { StatusParamsSchema, type StatusBody } from './schemas';
import type { GatewayEnv } from './types';

/** The status table as the status route needs it. */
export interface StatusReader {
  get(requestId: string): Promise<StatusItem | undefined>;
}

export interface RequestsRouterDeps {
  verifyToken: TokenVerifier;
  statusStore: StatusReader;
  /** Serves `Prefer: wait=N`; without it the preference is ignored. */
  waiter?: StatusWaiter;
}

/** Seconds a client is asked to wait before reading a `processing` status again. */
export const PROCESSING_RETRY_AFTER_SECONDS = 1;

function statusBody(item: StatusItem): StatusBody {
  return {
    success: true,
    data: {
      requestId: item.requestId,
      status: item.status,
      operation: item.operation,
      businessId: item.businessId,
      locationId: item.locationId,
      resourceType: item.resourceType,
      ...(item.resourceId !== undefined ? { resourceId: item.resourceId } : {}),
      ...(item.result !== undefined ? { result: item.result } : {}),
      ...(item.resultOmitted ? { resultOmitted: true as const } : {}),
      ...(item.error !== undefined ? { error: item.error } : {}),
      acceptedAt: item.acceptedAt,
      updatedAt: item.updatedAt,
    } as StatusBody['data'],
  };
}

/**
 * `GET /api/requests/{requestId}`: an operation's status, for callers with any permission on its scope. With
 * `Prefer: wait=N` a `processing` status is read again until it changes or N seconds passed.
 */
export function createRequestsRouter(deps: RequestsRouterDeps) {
  const answer = (c: Context<GatewayEnv>, item: StatusItem) => {
    if (item.status === 'processing') c.header('Retry-After', String(PROCESSING_RETRY_AFTER_SECONDS));
    return c.json(statusBody(item));
  };
  return new Hono<GatewayEnv>()
    // On the route, not router-wide: a path no route serves is 404 to anyone.
    .get('/:requestId', describeRoute(statusRouteDocs()), authenticate(deps.verifyToken), validator('param', StatusParamsSchema), async (c) => {
      const { requestId } = c.req.valid('param');
      const item = await deps.statusStore.get(requestId);
      // Someone without permission on the operation's scope cannot tell it exists.
      if (!item || !hasAnyPermission(c.get('principal').permissions, item)) throw new NotFoundError('no such request');
      const wait = deps.waiter ? preferWait(c.req.header('Prefer'), MAX_WAIT_SECONDS) : undefined;
      if (wait === undefined || item.status !== 'processing') return answer(c, item);
      const waited = await deps.waiter!.wait(requestId, item, wait * 1000);
      if (waited.applied) c.header('Preference-Applied', `wait=${wait}`);
      // An item the table no longer holds (expired while waiting) answers as it was last read.
      return answer(c, waited.item ?? item);
    });
}
