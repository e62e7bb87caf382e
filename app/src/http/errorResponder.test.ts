import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../errors';
import { createLogger } from '../logger';
import type { GatewayEnv } from '../routes/types';
import { errorResponder } from './errorResponder';

function appThrowing(err: unknown) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ sink: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const app = new Hono<GatewayEnv>();
  app.get('/', () => {
    throw err;
  });
  app.onError((e, c) => errorResponder(logger)(c, e));
  return { app, lines };
}

describe('errorResponder', () => {
  it('answers a gateway error with its status, headers, code and message, and logs no 4xx', async () => {
    const { app, lines } = appThrowing(new UnauthorizedError('the token expired'));
    const res = await app.request('/');
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer');
    expect(await res.json()).toEqual({ success: false, error: { code: 'UNAUTHORIZED', message: 'the token expired' } });
    expect(lines).toEqual([]);
  });

  it.each([
    ["Hono's body limit (413)", new HTTPException(413), 413, { code: 'PAYLOAD_TOO_LARGE', message: 'the body is too large' }],
    ["Hono's malformed JSON (400)", new HTTPException(400, { message: 'Malformed JSON in request body' }), 400, { code: 'VALIDATION_ERROR', message: 'Malformed JSON in request body' }],
    ['a body cut off by the client', Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), 400, { code: 'VALIDATION_ERROR', message: 'the request was cut off or malformed' }],
  ])('answers %s as a client mistake', async (_, err, status, error) => {
    const res = await appThrowing(err).app.request('/');
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ success: false, error });
  });

  it('answers anything else 500 INTERNAL_ERROR without its message, and logs it with its cause', async () => {
    const { app, lines } = appThrowing(new Error('secret detail'));
    const res = await app.request('/');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ success: false, error: { code: 'INTERNAL_ERROR', message: 'internal error' } });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', message: 'internal error', code: 'INTERNAL_ERROR', err: { name: 'Error', message: 'secret detail' } });
  });
});
