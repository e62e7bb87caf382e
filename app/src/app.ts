import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import type { ResourceOperation } from '../../contract/operation';
import { OperationAcceptor, type AcceptedStatusWriter } from './accept/OperationAcceptor';
import type { TokenVerifier } from './auth/verifyToken';
import { NotFoundError } from './errors';
import { accessLog } from './http/accessLog';
import { allowedMethods } from './http/allowedMethods';
import { apiSecureHeaders } from './http/apiSecureHeaders';
import { correlationId } from './http/correlationId';
import { errorResponder } from './http/errorResponder';
import { urlLimit } from './http/urlLimit';
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
  /** `Idempotency-Key` records (the idempotency table); without it the header is validated, then ignored. */
  idempotency?: IdempotencyStore;
  /** Status reads waiting on `Prefer: wait` per task, at most. @default DEFAULT_MAX_WAITING (status/StatusWaiter.ts) */
  maxStatusWaiting?: number;
  /** Serves `Prefer: wait`; tests pass one on a virtual clock. @default a StatusWaiter on `statusStore` */
  statusWaiter?: StatusWaiter;
  now?: () => Date;
  newId?: () => string;
}

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
  app.use(accessLog({ logger: deps.logger, metrics: deps.metrics, draining: deps.draining }));
  app.use(apiSecureHeaders());
  app.use(urlLimit());
  app.use(allowedMethods(app));

  app.route('/', createHealthRouter({ ready: deps.ready }));
  app.route(
    '/api/resources',
    createResourcesRouter({ verifyToken: deps.verifyToken, acceptor, now: deps.now, newId: deps.newId, idempotency: deps.idempotency }),
  );
  const waiter = deps.statusWaiter ?? new StatusWaiter({ read: (id) => deps.statusStore.get(id), maxWaiting: deps.maxStatusWaiting, draining: deps.draining });
  app.route('/api/requests', createRequestsRouter({ verifyToken: deps.verifyToken, statusStore: deps.statusStore, waiter }));
  app.get('/openapi.json', describeRoute(OPENAPI_ROUTE_DOCS), openApiHandler(app));

  const respond = errorResponder(deps.logger);
  app.notFound((c) => respond(c, new NotFoundError('no such route')));
  app.onError((err, c) => respond(c, err));
  return app;
}

export type GatewayApp = ReturnType<typeof createApp>;
