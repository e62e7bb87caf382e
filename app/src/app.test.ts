import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../test/harness';
import { StreamUnavailableError } from './errors';
import type { Publisher } from './publish/Publisher';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const request = async (app: ReturnType<Harness['app']>) =>
  app.request('/api/resources/b1-l1/appointment-1', {
    method: 'DELETE',
    headers: { 'X-Business-ID': 'b1', 'X-Location-ID': 'l1', 'X-Resource-Type': 'appointment', Authorization: `Bearer ${await h.token(['*:*:*:*'])}` },
  });

describe('createApp error mapping', () => {
  it('answers 503 STREAM_UNAVAILABLE with Retry-After when the stream cannot take the record', async () => {
    const failing: Publisher = { publish: async () => Promise.reject(new StreamUnavailableError('down', 3)), close: async () => {} };
    const res = await request(h.app({ publisher: failing }));
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('3');
    expect(await res.json()).toEqual({ success: false, error: { code: 'STREAM_UNAVAILABLE', message: 'down' } });
  });

  it('answers 500 INTERNAL_ERROR without details for an unexpected failure, and logs it', async () => {
    const broken: Publisher = { publish: async () => Promise.reject(new TypeError('secret internals')), close: async () => {} };
    const res = await request(h.app({ publisher: broken }));
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error).toEqual({ code: 'INTERNAL_ERROR', message: 'internal error' });
    expect(h.logs.some((l) => l.includes('secret internals'))).toBe(true);
  });

  it('still answers 202 when only the status write fails, with a warning', async () => {
    const statusStore = { recordAccepted: async () => Promise.reject(new Error('dynamo down')), get: async () => undefined };
    const res = await request(h.app({ statusStore }));
    expect(res.status).toBe(202);
    expect(h.logs.map((l) => JSON.parse(l)).some((l) => l.level === 'warn' && l.message.startsWith('status write failed'))).toBe(true);
  });

  it('answers every response with an X-Request-ID', async () => {
    const res = await h.app().request('/nowhere');
    expect(res.headers.get('X-Request-ID')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('asks clients to close their connection once the gateway is draining', async () => {
    let draining = false;
    const app = h.app({ draining: () => draining });
    expect((await app.request('/health')).headers.get('Connection')).toBeNull();
    draining = true;
    expect((await app.request('/health')).headers.get('Connection')).toBe('close');
  });

  it('keeps an X-Request-ID of the documented alphabet, and replaces one outside it', async () => {
    for (const id of ['abc', 'my-req_1', 'a'.repeat(128)]) {
      expect((await h.app().request('/health', { headers: { 'X-Request-ID': id } })).headers.get('X-Request-ID')).toBe(id);
    }
    for (const id of ['my-req.1', 'a:b', 'a=b']) {
      expect((await h.app().request('/health', { headers: { 'X-Request-ID': id } })).headers.get('X-Request-ID')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('replaces an X-Request-ID that could forge log fields', async () => {
    const res = await h.app().request('/health', { headers: { 'X-Request-ID': 'a'.repeat(200) } });
    expect(res.headers.get('X-Request-ID')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
