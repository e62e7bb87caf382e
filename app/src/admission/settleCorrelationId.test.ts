import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { settleCorrelationId } from './settleCorrelationId';

function incoming(rawHeaders: string[]): IncomingMessage {
  const m = new IncomingMessage(new Socket());
  m.rawHeaders = rawHeaders;
  return m;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('settleCorrelationId', () => {
  it("keeps the client's id when it is one the gateway keeps, untouched", () => {
    const m = incoming(['Host', 'gw', 'x-request-id', 'abc_DEF-123']);
    expect(settleCorrelationId(m)).toBe('abc_DEF-123');
    expect(m.rawHeaders).toEqual(['Host', 'gw', 'x-request-id', 'abc_DEF-123']);
  });

  it('adds a fresh id to the raw and parsed headers when there is none', () => {
    const m = incoming(['Host', 'gw']);
    void m.headers; // parsed before, as Node does
    const id = settleCorrelationId(m);
    expect(id).toMatch(UUID);
    expect(m.rawHeaders).toEqual(['Host', 'gw', 'X-Request-ID', id]);
    expect(m.headers['x-request-id']).toBe(id);
  });

  it.each([
    ['one with characters it does not keep', ['X-Request-ID', 'has spaces']],
    ['one too long', ['X-Request-ID', 'a'.repeat(129)]],
    ['two of them', ['X-Request-ID', 'one', 'x-request-id', 'two']],
  ])('replaces %s with a single fresh id', (_name, sent) => {
    const m = incoming(['Host', 'gw', ...sent]);
    const id = settleCorrelationId(m);
    expect(id).toMatch(UUID);
    expect(m.rawHeaders).toEqual(['Host', 'gw', 'X-Request-ID', id]);
    expect(m.headers['x-request-id']).toBe(id);
  });
});
