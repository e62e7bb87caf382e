import { describe, expect, it } from 'vitest';
import { middlewareApp } from '../../test/middlewareApp';
import { jsonMediaType } from './jsonMediaType';

const app = middlewareApp(jsonMediaType());
const send = (headers: Record<string, string>) => app.request('/', { method: 'POST', headers, body: '{}' });

describe('jsonMediaType', () => {
  it.each(['application/json', 'application/vnd.api+json', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"', 'APPLICATION/JSON; Charset=Utf-8'])(
    'takes %s',
    async (type) => {
      expect((await send({ 'Content-Type': type })).status).toBe(200);
    },
  );

  it.each(['identity', 'Identity'])('takes Content-Encoding: %s', async (encoding) => {
    expect((await send({ 'Content-Type': 'application/json', 'Content-Encoding': encoding })).status).toBe(200);
  });

  it.each([
    ['text/plain', 'the body must be application/json'],
    ['application/json-seq', 'the body must be application/json'],
    ['application/json; charset=utf-16', 'the body must be UTF-8 (charset=utf-8)'],
    ['application/json; charset=iso-8859-1', 'the body must be UTF-8 (charset=utf-8)'],
    ['application/json; charset=', 'the body must be UTF-8 (charset=utf-8)'],
  ])('refuses Content-Type %s with 415', async (type, message) => {
    const res = await send({ 'Content-Type': type });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', message });
  });

  it('refuses a missing Content-Type with 415', async () => {
    const res = await app.request('/', { method: 'POST', body: new Uint8Array([123, 125]) });
    expect(res.status).toBe(415);
  });

  it.each(['gzip', 'br', 'deflate', 'gzip, identity'])('refuses Content-Encoding: %s with 415 (the gateway does not decompress)', async (encoding) => {
    const res = await send({ 'Content-Type': 'application/json', 'Content-Encoding': encoding });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', message: 'the body must not be encoded (Content-Encoding: identity)' });
  });
});
