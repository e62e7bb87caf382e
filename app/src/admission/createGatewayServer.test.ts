import type { Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { GATEWAY_METRICS } from '../../../common/metricNames';
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

beforeAll(async () => {
  h = await startHarness();
  token = await h.token(['b:l:appointment:*']);
  metricLines = [];
  metrics = new Metrics({ namespace: 'Test', defaultDimensions: { service: 'gateway' }, sink: (l) => metricLines.push(JSON.parse(l)) });
  budget = new BodyBudget(2 * BIG_BYTES);
  server = createGatewayServer({ fetch: h.app({ metrics }).fetch, budget, maxBodyBytes: MAX_BODY, logger: h.logger, metrics });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
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

/** Splits the bytes a connection received into its HTTP answers (Content-Length framed, as ours all are). */
function answers(raw: string): Answer[] {
  const out: Answer[] = [];
  let rest = raw;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length'] ?? 0);
    out.push({ status: Number(statusLine!.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

/** Opens a connection, writes `bytes`, and resolves with everything received until the server closes it. */
function exchange(bytes: string | Buffer, o: { endAfterWrite?: boolean } = {}): Promise<Answer[]> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => (o.endAfterWrite ? socket.end(bytes) : socket.write(bytes)));
    let out = '';
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('close', () => resolve(answers(out)));
    socket.on('error', () => {});
  });
}

function open(): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', () => {});
  });
}

function received(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('close', () => resolve(out));
  });
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
  ])('answers %s with its JSON error and an X-Request-ID, counted 4xx', async (_name, bytes, status, code) => {
    const [a] = await exchange(bytes, { endAfterWrite: true });
    expectJsonError(a, status, code);
    expect(requestClasses()).toEqual({ '4xx': 1 });
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
    // Two connections each announce a 1 MiB body and send none of it: the budget (2 MiB) is full.
    const holders = await Promise.all([open(), open()]);
    for (const s of holders) s.write(writeHead('/api/resources/b-l', `Content-Length: ${BIG_BYTES}\r\n\r\n`));
    await vi.waitFor(() => expect(budget.heldBytes).toBe(2 * BIG_BYTES));

    const [refused] = await exchange(`${createRequest('{"data":{"n":2}}').replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}`);
    expectJsonError(refused, 503, 'GATEWAY_BUSY');
    expect(refused!.headers['retry-after']).toBe('1');

    const done = holders.map(received);
    holders[0]!.write(BIG);
    holders[0]!.end();
    await vi.waitFor(() => expect(budget.heldBytes).toBe(BIG_BYTES));
    // Answered by the app (413: larger than a store item), its reservation given back.
    expect(answers(await done[0]!)[0]?.status).toBe(413);

    const [admitted] = await exchange(createRequest('{"data":{"n":3}}').replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
    expect(admitted?.status).toBe(202);
    for (const s of holders.slice(1)) s.destroy();
    await vi.waitFor(() => expect(budget.heldBytes).toBe(0));
  });
});
