import { Hono, type Context } from 'hono';
import { describeRoute } from 'hono-openapi';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import type { ResourceOperation } from '../../contract/operation';
import { OperationAcceptor, type AcceptedStatusWriter } from './accept/OperationAcceptor';
import { MalformedRequestError } from './admission/errors';
import { isClientFault } from './admission/isClientFault';
import type { TokenVerifier } from './auth/verifyToken';
import { GatewayError, InternalError, NotFoundError, PayloadTooLargeError, UriTooLongError, ValidationError } from './errors';
import { allowedMethods } from './http/allowedMethods';
import { correlationId } from './http/correlationId';
import type { IdempotencyStore } from './idempotency/IdempotencyStore';
import type { Logger } from './logger';
import { GATEWAY_METRICS, type Metrics } from './metrics/Metrics';
import { OPENAPI_ROUTE_DOCS, openApiHandler } from './openapi/openApiDocument';
import type { Publisher } from './publish/Publisher';
import { createHealthRouter, type HealthDeps } from './routes/health';
import { createRequestsRouter, type StatusReader } from './routes/requests';
import { createResourcesRouter } from './routes/resources';
import type { GatewayEnv } from './routes/types';
import { StatusWaiter } from './status/StatusWaiter';

export interface AppDeps {
  verifyToken: TokenVerifier;
  publisher: Publisher;
  statusStore: AcceptedStatusWriter & StatusReader;
  logger: Logger;
  ready: HealthDeps['ready'];
  /** Seconds a status item is kept. */
  statusRetentionSeconds: number;
  /** Field encryption of the record (see OperationAcceptor); none when omitted. */
  prepareRecord?: (op: ResourceOperation) => Promise<ResourceOperation>;
  /** True once the server is stopping: answers then close their connection. */
  draining?: () => boolean;
  /** Per-operation request metrics (EMF); none when omitted. */
  metrics?: Metrics;
  /** `Idempotency-Key` records (status table); without it the header is validated, then ignored. */
  idempotency?: IdempotencyStore;
  /** Status reads waiting on `Prefer: wait` per task, at most. @default DEFAULT_MAX_WAITING (status/StatusWaiter.ts) */
  maxStatusWaiting?: number;
  /** Serves `Prefer: wait`; tests pass one on a virtual clock. @default a StatusWaiter on `statusStore` */
  statusWaiter?: StatusWaiter;
  now?: () => Date;
  newId?: () => string;
}

const OPERATION_BY_METHOD: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete', GET: 'list' };

/** A bounded name for what a request did: an operation, `status`, `health`, or `other`. */
function operationOf(method: string, routePath: string): string {
  if (routePath.startsWith('/api/resources')) return OPERATION_BY_METHOD[method] ?? 'other';
  if (routePath.startsWith('/api/requests')) return 'status';
  if (routePath === '/health' || routePath === '/ready') return 'health';
  return 'other';
}


/** Maps any thrown value to the gateway's error shape. */
function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (isClientFault(err)) return new MalformedRequestError('the request was cut off or malformed', undefined, { cause: err });
  if (err instanceof HTTPException) {
    // Hono's own refusals: malformed JSON (400) and the body limit (413).
    if (err.status === 413) return new PayloadTooLargeError('the body is too large');
    if (err.status < 500) return new ValidationError(err.message || 'the request is invalid');
  }
  return new InternalError('internal error', undefined, { cause: err });
}

const MAX_URL_LENGTH = 8192;

/** Builds the gateway from its dependencies; `server.ts` wires real clients, tests wire emulators or doubles. */
export function createApp(deps: AppDeps) {
  const acceptor = new OperationAcceptor({
    publisher: deps.publisher,
    statusStore: deps.statusStore,
    statusRetentionSeconds: deps.statusRetentionSeconds,
    prepareRecord: deps.prepareRecord,
    onStatusWriteFailure: () => deps.metrics?.count(GATEWAY_METRICS.statusWriteFailures),
  });
  const app = new Hono<GatewayEnv>();

  app.use(correlationId());
  app.use(async (c, next) => {
    c.set('log', deps.logger.child({ correlationId: c.get('correlationId') }));
    const started = performance.now();
    await next();
    if (deps.draining?.()) c.header('Connection', 'close');
    const ms = Math.round((performance.now() - started) * 10) / 10;
    const route = c.req.routePath === '/*' ? undefined : c.req.routePath;
    c.get('log').info('request', { method: c.req.method, path: route, status: c.res.status, ms });
    if (deps.metrics) {
      const Operation = operationOf(c.req.method, route ?? '');
      deps.metrics.count(GATEWAY_METRICS.requests, 1, { Operation, StatusClass: `${Math.floor(c.res.status / 100)}xx` });
      deps.metrics.observe(GATEWAY_METRICS.requestLatency, ms, 'Milliseconds', { Operation });
    }
  });
  // A JSON API: the headers that matter to it, not the browser-page set (each header costs on every answer).
  app.use(
    secureHeaders({
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      crossOriginEmbedderPolicy: false,
      crossOriginOpenerPolicy: false,
      originAgentCluster: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
      xFrameOptions: false,
    }),
  );
  app.use(async (c, next) => {
    // Node bounds the request line and headers together (16 KiB); the URL alone gets a tighter, explicit limit.
    if (c.req.url.length > MAX_URL_LENGTH) throw new UriTooLongError(`the URL exceeds ${MAX_URL_LENGTH} characters`);
    await next();
  });
  app.use(allowedMethods(app));

  app.route('/', createHealthRouter({ ready: deps.ready }));
  app.route(
    '/api/resources',
    createResourcesRouter({ verifyToken: deps.verifyToken, acceptor, now: deps.now, newId: deps.newId, idempotency: deps.idempotency }),
  );
  const waiter = deps.statusWaiter ?? new StatusWaiter({ read: (id) => deps.statusStore.get(id), maxWaiting: deps.maxStatusWaiting, draining: deps.draining });
  app.route('/api/requests', createRequestsRouter({ verifyToken: deps.verifyToken, statusStore: deps.statusStore, waiter }));
  app.get('/openapi.json', describeRoute(OPENAPI_ROUTE_DOCS), openApiHandler(app));

  const respond = (c: Context<GatewayEnv>, err: unknown) => {
    const e = toGatewayError(err);
    if (e.status >= 500) (c.get('log') ?? deps.logger).error(e.message, { code: e.code, err: e.cause ?? err });
    for (const [k, v] of Object.entries(e.headers)) c.header(k, v);
    return c.json(
      { success: false as const, error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } },
      e.status,
    );
  };
  app.notFound((c) => respond(c, new NotFoundError('no such route')));
  app.onError((err, c) => respond(c, err));
  return app;
}

export type GatewayApp = ReturnType<typeof createApp>;
