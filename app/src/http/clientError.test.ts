import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayError } from '../errors';
import { answerClientErrorsAsJson } from './clientError';

let server: Server;
let port: number;
const told: { status: number; correlationId: string }[] = [];
beforeAll(async () => {
  server = createServer((_req, res) => res.end('ok'));
  answerClientErrorsAsJson(server, { inFlight: () => undefined, onAnswer: (e: GatewayError, correlationId) => told.push({ status: e.status, correlationId }) });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function raw(request: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let out = '';
    socket.on('data', (d) => (out += d.toString()));
    socket.on('close', () => resolve(out));
    socket.on('error', () => resolve(out));
  });
}

describe('answerClientErrorsAsJson', () => {
  it('answers oversized headers with 431 and a JSON error', async () => {
    const res = await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(res).toMatch(/^HTTP\/1.1 431 /);
    expect(JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4))).toEqual({ success: false, error: { code: 'HEADERS_TOO_LARGE', message: expect.any(String) } });
    const id = /\r\nX-Request-ID: ([0-9a-f-]{36})\r\n/.exec(res)?.[1];
    expect(id).toBeDefined();
    expect(told.at(-1)).toEqual({ status: 431, correlationId: id });
  });

  it('answers a header with a control character with 400 and a JSON error', async () => {
    const res = await raw('GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n');
    expect(res).toMatch(/^HTTP\/1.1 400 /);
    expect(JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4)).error.code).toBe('VALIDATION_ERROR');
  });
});
