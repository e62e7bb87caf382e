import { describe, expect, it } from 'vitest';
import { MAX_DATA_BYTES } from '../../../contract/storeLimits';
import { middlewareApp } from '../../test/middlewareApp';
import { jsonBody } from './jsonBody';
import { storableData } from './storableData';
import { strictUtf8Body } from './strictUtf8Body';

const app = middlewareApp(strictUtf8Body(), jsonBody(), storableData());
const send = (body: string) => app.request('/', { method: 'POST', body });

describe('storableData', () => {
  it('passes data of exactly the largest size the store takes', async () => {
    // {"s": "..."}: the map's 3 bytes, the name's 1, the element's 1, then the string.
    const s = 'x'.repeat(MAX_DATA_BYTES - 5);
    expect((await send(JSON.stringify({ data: { s } }))).status).toBe(200);
  });

  it('refuses data one byte over with 413 naming the limit', async () => {
    const res = await send(JSON.stringify({ data: { s: 'x'.repeat(MAX_DATA_BYTES - 4) } }));
    expect(res.status).toBe(413);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.message).toContain(`at most ${MAX_DATA_BYTES}`);
    expect(body.message).toContain('400 KB');
  });

  it.each([
    ['5e-324', 'json.data.n', 'at least 1E-130'],
    ['1e-131', 'json.data.n', 'at least 1E-130'],
    ['12345678901234567890', 'json.data.n', 'within ±9007199254740991'],
  ])('refuses the number %s with 400 naming %s and the limit', async (n, field, limit) => {
    const res = await send(`{"data":{"n":${n}}}`);
    expect(res.status).toBe(400);
    const [detail] = ((await res.json()) as { details: { field: string; message: string }[] }).details;
    expect(detail!.field).toBe(field);
    expect(detail!.message).toContain(limit);
  });

  it.each(['0', '-0', '1e-130', '9007199254740991', '-1.5', '0.1'])('takes the number %s', async (n) => {
    expect((await send(`{"data":{"n":${n}}}`)).status).toBe(200);
  });

  it('refuses a prototype key with 400 naming its path', async () => {
    const res = await send('{"data":{"a":{"__proto__":{"x":1}}}}');
    expect(((await res.json()) as { details: { field: string }[] }).details[0]!.field).toBe('json.data.a.__proto__');
  });
});
