import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import { describeRoute } from 'hono-openapi';
import type * as v from 'valibot';
import { MAX_RECORD_BYTES, type OperationName, type ResourceOperation } from '../../../contract/operation';
import type { OperationAcceptor } from '../accept/OperationAcceptor';
import { authenticate } from '../auth/authenticate';
import { isAllowed } from '../auth/permissions';
import type { TokenVerifier } from '../auth/verifyToken';
import { ForbiddenError, GatewayError, MethodNotAllowedError, PayloadTooLargeError, StreamUnavailableError, UnsupportedMediaTypeError, ValidationError } from '../errors';
import { requestFingerprint } from '../idempotency/fingerprint';
import type { AttemptIds, IdempotencyStore } from '../idempotency/IdempotencyStore';
import { resourceRouteDocs } from '../openapi/routeDocs';
import { findUnsafeJson, isForbiddenKey } from '../validation/jsonShape';
import { parseOrThrow } from '../validation/validate';
import { validator } from '../validation/validator';
import {
  CollectionParamsSchema,
  ItemParamsSchema,
  ListQuerySchema,
  ScopeHeadersSchema,
  WriteBodySchema,
  WriteHeadersSchema,
  type AcceptedBody,
} from './schemas';
import type { GatewayEnv } from './types';

export interface ResourcesRouterDeps {
  verifyToken: TokenVerifier;
  acceptor: OperationAcceptor;
  /** @default () => new Date() */
  now?: () => Date;
  /** @default crypto.randomUUID */
  newId?: () => string;
  /** `Idempotency-Key` records; without it the header is validated, then ignored. */
  idempotency?: IdempotencyStore;
}

// A body larger than a record can be is refused before it is read in full; the exact record check follows.
const MAX_BODY_BYTES = MAX_RECORD_BYTES;
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

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

const tooLarge = () => {
  throw new PayloadTooLargeError(`the body exceeds ${MAX_BODY_BYTES} bytes`);
};
const streamedBodyLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });

/**
 * The body limit. With a Content-Length the header decides; Hono's bodyLimit touches `c.req.raw.body`, which
 * makes @hono/node-server build a full WHATWG Request per request (measured: a quarter of the gateway's CPU),
 * so it only runs for chunked bodies, which it counts as they stream.
 */
const limitBody = createMiddleware(async (c, next) => {
  const length = c.req.header('content-length');
  if (length === undefined || c.req.header('transfer-encoding') !== undefined) return streamedBodyLimit(c, next);
  if (!/^\d+$/.test(length) || Number(length) > MAX_BODY_BYTES) tooLarge();
  await next();
});

const jsonBody = [
  limitBody,
  createMiddleware(async (c, next) => {
    const type = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim();
    if (!JSON_MEDIA_TYPE.test(type)) throw new UnsupportedMediaTypeError('the body must be application/json');
    // Decoded strictly: invalid UTF-8 is refused rather than silently turned into U+FFFD. Hono's json() reads
    // the cached text.
    let text: string;
    try {
      text = STRICT_UTF8.decode(await c.req.arrayBuffer());
    } catch {
      throw new ValidationError('the request is invalid', [{ field: 'json', message: 'the body is not valid UTF-8' }]);
    }
    (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(text);
    await next();
  }),
  validator('json', WriteBodySchema),
] as const;

/** Rejects prototype-polluting keys and deep nesting anywhere in `data`. */
function checkShape(data: unknown): void {
  const unsafe = findUnsafeJson(data);
  if (unsafe) throw new ValidationError('the request is invalid', [{ field: `json.data.${unsafe.field}`, message: unsafe.message }]);
}

/**
 * Refuses filters named `__proto__`, `constructor` or `prototype`. Checked on the raw query: valibot drops a
 * `__proto__` key from its output, which would turn the refusal into an unfiltered list.
 */
const refuseForbiddenFilters = createMiddleware(async (c, next) => {
  const name = Object.keys(c.req.queries()).find(isForbiddenKey);
  if (name) throw new ValidationError('the request is invalid', [{ field: `query.${name}`, message: 'this filter name is not allowed' }]);
  await next();
});

/** Builds an operation from the ids and timestamp it is accepted with. */
type MakeOperation = (ids: AttemptIds, timestamp: string) => ResourceOperation;

/** `POST|PUT|PATCH|DELETE|GET /api/resources/{bl}[/{resourceId}]`: authorize, validate, publish, 202. */
export function createResourcesRouter(deps: ResourcesRouterDeps) {
  const now = deps.now ?? (() => new Date());
  const newId = deps.newId ?? (() => crypto.randomUUID());

  const base = (c: Context<GatewayEnv>, ids: AttemptIds, timestamp: string) => ({
    ...c.get('scope'),
    timestamp,
    requestId: ids.requestId,
    sub: c.get('principal').sub,
    correlationId: c.get('requestId'),
  });

  /** The seed's 202 body and Location for `op`; a replay rebuilds the same from the stored ids. */
  const answer = (c: Context<GatewayEnv>, op: ResourceOperation) => {
    const id = 'resourceId' in op ? op.resourceId : undefined;
    const data = 'data' in op ? op.data : undefined;
    c.header('Location', `/api/requests/${op.requestId}`);
    const body: AcceptedBody = {
      success: true,
      data: { ...data, ...(id ? { id } : {}), status: 'processing', requestId: op.requestId },
      meta: { businessId: op.businessId, locationId: op.locationId, resourceType: op.resourceType, operation: op.operation, timestamp: op.timestamp },
    };
    return c.json(body, 202);
  };

  /** Publishes the operation and answers 202 once Kinesis acknowledged it. */
  const publish = async (c: Context<GatewayEnv>, op: ResourceOperation) => {
    // From here on, every line of this request (the access line too) names the operation's requestId.
    c.set('log', c.get('log').child({ requestId: op.requestId }));
    await deps.acceptor.accept(op, c.get('log'));
    return answer(c, op);
  };

  /**
   * Accepts the operation `make` builds. With an `Idempotency-Key`, the key is claimed first: a repeat of
   * an answered request replays its answer and writes nothing; see IdempotencyStore.
   */
  const accept = async (c: Context<GatewayEnv>, make: MakeOperation, fresh: { resourceId?: string; body?: unknown } = {}) => {
    const ids: AttemptIds = { requestId: newId(), ...(fresh.resourceId ? { resourceId: fresh.resourceId } : {}) };
    const key = c.get('idempotencyKey');
    if (key === undefined || !deps.idempotency) return publish(c, make(ids, now().toISOString()));

    // A record over Kinesis' limit is refused before the key is claimed: a refusal writes nothing, not even that.
    deps.acceptor.encode(make(ids, now().toISOString()));
    const fingerprint = requestFingerprint({ method: c.req.method, path: c.req.path, scope: c.get('scope'), body: fresh.body });
    const claim = await deps.idempotency.claim({ sub: c.get('principal').sub, key, fingerprint }, ids).catch((err: unknown) => {
      if (err instanceof GatewayError) throw err;
      throw new StreamUnavailableError('the idempotency store is unavailable', 1, { cause: err });
    });
    if (claim.outcome === 'replay') {
      const op = make(claim.answer, claim.answer.timestamp);
      c.set('log', c.get('log').child({ requestId: op.requestId }));
      c.get('log').info('idempotent replay');
      return answer(c, op);
    }
    const op = make(claim.ids, now().toISOString());
    let res: Response;
    try {
      res = await publish(c, op);
    } catch (err) {
      // A refusal (4xx) wrote nothing and forgets the key; a failure (5xx) may have reached the stream, so
      // the key stays bound to this request and a retry reuses its requestId (the consumer applies it once).
      const clientError = err instanceof GatewayError && err.status < 500;
      await (clientError ? claim.discard() : claim.release()).catch((e: unknown) =>
        c.get('log').warn('idempotency claim not released; it frees itself when its lease ends', { err: e }),
      );
      throw err;
    }
    await claim.complete({ ...claim.ids, timestamp: op.timestamp }).catch((e: unknown) =>
      c.get('log').warn('idempotency answer not stored; a retry after the lease republishes the same requestId', { err: e }),
    );
    return res;
  };

  const docs = resourceRouteDocs();
  return new Hono<GatewayEnv>()
    // Hono answers HEAD with the GET handler, and a GET here is a list: an operation put on the stream.
    .use(async (c, next) => {
      if (c.req.method === 'HEAD') throw new MethodNotAllowedError('HEAD is not supported on resources; use GET to list');
      await next();
    })
    .use(authenticate(deps.verifyToken))
    .post('/:bl', describeRoute(docs.create), scopeFor('create', CollectionParamsSchema), ...jsonBody, async (c) => {
      const body = c.req.valid('json');
      checkShape(body.data);
      // A UUID keeps ids unique across concurrent requests and gateway tasks.
      const resourceId = `${c.get('scope').resourceType}-${newId()}`;
      return accept(
        c,
        (ids, timestamp) => {
          const id = ids.resourceId ?? resourceId;
          return { ...base(c, ids, timestamp), operation: 'create', resourceId: id, data: { ...body.data, id } };
        },
        { resourceId, body },
      );
    })
    .put('/:bl/:resourceId', describeRoute(docs.update), scopeFor('update', ItemParamsSchema), ...jsonBody, async (c) => {
      const body = c.req.valid('json');
      checkShape(body.data);
      const resourceId = c.req.param('resourceId');
      return accept(c, (ids, timestamp) => ({ ...base(c, ids, timestamp), operation: 'update', resourceId, data: body.data }), { body });
    })
    .patch('/:bl/:resourceId', describeRoute(docs.patch), scopeFor('patch', ItemParamsSchema), ...jsonBody, async (c) => {
      const body = c.req.valid('json');
      checkShape(body.data);
      const resourceId = c.req.param('resourceId');
      return accept(c, (ids, timestamp) => ({ ...base(c, ids, timestamp), operation: 'patch', resourceId, data: body.data }), { body });
    })
    .delete('/:bl/:resourceId', describeRoute(docs.delete), scopeFor('delete', ItemParamsSchema), async (c) => {
      const resourceId = c.req.param('resourceId');
      return accept(c, (ids, timestamp) => ({ ...base(c, ids, timestamp), operation: 'delete', resourceId }));
    })
    .get('/:bl', describeRoute(docs.list), scopeFor('list', CollectionParamsSchema), refuseForbiddenFilters, validator('query', ListQuerySchema), async (c) => {
      const { pagination, filters } = c.req.valid('query');
      return accept(c, (ids, timestamp) => ({
        ...base(c, ids, timestamp),
        operation: 'list',
        pagination,
        ...(Object.keys(filters).length > 0 ? { filters } : {}),
      }));
    });
}
