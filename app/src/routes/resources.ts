import { Hono, type Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { describeRoute } from 'hono-openapi';
import type * as v from 'valibot';
import { MAX_RECORD_BYTES, type OperationName } from '../../../contract/operation';
import { authenticate } from '../auth/authenticate';
import { isAllowed } from '../auth/permissions';
import type { TokenVerifier } from '../auth/verifyToken';
import { ForbiddenError, ValidationError } from '../errors';
import { bodyLimit } from '../http/bodyLimit';
import { jsonBody } from '../http/jsonBody';
import { jsonMediaType } from '../http/jsonMediaType';
import { noBody } from '../http/noBody';
import { storableData } from '../http/storableData';
import { strictUtf8Body } from '../http/strictUtf8Body';
import { resourceRouteDocs } from '../openapi/routeDocs';
import { isForbiddenKey } from '../validation/jsonShape';
import { parseOrThrow } from '../validation/validate';
import { validator } from '../validation/validator';
import { acceptOperation, type AcceptOperationDeps } from './acceptOperation';
import { CollectionParamsSchema, ItemParamsSchema, ListQuerySchema, ScopeHeadersSchema, WriteHeadersSchema } from './schemas';
import type { GatewayEnv } from './types';

export interface ResourcesRouterDeps extends AcceptOperationDeps {
  verifyToken: TokenVerifier;
}

/**
 * Validates the scope headers (and a write's `Idempotency-Key`) and path, checks `{bl}` against them, and the
 * caller's permission for `operation`; sets the context's `scope` and `idempotencyKey`. Runs before the body
 * is read, so a refused caller learns nothing of it.
 */
function scopeFor(operation: OperationName, params: v.GenericSchema) {
  // List is a read: retrying it is harmless, so it takes no Idempotency-Key (the header is ignored).
  const headersSchema = operation === 'list' ? ScopeHeadersSchema : WriteHeadersSchema;
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const headers = parseOrThrow(headersSchema, c.req.header(), 'header') as v.InferOutput<typeof WriteHeadersSchema>;
    const { bl } = parseOrThrow(params, c.req.param(), 'param') as { bl: string };
    const scope = { businessId: headers['x-business-id'], locationId: headers['x-location-id'], resourceType: headers['x-resource-type'] };
    if (bl !== `${scope.businessId}-${scope.locationId}`) {
      throw new ValidationError('the request is invalid', [{ field: 'param.bl', message: 'must equal {X-Business-ID}-{X-Location-ID}' }]);
    }
    if (!isAllowed(c.get('principal').permissions, scope, operation)) {
      throw new ForbiddenError(`no permission to ${operation} ${scope.resourceType} in this business and location`);
    }
    c.set('scope', scope);
    if (headers['idempotency-key'] !== undefined) c.set('idempotencyKey', headers['idempotency-key']);
    await next();
  });
}

// A body larger than a record can be is refused before it is read in full; the exact record check follows.
const writeBody = [bodyLimit(MAX_RECORD_BYTES), jsonMediaType(), strictUtf8Body(), jsonBody(), storableData()] as const;

/**
 * Refuses filters named `__proto__`, `constructor` or `prototype`. Checked on the raw query: valibot drops a
 * `__proto__` key from its output, which would turn the refusal into an unfiltered list.
 */
const refuseForbiddenFilters = createMiddleware(async (c, next) => {
  const name = Object.keys(c.req.queries()).find(isForbiddenKey);
  if (name) throw new ValidationError('the request is invalid', [{ field: `query.${name}`, message: 'this filter name is not allowed' }]);
  await next();
});

/** `POST|PUT|PATCH|DELETE|GET /api/resources/{bl}[/{resourceId}]`: authorize, validate, publish, 202. */
export function createResourcesRouter(deps: ResourcesRouterDeps) {
  const { accept, base, newId } = acceptOperation(deps);
  const write = (c: Context<GatewayEnv>, operation: 'update' | 'patch') => {
    const body = c.get('body');
    const resourceId = c.req.param('resourceId')!;
    return accept(c, (a) => ({ ...base(c, a), operation, resourceId, data: body.data }), { body });
  };

  const docs = resourceRouteDocs();
  // Per route, not router-wide: a path no route serves is 404 to anyone, not 401 to those without a token.
  const auth = authenticate(deps.verifyToken);
  return new Hono<GatewayEnv>()
    .post('/:bl', describeRoute(docs.create), auth, scopeFor('create', CollectionParamsSchema), ...writeBody, async (c) => {
      const body = c.get('body');
      const resourceId = `${c.get('scope').resourceType}-${newId()}`;
      return accept(
        c,
        (a) => {
          const id = a.resourceId ?? resourceId;
          return { ...base(c, a), operation: 'create', resourceId: id, data: { ...body.data, id } };
        },
        { resourceId, body },
      );
    })
    .put('/:bl/:resourceId', describeRoute(docs.update), auth, scopeFor('update', ItemParamsSchema), ...writeBody, (c) => write(c, 'update'))
    .patch('/:bl/:resourceId', describeRoute(docs.patch), auth, scopeFor('patch', ItemParamsSchema), ...writeBody, (c) => write(c, 'patch'))
    .delete('/:bl/:resourceId', describeRoute(docs.delete), auth, scopeFor('delete', ItemParamsSchema), noBody(), async (c) => {
      const resourceId = c.req.param('resourceId');
      return accept(c, (a) => ({ ...base(c, a), operation: 'delete', resourceId }));
    })
    .get('/:bl', describeRoute(docs.list), auth, scopeFor('list', CollectionParamsSchema), noBody(), refuseForbiddenFilters, validator('query', ListQuerySchema), async (c) => {
      const { pagination, filters } = c.req.valid('query');
      return accept(c, (a) => ({ ...base(c, a), operation: 'list', pagination, ...(Object.keys(filters).length > 0 ? { filters } : {}) }));
    });
}
