import { parseArgs } from 'node:util';
import { DEV_JWT_SECRET, signToken } from './signToken';

/**
 * `npm run token -- --sub alice --permission 'business-123:*:appointment:*' [--permission ...] [--ttl 1h]`
 * prints a token signed with JWT_SECRET (or the local stack's development secret).
 */
const { values } = parseArgs({
  options: {
    sub: { type: 'string', default: 'developer' },
    permission: { type: 'string', multiple: true, default: ['*:*:*:*'] },
    ttl: { type: 'string', default: '1h' },
  },
});
const secret = process.env.JWT_SECRET || DEV_JWT_SECRET;
if (!process.env.JWT_SECRET) process.stderr.write('JWT_SECRET is unset: signing with the local development secret\n');
process.stdout.write(
  `${await signToken(secret, {
    sub: values.sub,
    permissions: values.permission,
    ttl: values.ttl,
    issuer: process.env.JWT_ISSUER || undefined,
    audience: process.env.JWT_AUDIENCE || undefined,
  })}\n`,
);
