import { describe, expect, it } from 'vitest';
import { preferWait } from './preferWait';

describe('preferWait', () => {
  it.each([
    ['wait=5', 5],
    ['WAIT=5', 5],
    ['respond-async, wait=10', 10],
    ['wait=10, respond-async', 10],
    ['wait = 7', 7],
    ['wait="3"', 3],
    ['wait=0', 0],
    ['wait=600', 20],
    ['wait=5; foo=bar', 5],
  ])('reads %s as %i seconds (at most 20)', (header, seconds) => {
    expect(preferWait(header, 20)).toBe(seconds);
  });

  it.each([undefined, '', 'respond-async', 'wait', 'wait=', 'wait=-1', 'wait=1.5', 'wait=abc', 'waiting=5', 'return=minimal'])('ignores %s', (header) => {
    expect(preferWait(header, 20)).toBeUndefined();
  });
});
