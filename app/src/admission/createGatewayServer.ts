import { getRequestListener, RequestError } from '@hono/node-server';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { InternalError, type GatewayError } from '../errors';
import { answerClientErrorsAsJson, type Exchange } from '../http/clientError';
import { CORRELATION_HEADER } from '../http/correlationId';
import type { Logger } from '../logger';
import { GATEWAY_METRICS, type Metrics } from '../metrics/Metrics';
import { ThrottledLog } from '../throttledLog';
import type { BodyBudget } from './BodyBudget';
import { settleCorrelationId } from './settleCorrelationId';
import { GatewayBusyError, MalformedRequestError } from './errors';
import { errorResponse, writeErrorAnswer } from './jsonErrorAnswer';

export interface GatewayServerOptions {
  /** The app's fetch handler (Hono's `app.fetch`). */
  fetch: Parameters<typeof getRequestListener>[0];
  /** Request bodies held at once. */
  budget: BodyBudget;
  /** The largest body the app takes (it refuses more with 413): what a chunked body reserves. */
  maxBodyBytes: number;
  logger: Logger;
  metrics?: Metrics;
}

/**
 * Bytes a request reserves of the budget: its Content-Length (no more than the app would read), or for a
 * chunked body the most it may carry, since its size is known only once read. A request refused after part
 * of its body was read could not be answered cleanly: the app would be reading it.
 */
function reservationOf(incoming: IncomingMessage, maxBodyBytes: number): number {
  if (incoming.headers['transfer-encoding'] !== undefined) return maxBodyBytes;
  const length = incoming.headers['content-length'];
  if (length === undefined || !/^\d+$/.test(length)) return 0;
  return Math.min(Number(length), maxBodyBytes);
}

/**
 * The gateway's HTTP server: what it answers before the app sees a request, and the app behind it.
 * - Every answer carries X-Request-ID: the id is settled here ({@link settleCorrelationId}) and set on the
 *   Node response, so even an answer the app never shapes has it.
 * - A request whose body does not fit the {@link BodyBudget} is answered 503 with Retry-After before any of
 *   its body is read; its reservation is given back when its answer is written or its connection closes.
 * - A request @hono/node-server cannot turn into a fetch Request (a missing or invalid Host, a backslash in
 *   the path, `OPTIONS *`) is a JSON 400.
 * - What Node's parser refuses is answered by {@link answerClientErrorsAsJson}.
 */
export function createGatewayServer(o: GatewayServerOptions): Server {
  const exchanges = new WeakMap<Duplex, Exchange>();
  const busyLog = new ThrottledLog(o.logger, 'warn');
  let current: Exchange | undefined;

  const answered = (e: GatewayError, correlationId: string | undefined, appCounts = false) => {
    o.logger.info('answered by the HTTP server', { correlationId, status: e.status, code: e.code });
    if (!appCounts) o.metrics?.count(GATEWAY_METRICS.requests, 1, { Operation: 'other', StatusClass: `${Math.floor(e.status / 100)}xx` });
  };
  const toApp = getRequestListener(o.fetch, {
    // Called while `current` is still the request's: node-server builds its Request synchronously.
    errorHandler: (err) => {
      const e = err instanceof RequestError ? new MalformedRequestError(`the request is malformed: ${err.message}`) : new InternalError('internal error', undefined, { cause: err });
      if (e.status >= 500) o.logger.error(e.message, { correlationId: current?.correlationId, err });
      answered(e, current?.correlationId);
      return errorResponse(e);
    },
  });

  // Without a Host, Node itself would answer a bare 400; node-server refuses it, as a JSON 400, instead.
  const server = createServer({ requireHostHeader: false }, (incoming: IncomingMessage, res: ServerResponse) => {
    const correlationId = settleCorrelationId(incoming);
    res.setHeader(CORRELATION_HEADER, correlationId);
    const reserved = reservationOf(incoming, o.maxBodyBytes);
    if (reserved > 0 && !o.budget.tryReserve(reserved)) {
      busyLog.write('request bodies fill the body budget: refusing with 503', { heldBytes: o.budget.heldBytes, capacityBytes: o.budget.capacityBytes });
      const e = new GatewayBusyError('the gateway is busy, retry later', 1);
      answered(e, correlationId);
      writeErrorAnswer(res, e, correlationId);
      return;
    }
    const exchange: Exchange = { incoming, res, correlationId };
    exchanges.set(incoming.socket, exchange);
    res.once('close', () => {
      if (reserved > 0) o.budget.release(reserved);
      if (exchanges.get(incoming.socket) === exchange) exchanges.delete(incoming.socket);
    });
    current = exchange;
    try {
      void toApp(incoming, res);
    } finally {
      current = undefined;
    }
  });
  answerClientErrorsAsJson(server, { inFlight: (socket) => exchanges.get(socket), onAnswer: answered });
  return server;
}
