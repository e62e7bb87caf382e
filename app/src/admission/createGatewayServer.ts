import { getRequestListener, RequestError } from '@hono/node-server';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { InternalError, type GatewayError } from '../errors';
import { BEARER } from '../auth/authenticate';
import { answerAndClose, answerClientErrorsAsJson, type Exchange } from '../http/clientError';
import { CORRELATION_HEADER } from '../http/correlationId';
import type { Logger } from '../logger';
import { GATEWAY_METRICS, type Metrics } from '../metrics/Metrics';
import { ThrottledLog } from '../throttledLog';
import type { BodyBudget } from './BodyBudget';
import { settleCorrelationId } from './settleCorrelationId';
import { ExpectationFailedError, GatewayBusyError, MalformedRequestError, RequestTimeoutError } from './errors';
import { errorResponse, rawErrorAnswer, writeErrorAnswer } from './jsonErrorAnswer';

export interface GatewayServerOptions {
  /** The app's fetch handler (Hono's `app.fetch`). */
  fetch: Parameters<typeof getRequestListener>[0];
  /** Request bodies held at once. */
  budget: BodyBudget;
  /** The largest body the app takes (it refuses more with 413): what a chunked body reserves. */
  maxBodyBytes: number;
  logger: Logger;
  metrics?: Metrics;
  /** How long an admitted body may pause, no byte of it arriving, before it is answered 408, ms. @default DEFAULT_BODY_IDLE_TIMEOUT_MS */
  bodyIdleTimeoutMs?: number;
}

/**
 * Default of `bodyIdleTimeoutMs`. A body holds its share of the budget while it arrives, so a client that
 * announces one and sends nothing would hold it until Node's 300 s `requestTimeout`: a few dozen such
 * connections would fill the budget. Ten seconds is far past a working client's pause (TCP's retransmissions
 * of a lost segment take a second or two) and bounds what a silent one holds.
 */
export const DEFAULT_BODY_IDLE_TIMEOUT_MS = 10_000;

/** How long a refused connection may keep sending before it is cut, ms. */
const LINGER_MS = 2000;

/**
 * Bytes a request reserves of the budget: its Content-Length (no more than the app would read), or for a
 * chunked body the most it may carry, since its size is known only once read. A request refused after part
 * of its body was read could not be answered cleanly: the app would be reading it. A request without a
 * bearer token reserves nothing: the app answers it 401 before reading a body, which Node then drops unread
 * (it stops reading the socket once a few KiB wait), so it cannot hold the budget that callers with a token need.
 */
function reservationOf(incoming: IncomingMessage, maxBodyBytes: number): number {
  if (!BEARER.test(incoming.headers.authorization ?? '')) return 0;
  if (incoming.headers['transfer-encoding'] !== undefined) return maxBodyBytes;
  const length = incoming.headers['content-length'];
  if (length === undefined || !/^\d+$/.test(length)) return 0;
  return Math.min(Number(length), maxBodyBytes);
}

/**
 * Calls `onIdle` once if no byte arrives on `incoming`'s connection for `idleMs` before its body is complete or
 * its answer begins. A body the app is not reading yet (Node stops reading the socket once its buffer is full)
 * is the gateway's wait, not the client's pause. Returns what stops the watch.
 */
function watchBodyIdle(incoming: IncomingMessage, res: ServerResponse, idleMs: number, onIdle: () => void): () => void {
  const socket = incoming.socket;
  let seen = socket.bytesRead;
  let progressAt = performance.now();
  const timer = setInterval(() => {
    if (incoming.complete || res.headersSent) return clearInterval(timer);
    if (socket.bytesRead !== seen || incoming.readableLength >= incoming.readableHighWaterMark) {
      seen = socket.bytesRead;
      progressAt = performance.now();
    } else if (performance.now() - progressAt >= idleMs) {
      clearInterval(timer);
      onIdle();
    }
  }, Math.max(1, Math.floor(idleMs / 4)));
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The gateway's HTTP server: what it answers before the app sees a request, and the app behind it.
 * - Every answer carries X-Request-ID: the id is settled here ({@link settleCorrelationId}) and set on the
 *   Node response, so even an answer the app never shapes has it.
 * - A request with a bearer token whose body does not fit the {@link BodyBudget} is answered 503 with
 *   Retry-After before any of its body is read (and before `100 Continue`, when it expects one); its
 *   reservation is given back when its answer is written, its connection closes, or its body pauses longer
 *   than `bodyIdleTimeoutMs` (answered 408). Busy answers are counted as `GatewayBusy`, not as 5xx requests:
 *   any client can cause them, and the gateway is not failing.
 * - An `Expect` other than `100-continue` is a JSON 417.
 * - A request @hono/node-server cannot turn into a fetch Request (a missing or invalid Host, a backslash in
 *   the path, `OPTIONS *`) is a JSON 400.
 * - What Node's parser refuses is answered by {@link answerClientErrorsAsJson}.
 */
export function createGatewayServer(o: GatewayServerOptions): Server {
  return new GatewayServer(o).server;
}

/** The server {@link createGatewayServer} builds, and the state its handlers share. */
class GatewayServer {
  readonly server: Server;
  readonly #o: GatewayServerOptions;
  readonly #exchanges = new WeakMap<Duplex, Exchange>();
  readonly #busyLog: ThrottledLog;
  readonly #idleMs: number;
  readonly #toApp: ReturnType<typeof getRequestListener>;
  /** The request being handed to the app, while node-server builds its Request (synchronously). */
  #current: Exchange | undefined;

  constructor(o: GatewayServerOptions) {
    this.#o = o;
    this.#busyLog = new ThrottledLog(o.logger, 'warn');
    this.#idleMs = o.bodyIdleTimeoutMs ?? DEFAULT_BODY_IDLE_TIMEOUT_MS;
    this.#toApp = getRequestListener(o.fetch, { errorHandler: (err) => this.#unbuildable(err) });
    // Without a Host, Node itself would answer a bare 400; node-server refuses it, as a JSON 400, instead.
    this.server = createServer({ requireHostHeader: false }, (incoming, res) => this.#handle(incoming, res, false));
    this.server.on('checkContinue', (incoming: IncomingMessage, res: ServerResponse) => this.#handle(incoming, res, true));
    this.server.on('checkExpectation', (incoming: IncomingMessage, res: ServerResponse) => this.#expectationFailed(incoming, res));
    answerClientErrorsAsJson(this.server, { inFlight: (socket) => this.#exchanges.get(socket), onAnswer: this.#answered, lingerMs: LINGER_MS });
  }

  /** Logs and counts an answer written here; `appCounts` when the app counts the request itself. */
  readonly #answered = (e: GatewayError, correlationId: string | undefined, appCounts = false) => {
    this.#o.logger.info('answered by the HTTP server', { correlationId, status: e.status, code: e.code });
    if (e instanceof GatewayBusyError) this.#o.metrics?.count(GATEWAY_METRICS.gatewayBusy);
    else if (!appCounts) this.#o.metrics?.count(GATEWAY_METRICS.requests, 1, { Operation: 'other', StatusClass: `${Math.floor(e.status / 100)}xx` });
  };

  /** node-server's error handler: a request it could not turn into a fetch Request is the client's 400. */
  #unbuildable(err: unknown): Response {
    const correlationId = this.#current?.correlationId;
    const e = err instanceof RequestError ? new MalformedRequestError(`the request is malformed: ${err.message}`) : new InternalError('internal error', undefined, { cause: err });
    if (e.status >= 500) this.#o.logger.error(e.message, { correlationId, err });
    this.#answered(e, correlationId);
    return errorResponse(e);
  }

  #handle(incoming: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    const correlationId = settleCorrelationId(incoming);
    res.setHeader(CORRELATION_HEADER, correlationId);
    const reserved = this.#admit(incoming, res, correlationId);
    if (reserved === undefined) return;
    // Only an admitted body is asked for. Node closes the connection after an answer to a request that expected
    // `100 Continue` and did not get it (its body may or may not follow).
    if (expectsContinue && reserved > 0) res.writeContinue();
    this.#dispatch(incoming, res, correlationId, reserved);
  }

  /** Reserves the request's body, or answers 503: the bytes reserved, or undefined when refused. */
  #admit(incoming: IncomingMessage, res: ServerResponse, correlationId: string): number | undefined {
    const { budget } = this.#o;
    const reserved = reservationOf(incoming, this.#o.maxBodyBytes);
    if (reserved === 0 || budget.tryReserve(reserved)) return reserved;
    this.#busyLog.write('request bodies fill the body budget: refusing with 503', { heldBytes: budget.heldBytes, capacityBytes: budget.capacityBytes });
    const e = new GatewayBusyError('the gateway is busy, retry later', 1);
    this.#answered(e, correlationId);
    writeErrorAnswer(res, e, correlationId);
    return undefined;
  }

  #dispatch(incoming: IncomingMessage, res: ServerResponse, correlationId: string, reserved: number): void {
    const exchange: Exchange = { incoming, res, correlationId };
    this.#exchanges.set(incoming.socket, exchange);
    let held = reserved;
    const giveBack = () => {
      this.#o.budget.release(held);
      held = 0;
    };
    const stopWatch = held > 0 ? watchBodyIdle(incoming, res, this.#idleMs, () => this.#bodyTimedOut(exchange, giveBack)) : () => {};
    res.once('close', () => {
      stopWatch();
      giveBack();
      if (this.#exchanges.get(incoming.socket) === exchange) this.#exchanges.delete(incoming.socket);
    });
    this.#current = exchange;
    try {
      void this.#toApp(incoming, res);
    } finally {
      this.#current = undefined;
    }
  }

  /** A body that paused too long: 408 on its connection, which then closes; the app's read of it fails as the client's fault. */
  #bodyTimedOut(exchange: Exchange, giveBack: () => void): void {
    const e = new RequestTimeoutError(`no byte of the body arrived for ${this.#idleMs} ms`);
    this.#answered(e, exchange.correlationId, true);
    giveBack();
    answerAndClose(exchange.incoming.socket, rawErrorAnswer(e, exchange.correlationId), LINGER_MS);
  }

  /** An `Expect` other than `100-continue`: Node would answer a bare 417. */
  #expectationFailed(incoming: IncomingMessage, res: ServerResponse): void {
    const correlationId = settleCorrelationId(incoming);
    const e = new ExpectationFailedError('the gateway meets no expectation but 100-continue');
    this.#answered(e, correlationId);
    res.setHeader('Connection', 'close');
    writeErrorAnswer(res, e, correlationId);
  }
}
