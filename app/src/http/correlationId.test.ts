import { describe, expect, it } from 'vitest';
import { middlewareApp } from '../../test/middlewareApp';
import { correlationId } from './correlationId';

const app = middlewareApp(correlationId(() => 'fresh-id'));
const send = (id?: string) => app.request('/', { headers: id === undefined ? {} : { 'X-Request-ID': id } });

describe('correlationId', () => {
  it.each(['abc', 'my-req_1', 'a'.repeat(128)])('keeps %s, sets correlationId and returns it', async (id) => {
    const res = await send(id);
    expect(res.headers.get('X-Request-ID')).toBe(id);
    expect(await res.json()).toMatchObject({ correlationId: id });
  });

  it.each(['my-req.1', 'a:b', 'a=b', 'a'.repeat(129), '', 'a b'])('replaces %s with a fresh id', async (id) => {
    const res = await send(id);
    expect(res.headers.get('X-Request-ID')).toBe('fresh-id');
    expect(await res.json()).toMatchObject({ correlationId: 'fresh-id' });
  });

  it('generates one when none is sent', async () => {
    expect((await send()).headers.get('X-Request-ID')).toBe('fresh-id');
  });
});
