import { describe, expect, it } from 'vitest';
import { middlewareApp } from '../../test/middlewareApp';
import { MAX_URL_LENGTH, urlLimit } from './urlLimit';

describe('urlLimit', () => {
  const base = 'http://localhost/';
  const url = (length: number) => base + 'a'.repeat(length - base.length);

  it('passes a URL of MAX_URL_LENGTH characters', async () => {
    expect((await middlewareApp(urlLimit()).request(url(MAX_URL_LENGTH))).status).toBe(200);
  });

  it('refuses a longer one with 414 URI_TOO_LONG, naming the limit', async () => {
    const res = await middlewareApp(urlLimit()).request(url(MAX_URL_LENGTH + 1));
    expect(res.status).toBe(414);
    expect(await res.json()).toMatchObject({ code: 'URI_TOO_LONG', message: `the URL exceeds ${MAX_URL_LENGTH} characters` });
  });
});
