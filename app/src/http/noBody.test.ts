import { describe, expect, it } from 'vitest';
import { middlewareApp } from '../../test/middlewareApp';
import { noBody } from './noBody';

const app = middlewareApp(noBody());

describe('noBody', () => {
  it('passes a request without a body, or with Content-Length: 0', async () => {
    expect((await app.request('/', { method: 'DELETE' })).status).toBe(200);
    expect((await app.request('/', { method: 'DELETE', headers: { 'Content-Length': '0' } })).status).toBe(200);
  });

  it('refuses a body with 400, naming the method', async () => {
    const res = await app.request('/', { method: 'DELETE', headers: { 'Content-Length': '11' }, body: '{"data":{}}' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'VALIDATION_ERROR', details: [{ field: 'body', message: 'DELETE takes no body' }] });
  });

  it('refuses a chunked body', async () => {
    const res = await app.request('/', { method: 'DELETE', headers: { 'Transfer-Encoding': 'chunked' } });
    expect(res.status).toBe(400);
  });
});
