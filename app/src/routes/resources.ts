import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import type * as v from 'valibot';
import { MAX_RECORD_BYTES, type OperationName, type ResourceOperation } from '../../../contract/operation';
import type { OperationAcceptor } from '../accept/OperationAcceptor';
import { authenticate } from '../auth/authenticate';
import { isAllowed } from '../auth/permissions';
import type { TokenVerifier } from '../auth/verifyToken';
import { ForbiddenError, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../errors';
import { findUnsafeJson } from '../validation/jsonShape';
import { parseOrThrow } from '../validation/validate';
import { validator } from '../validation/validator';
import { CollectionParamsSchema, ItemParamsSchema, ListQuerySchema, ScopeHeadersSchema, WriteBodySchema } from './schemas';
import type { GatewayEnv } from './types';

export interface ResourcesRouterDeps {
  verifyToken: TokenVerifier;
  acceptor: OperationAcceptor;
  /** @default () => new Date() */
  now?: () => Date;
  /** @default crypto.randomUUID */
  newId?: () => string;
}

// A body larger than a record can be is refused before it is read in full; the exact record check follows.
const MAX_BODY_BYTES = MAX_RECORD_BYTES;
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * Validates the scope headers and path, checks `{bl}` against them, and the caller's permission for
 * `operation`; sets `c.var.scope`. Runs before the body is read, so a refused caller learns nothing of it.
 */
function scopeFor(operation: OperationName, params: v.GenericSchema) {
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const headers = parseOrThrow(ScopeHeadersSchema, c.req.header(), 'header');
    const { bl } = parseOrThrow(params, c.req.param(), 'param') as { bl: string };
    const scope = { businessId: headers['x-business-id'], locationId: headers['x-location-id'], resourceType: headers['x-resource-type'] };
    if (bl !== `${scope.businessId}-${scope.locationId}`) {
      throw new ValidationError('the request is invalid', [{ field: 'param.bl', message: 'must equal {X-Business-ID}-{X-Location-ID}' }]);
    }
    if (!isAllowed(c.var.principal.permissions, scope, operation)) {
      throw new ForbiddenError(`no permission to ${operation} ${scope.resourceType} in this business and location`);
    }
    c.set('scope', scope);
    await next();
  });
}

const jsonBody = [
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new PayloadTooLargeError(`the body exceeds ${MAX_BODY_BYTES} bytes`);
    },
  }),
  createMiddleware(async (c, next) => {
    const type = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim();
    if (!JSON_MEDIA_TYPE.test(type)) throw new UnsupportedMediaTypeError('the body must be application/json');
    await next();
  }),
  validator('json', WriteBodySchema),
] as const;

/** Rejects prototype-polluting keys and deep nesting anywhere in `data`. */
function checkShape(data: unknown): void {
  const unsafe = findUnsafeJson(data);
  if (unsafe) throw new ValidationError('the request is invalid', [{ field: `json.data.${unsafe.field}`, message: unsafe.message }]);
}

/** `POST|PUT|PATCH|DELETE|GET /api/resources/{bl}[/{resourceId}]`: authorize, validate, publish, 202. */
export function createResourcesRouter(deps: ResourcesRouterDeps) {
  const now = deps.now ?? (() => new Date());
  const newId = deps.newId ?? (() => crypto.randomUUID());

  const base = (c: Context<GatewayEnv>) => ({
    ...c.var.scope,
    timestamp: now().toISOString(),
    requestId: newId(),
    sub: c.var.principal.sub,
    correlationId: c.var.requestId,
  });

  /** Publishes the operation and answers 202 with the seed's body once Kinesis acknowledged it. */
  const accept = async (c: Context<GatewayEnv>, op: ResourceOperation) => {
    // From here on, every line of this request (the access line too) names the operation's requestId.
    c.set('log', c.var.log.child({ requestId: op.requestId }));
    await deps.acceptor.accept(op, c.var.log);
    const id = 'resourceId' in op ? op.resourceId : undefined;
    const data = 'data' in op ? op.data : undefined;
    c.header('Location', `/api/requests/${op.requestId}`);
    return c.json(
      {
        success: true as const,
        data: { ...data, ...(id ? { id } : {}), status: 'processing' as const, requestId: op.requestId },
        meta: { businessId: op.businessId, locationId: op.locationId, resourceType: op.resourceType, operation: op.operation, timestamp: op.timestamp },
      },
      202,
    );
  };

  return new Hono<GatewayEnv>()
    .use(authenticate(deps.verifyToken))
    .post('/:bl', scopeFor('create', CollectionParamsSchema), ...jsonBody, async (c) => {
      const { data } = c.req.valid('json');
      checkShape(data);
      // A UUID keeps ids unique across concurrent requests and gateway tasks.
      const resourceId = `${c.var.scope.resourceType}-${newId()}`;
      return accept(c, { ...base(c), operation: 'create', resourceId, data: { ...data, id: resourceId } });
    })
    .put('/:bl/:resourceId', scopeFor('update', ItemParamsSchema), ...jsonBody, async (c) => {
      const { data } = c.req.valid('json');
      checkShape(data);
      return accept(c, { ...base(c), operation: 'update', resourceId: c.req.param('resourceId'), data });
    })
    .patch('/:bl/:resourceId', scopeFor('patch', ItemParamsSchema), ...jsonBody, async (c) => {
      const { data } = c.req.valid('json');
      checkShape(data);
      return accept(c, { ...base(c), operation: 'patch', resourceId: c.req.param('resourceId'), data });
    })
    .delete('/:bl/:resourceId', scopeFor('delete', ItemParamsSchema), async (c) =>
      accept(c, { ...base(c), operation: 'delete', resourceId: c.req.param('resourceId') }),
    )
    .get('/:bl', scopeFor('list', CollectionParamsSchema), validator('query', ListQuerySchema), async (c) => {
      const { pagination, filters } = c.req.valid('query');
      return accept(c, { ...base(c), operation: 'list', pagination, ...(Object.keys(filters).length > 0 ? { filters } : {}) });
    });
}
