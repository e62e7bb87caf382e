import { describe, expect, it } from 'vitest';
import { middlewareApp } from '../../test/middlewareApp';
import { strictUtf8Body } from './strictUtf8Body';

const app = middlewareApp(strictUtf8Body());

describe('strictUtf8Body', () => {
  it('hands the decoded text on as bodyText, multi-byte characters whole', async () => {
    const res = await app.request('/', { method: 'POST', body: new TextEncoder().encode('{"a":"é😀"}') });
    expect(await res.json()).toMatchObject({ bodyText: '{"a":"é😀"}' });
  });

  it.each([
    ['a lone continuation byte', [0x22, 0x80, 0x22]],
    ['an invalid byte', [0x22, 0xff, 0x22]],
    ['a truncated sequence', [0x22, 0xe2, 0x82]],
    ['an overlong encoding', [0xc0, 0xaf]],
  ])('refuses %s with 400 rather than turning it into U+FFFD', async (_name, bytes) => {
    const res = await app.request('/', { method: 'POST', body: new Uint8Array(bytes) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'VALIDATION_ERROR', details: [{ field: 'json', message: 'the body is not valid UTF-8' }] });
  });
});
