import type { Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { GATEWAY_METRICS } from '../../../common/metricNames';
import { DocumentedResponses, type OpenApiDocument } from '../../test/documentedResponses';
import { startHarness, type Harness } from '../../test/harness';
import { Metrics } from '../metrics/Metrics';
import { BodyBudget } from './BodyBudget';
import { createGatewayServer } from './createGatewayServer';

const MAX_BODY = 1024 * 1024;
// A body of the largest size, and a budget of exactly two of them.
const BIG = `{"data":{"s":"${'x'.repeat(MAX_BODY - 17)}"}}`;
const BIG_BYTES = Buffer.byteLength(BIG);
let h: Harness;
let token: string;
let server: Server;
let port: number;
let budget: BodyBudget;
let metricLines: Record<string, unknown>[];
let metrics: Metrics;
let doc: OpenApiDocument;
let guard: DocumentedResponses;

async function listen(s: Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}
async function close(s: Server): Promise<void> {
  s.closeAllConnections();
  await new Promise<void>((r) => s.close(() => r()));
}

beforeAll(async () => {
  h = await startHarness();
  token = await h.token(['b:l:appointment:*']);
  metricLines = [];
  metrics = new Metrics({ namespace: 'Test', defaultDimensions: { service: 'gateway' }, sink: (l) => metricLines.push(JSON.parse(l)) });
  budget = new BodyBudget(2 * BIG_BYTES);
  server = createGatewayServer({ fetch: h.app({ metrics }).fetch, budget, maxBodyBytes: MAX_BODY, logger: h.logger, metrics });
  port = await listen(server);
  doc = (await (await h.app().request('/openapi.json')).json()) as OpenApiDocument;
  guard = new DocumentedResponses(doc);
});
afterAll(async () => {
  await close(server);
  await h.close();
});
afterEach(() => {
  metricLines.length = 0;
  metrics.flush();
  metricLines.length = 0;
});

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits the bytes a connection received into its whole HTTP answers (Content-Length framed, as ours all are). */
function answers(raw: string): Answer[] {
  const out: Answer[] = [];
  let rest = raw;
  while (rest.startsWith('HTTP/1.1 ') && rest.includes('\r\n\r\n')) {
    const end = rest.indexOf('\r\n\r\n');
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length'] ?? 0);
    if (rest.length < end + 4 + length) break;
    out.push({ status: Number(statusLine!.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

/** Opens a connection, writes `bytes`, and resolves with everything received until the server closes it. */
function exchange(bytes: string | Buffer, o: { endAfterWrite?: boolean; port?: number } = {}): Promise<Answer[]> {
  return new Promise((resolve) => {
    const socket = connect(o.port ?? port, '127.0.0.1', () => (o.endAfterWrite ? socket.end(bytes) : socket.write(bytes)));
    let out = '';
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('close', () => resolve(answers(out)));
    socket.on('error', () => {});
  });
}

function open(to = port): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(to, '127.0.0.1', () => resolve(s));
    s.on('error', () => {});
  });
}

/** What `socket` receives: the answers so far, and all of them once the server closes it. */
function collect(socket: Socket): { soFar: () => Answer[]; closed: Promise<Answer[]> } {
  let out = '';
  socket.on('data', (d) => (out += d.toString('latin1')));
  return { soFar: () => answers(out), closed: new Promise((resolve) => socket.on('close', () => resolve(answers(out)))) };
}

/** A parsed raw answer as a fetch Response, for the document check. */
const toResponse = (a: Answer) => new Response(a.body, { status: a.status, headers: a.headers });

/** Every documented operation, with a URL its path template matches. */
const operations = () =>
  Object.entries(doc.paths).flatMap(([template, item]) => Object.keys(item).map((m) => ({ method: m.toUpperCase(), url: template.replace(/\{\w+\}/g, 'x') })));

/**
 * Fails unless `a` is what the OpenAPI document describes for `route`; without one, for every operation: the HTTP
 * server answers before any route is known, so each must document it.
 */
async function expectDocumented(a: Answer | undefined, route?: { method: string; url: string }) {
  expect(a).toBeDefined();
  const problems = await Promise.all((route ? [route] : operations()).map((r) => guard.problems(r.method, r.url, toResponse(a!))));
  expect(problems.flat()).toEqual([]);
}

const writeHead = (path: string, extra: string) =>
  `POST ${path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${token}\r\nX-Business-ID: b\r\nX-Location-ID: l\r\nX-Resource-Type: appointment\r\nContent-Type: application/json\r\n${extra}`;
const createRequest = (body: string) => `${writeHead('/api/resources/b-l', `Content-Length: ${Buffer.byteLength(body)}\r\n`)}\r\n${body}`;

function requestClasses(): Record<string, number> {
  metrics.flush();
  const out: Record<string, number> = {};
  for (const l of metricLines) if (typeof l[GATEWAY_METRICS.requests] === 'number') out[String(l.StatusClass)] = (out[String(l.StatusClass)] ?? 0) + (l[GATEWAY_METRICS.requests] as number);
  return out;
}

function busyCount(): number {
  metrics.flush();
  return metricLines.reduce((n, l) => n + (typeof l[GATEWAY_METRICS.gatewayBusy] === 'number' ? (l[GATEWAY_METRICS.gatewayBusy] as number) : 0), 0);
}

/** Two connections each announce a 1 MiB body and send none of it: the budget (2 MiB) is full. */
async function fillBudget(): Promise<Socket[]> {
  const holders = await Promise.all([open(), open()]);
  for (const s of holders) s.write(writeHead('/api/resources/b-l', `Content-Length: ${BIG_BYTES}\r\n\r\n`));
  await vi.waitFor(() => expect(budget.heldBytes).toBe(2 * BIG_BYTES));
  return holders;
}

async function emptyBudget(holders: Socket[]): Promise<void> {
  for (const s of holders) s.destroy();
  await vi.waitFor(() => expect(budget.heldBytes).toBe(0));
}

function expectJsonError(a: Answer | undefined, status: number, code: string) {
  expect(a?.status).toBe(status);
  expect(a!.headers['content-type']).toMatch(/^application\/json/);
  expect(a!.headers['x-request-id']).toMatch(/^[A-Za-z0-9_-]{1,128}$/);
  expect(JSON.parse(a!.body)).toEqual({ success: false, error: { code, message: expect.any(String) } });
}

describe('createGatewayServer: answers the HTTP server shapes before the app', () => {
  it.each([
    ['headers over the limit', `GET /health HTTP/1.1\r\nHost: gw\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
    ['a header with a control character', 'GET /health HTTP/1.1\r\nHost: gw\r\nX-Bad: a\u0001b\r\n\r\n', 400, 'VALIDATION_ERROR'],
    ['a malformed request line', 'GET /health HTTP/9\r\n\r\n', 400, 'VALIDATION_ERROR'],
    ['no Host', 'GET /health HTTP/1.1\r\n\r\n', 400, 'VALIDATION_ERROR'],
    ['an invalid Host', 'GET /health HTTP/1.1\r\nHost: a/b@c\r\n\r\n', 400, 'VALIDATION_ERROR'],
    ['a backslash in the path', 'GET /api\\resources/b-l HTTP/1.1\r\nHost: gw\r\n\r\n', 400, 'VALIDATION_ERROR'],
    ['OPTIONS *', 'OPTIONS * HTTP/1.1\r\nHost: gw\r\n\r\n', 400, 'VALIDATION_ERROR'],
    ['a Transfer-Encoding other than chunked', `${writeHead('/api/resources/b-l', 'Transfer-Encoding: gzip\r\n')}\r\n{"data":{}}`, 400, 'VALIDATION_ERROR'],
    ['an Expect other than 100-continue', 'GET /health HTTP/1.1\r\nHost: gw\r\nExpect: tea\r\n\r\n', 417, 'EXPECTATION_FAILED'],
  ])('answers %s with its JSON error and an X-Request-ID, counted 4xx, as every route documents', async (_name, bytes, status, code) => {
    const [a] = await exchange(bytes, { endAfterWrite: true });
    expectJsonError(a, status, code);
    expect(requestClasses()).toEqual({ '4xx': 1 });
    await expectDocumented(a);
  });

  it('keeps a valid X-Request-ID the client sent, in the answer the app shapes and in its log lines', async () => {
    const [a] = await exchange('GET /health HTTP/1.1\r\nHost: gw\r\nX-Request-ID: client-id-1\r\nConnection: close\r\n\r\n');
    expect(a?.status).toBe(200);
    expect(a!.headers['x-request-id']).toBe('client-id-1');
    expect(h.logs.some((l) => JSON.parse(l).correlationId === 'client-id-1')).toBe(true);
  });

  it('replaces an X-Request-ID it does not keep with a fresh one', async () => {
    const [a] = await exchange('GET /health HTTP/1.1\r\nHost: gw\r\nX-Request-ID: no spaces!\r\nConnection: close\r\n\r\n');
    expect(a!.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('createGatewayServer: a valid request followed by garbage on the same connection', () => {
  it('writes the accepted 202 first, then refuses the garbage, and the record is on the stream once', async () => {
    const before = (await h.records()).length;
    const got = await exchange(`${createRequest('{"data":{"n":1}}')}NOT HTTP AT ALL\r\n\r\n`);
    expect(got.map((a) => a.status)).toEqual([202, 400]);
    await expectDocumented(got[0], { method: 'POST', url: '/api/resources/b-l' });
    await expectDocumented(got[1]);
    const requestId = JSON.parse(got[0]!.body).data.requestId;
    expect(got[0]!.headers['x-request-id']).not.toBe(got[1]!.headers['x-request-id']);
    expectJsonError(got[1], 400, 'VALIDATION_ERROR');
    const records = await h.records();
    expect(records.slice(before).map((r) => r.json.requestId)).toEqual([requestId]);
  });
});

describe('createGatewayServer: client faults in the body are client errors', () => {
  const errorLines = () => h.logs.map((l) => JSON.parse(l)).filter((l) => l.level === 'error');

  it('answers a bad chunk size with 400 naming the request, counts it 4xx and logs no error', async () => {
    const errorsBefore = errorLines().length;
    const recordsBefore = (await h.records()).length;
    const got = await exchange(`${writeHead('/api/resources/b-l', 'Transfer-Encoding: chunked\r\n')}\r\n5\r\n{"dat\r\nZZ\r\nxx\r\n`);
    expectJsonError(got[0], 400, 'VALIDATION_ERROR');
    await vi.waitFor(() => expect(requestClasses()).toEqual({ '4xx': 1 })); // the app's count of its request
    // The app's access line of the request names the id the answer carried.
    const access = h.logs.map((l) => JSON.parse(l)).find((l) => l.message === 'request' && l.correlationId === got[0]!.headers['x-request-id']);
    expect(access).toMatchObject({ status: 400 });
    expect(errorLines().length).toBe(errorsBefore);
    expect((await h.records()).length).toBe(recordsBefore);
  });

  it('counts a chunked upload the client cut off as 4xx and logs no error', async () => {
    const errorsBefore = errorLines().length;
    const socket = await open();
    socket.write(`${writeHead('/api/resources/b-l', 'Transfer-Encoding: chunked\r\n')}\r\n5\r\n{"dat\r\n`);
    await vi.waitFor(() => expect(budget.heldBytes).toBe(MAX_BODY));
    socket.destroy();
    await vi.waitFor(() => expect(budget.heldBytes).toBe(0));
    await vi.waitFor(() => expect(requestClasses()).toEqual({ '4xx': 1 }));
    expect(errorLines().length).toBe(errorsBefore);
  });
});

describe('createGatewayServer: the body budget', () => {
  it('refuses a body that does not fit with 503 and Retry-After before reading it, and admits again once a body is answered', async () => {
    const holders = await fillBudget();

    const [refused] = await exchange(`${createRequest('{"data":{"n":2}}').replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}`);
    expectJsonError(refused, 503, 'GATEWAY_BUSY');
    expect(refused!.headers['retry-after']).toBe('1');
    await expectDocumented(refused);

    const first = collect(holders[0]!);
    holders[0]!.write(BIG);
    holders[0]!.end();
    await vi.waitFor(() => expect(budget.heldBytes).toBe(BIG_BYTES));
    // Answered by the app (413: larger than a store item), its reservation given back.
    expect((await first.closed)[0]?.status).toBe(413);

    const [admitted] = await exchange(createRequest('{"data":{"n":3}}').replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
    expect(admitted?.status).toBe(202);
    await emptyBudget(holders.slice(1));
  });

  it('counts a busy answer as GatewayBusy, not as a 5xx request', async () => {
    const holders = await fillBudget();
    const [refused] = await exchange(`${createRequest('{"data":{"n":4}}').replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}`);
    expect(refused?.status).toBe(503);
    expect(busyCount()).toBe(1);
    expect(requestClasses()).not.toHaveProperty('5xx');
    await emptyBudget(holders);
  });

  it('reserves nothing for a body without a bearer token: a full budget still answers it 401, before its body is sent', async () => {
    const holders = await fillBudget();
    const socket = await open();
    const got = collect(socket);
    socket.write(`POST /api/resources/b-l HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: ${BIG_BYTES}\r\n\r\n`);
    await vi.waitFor(() => expect(got.soFar()).toHaveLength(1));
    expectJsonError(got.soFar()[0], 401, 'UNAUTHORIZED');
    await expectDocumented(got.soFar()[0], { method: 'POST', url: '/api/resources/b-l' });
    expect(budget.heldBytes).toBe(2 * BIG_BYTES);
    socket.destroy();
    await emptyBudget(holders);
  });
});

describe('createGatewayServer: Expect: 100-continue', () => {
  const expecting = (body: string) =>
    writeHead('/api/resources/b-l', `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);

  it('refuses a body that does not fit with 503 instead of 100 Continue, and closes the connection', async () => {
    const holders = await fillBudget();
    const got = await exchange(expecting('{"data":{"n":5}}'));
    expect(got.map((a) => a.status)).toEqual([503]);
    expectJsonError(got[0], 503, 'GATEWAY_BUSY');
    await expectDocumented(got[0]);
    await emptyBudget(holders);
  });

  it('answers 100 Continue to a body that fits, then the app takes it', async () => {
    const body = '{"data":{"n":6}}';
    const socket = await open();
    const got = collect(socket);
    socket.write(expecting(body));
    await vi.waitFor(() => expect(got.soFar().map((a) => a.status)).toEqual([100]));
    socket.write(body);
    const all = await got.closed;
    expect(all.map((a) => a.status)).toEqual([100, 202]);
    await expectDocumented(all[1], { method: 'POST', url: '/api/resources/b-l' });
  });
});

describe('createGatewayServer: a body that pauses', () => {
  const IDLE_MS = 300;
  let idleServer: Server;
  let idlePort: number;
  let idleBudget: BodyBudget;
  // Its own metrics: no count of another test's connection reaches them.
  const idleLines: Record<string, unknown>[] = [];
  const idleMetrics = new Metrics({ namespace: 'Test', defaultDimensions: { service: 'gateway' }, sink: (l) => idleLines.push(JSON.parse(l)) });
  const idleClasses = () => {
    idleMetrics.flush();
    return idleLines.filter((l) => typeof l[GATEWAY_METRICS.requests] === 'number').map((l) => `${l.StatusClass}:${l[GATEWAY_METRICS.requests]}`);
  };
  beforeAll(async () => {
    idleBudget = new BodyBudget(2 * BIG_BYTES);
    idleServer = createGatewayServer({ fetch: h.app({ metrics: idleMetrics }).fetch, budget: idleBudget, maxBodyBytes: MAX_BODY, logger: h.logger, metrics: idleMetrics, bodyIdleTimeoutMs: IDLE_MS });
    idlePort = await listen(idleServer);
  });
  afterAll(() => close(idleServer));

  it('answers a body of which no byte arrives for the idle timeout 408 REQUEST_TIMEOUT, gives back its reservation and counts it 4xx', async () => {
    const socket = await open(idlePort);
    const got = collect(socket);
    socket.write(`${writeHead('/api/resources/b-l', `Content-Length: ${BIG_BYTES}\r\n\r\n`)}${BIG.slice(0, 1000)}`);
    await vi.waitFor(() => expect(idleBudget.heldBytes).toBe(BIG_BYTES));
    await vi.waitFor(() => expect(got.soFar()).toHaveLength(1), { timeout: 3000 });
    expect(idleBudget.heldBytes).toBe(0);
    expectJsonError(got.soFar()[0], 408, 'REQUEST_TIMEOUT');
    await expectDocumented(got.soFar()[0]);
    socket.destroy();
    await vi.waitFor(() => expect(idleClasses()).toEqual(['4xx:1']));
  });

  it('takes a body that arrives slowly but never pauses for the idle timeout', async () => {
    const body = '{"data":{"n":7}}';
    const socket = await open(idlePort);
    const got = collect(socket);
    socket.write(writeHead('/api/resources/b-l', `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`));
    for (const piece of body.match(/.{1,3}/g)!) {
      await new Promise((r) => setTimeout(r, IDLE_MS / 3));
      socket.write(piece);
    }
    expect((await got.closed).map((a) => a.status)).toEqual([202]);
  });
});
