import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors';
import { allowedMethods } from './allowedMethods';

const app = new Hono();
app.use(allowedMethods(app));
app.get('/items/:id', (c) => c.text('got'));
app.put('/items/:id', (c) => c.text('put'));
app.post('/items', (c) => c.text('posted'));
app.notFound((c) => c.text('none', 404));
app.onError((err, c) => {
  if (!(err instanceof GatewayError)) throw err;
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  return c.json({ code: err.code }, err.status);
});

describe('allowedMethods', () => {
  it('passes the methods a path serves', async () => {
    expect(await (await app.request('/items/1')).text()).toBe('got');
    expect(await (await app.request('/items/1', { method: 'PUT' })).text()).toBe('put');
  });

  it.each([
    ['DELETE', '/items/1', 'GET, PUT'],
    ['HEAD', '/items/1', 'GET, PUT'],
    ['GET', '/items', 'POST'],
    ['PATCH', '/items', 'POST'],
  ])('answers %s %s with 405 and Allow: %s', async (method, path, allow) => {
    const res = await app.request(path, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get('Allow')).toBe(allow);
    if (method !== 'HEAD') expect(await res.json()).toEqual({ code: 'METHOD_NOT_ALLOWED' });
  });

  it.each(['/items/1/more', '/other', '/items/1/'])('leaves a path no route serves to the router (%s)', async (path) => {
    expect((await app.request(path, { method: 'DELETE' })).status).toBe(404);
  });
});
