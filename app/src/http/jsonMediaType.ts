import { createMiddleware } from 'hono/factory';
import { UnsupportedMediaTypeError } from '../errors';

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;
const CHARSET = /^charset=\s*"?([^";\s]*)"?$/i;

/**
 * Refuses with 415 a body that is not JSON as the gateway reads it: a media type other than `application/json`
 * (or `+json`), a charset other than UTF-8, or a `Content-Encoding` other than identity (the gateway does not
 * decompress: a body it cannot read as sent is refused, not guessed at).
 */
export function jsonMediaType() {
  return createMiddleware(async (c, next) => {
    const [type = '', ...params] = (c.req.header('Content-Type') ?? '').split(';').map((p) => p.trim());
    if (!JSON_TYPE.test(type)) throw new UnsupportedMediaTypeError('the body must be application/json');
    for (const p of params) {
      const charset = CHARSET.exec(p)?.[1];
      if (charset !== undefined && charset.toLowerCase() !== 'utf-8') throw new UnsupportedMediaTypeError('the body must be UTF-8 (charset=utf-8)');
    }
    const encoding = (c.req.header('Content-Encoding') ?? '').trim().toLowerCase();
    if (encoding !== '' && encoding !== 'identity') throw new UnsupportedMediaTypeError('the body must not be encoded (Content-Encoding: identity)');
    await next();
  });
}
