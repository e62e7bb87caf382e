import { describe, expect, it } from 'vitest';
import { middlewareApp } from '../../test/middlewareApp';
import { jsonBody } from './jsonBody';
import { strictUtf8Body } from './strictUtf8Body';

const app = middlewareApp(strictUtf8Body(), jsonBody());
const send = (body: string) => app.request('/', { method: 'POST', body });

describe('jsonBody', () => {
  it('hands a write body on as body', async () => {
    expect(await (await send('{"data":{"a":1}}')).json()).toMatchObject({ body: { data: { a: 1 } } });
  });

  it('refuses text that is not JSON with 400 naming json', async () => {
    const res = await send('{"data":');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ details: [{ field: 'json', message: 'the body is not valid JSON' }] });
  });

  it.each([
    ['no data', '{"other":1}', 'json.data'],
    ['data an array', '{"data":[1]}', 'json.data'],
    ['data null', '{"data":null}', 'json.data'],
  ])('refuses %s with 400 naming %s', async (_name, body, field) => {
    const res = await send(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { details: { field: string }[] }).details.map((d) => d.field)).toEqual([field]);
  });
});
