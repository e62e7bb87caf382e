import { describe, expect, it } from 'vitest';
import { middlewareApp } from '../../test/middlewareApp';
import { bodyLimit } from './bodyLimit';

const app = middlewareApp(bodyLimit(10));

describe('bodyLimit', () => {
  it('passes a body of exactly the limit', async () => {
    expect((await app.request('/', { method: 'POST', body: 'x'.repeat(10) })).status).toBe(200);
  });

  it('refuses a Content-Length over the limit with 413 PAYLOAD_TOO_LARGE naming it', async () => {
    const res = await app.request('/', { method: 'POST', headers: { 'Content-Length': '11' }, body: 'x'.repeat(11) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: 'the body exceeds 10 bytes' });
  });

  it('refuses a Content-Length that is not a number', async () => {
    const res = await app.request('/', { method: 'POST', headers: { 'Content-Length': '1e3' }, body: 'x' });
    expect(res.status).toBe(413);
  });

  it('counts a chunked body as it streams', async () => {
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('x'.repeat(8)));
        c.enqueue(new TextEncoder().encode('x'.repeat(8)));
        c.close();
      },
    });
    const res = await app.request('/', { method: 'POST', headers: { 'Transfer-Encoding': 'chunked' }, body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
  });
});
