import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import type { StatusItem } from '../../../contract/status';
import { authenticate } from '../auth/authenticate';
import { hasAnyPermission } from '../auth/permissions';
import type { TokenVerifier } from '../auth/verifyToken';
import { NotFoundError } from '../errors';
import { statusRouteDocs } from '../openapi/routeDocs';
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
}

/** `GET /api/requests/{requestId}`: an operation's status, for callers with any permission on its scope. */
export function createRequestsRouter(deps: RequestsRouterDeps) {
  return new Hono<GatewayEnv>()
    .use(authenticate(deps.verifyToken))
    .get('/:requestId', describeRoute(statusRouteDocs()), validator('param', StatusParamsSchema), async (c) => {
      const { requestId } = c.req.valid('param');
      const item = await deps.statusStore.get(requestId);
      // Someone without permission on the operation's scope cannot tell it exists.
      if (!item || !hasAnyPermission(c.get('principal').permissions, item)) throw new NotFoundError('no such request');
      const body: StatusBody = {
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
        },
      };
      return c.json(body);
    });
}
