import { describe, expect, it } from 'vitest';
import { initialSpoolState, nextSpoolState, routeOf, type SpoolEvent, type SpoolState } from './SpoolState';

const direct: SpoolState = { name: 'direct' };
const spoolAll: SpoolState = { name: 'spoolAll', roundSinceFailure: false };
const spoolAllRoundOut: SpoolState = { name: 'spoolAll', roundSinceFailure: true };
const heldKeys: SpoolState = { name: 'spoolHeldKeys' };
const run = (state: SpoolState, ...events: SpoolEvent['type'][]) => events.reduce((s, type) => nextSpoolState(s, { type } as SpoolEvent), state);

describe('SpoolState', () => {
  it('starts spooling everything when the spool holds records from a previous run, else direct', () => {
    expect(initialSpoolState(true)).toEqual(spoolAll);
    expect(initialSpoolState(false)).toEqual(direct);
  });

  it.each([
    [direct, 'directFailed', spoolAll],
    [heldKeys, 'directFailed', spoolAll],
    [spoolAllRoundOut, 'directFailed', spoolAll],
    [direct, 'appended', heldKeys],
    [spoolAll, 'appended', spoolAll],
    [heldKeys, 'appended', heldKeys],
    [spoolAll, 'roundStarted', spoolAllRoundOut],
    [heldKeys, 'roundStarted', heldKeys],
    [spoolAllRoundOut, 'roundConfirmedWhole', heldKeys],
    [spoolAll, 'roundConfirmedWhole', spoolAll],
    [heldKeys, 'roundConfirmedWhole', heldKeys],
    [heldKeys, 'roundFailed', spoolAll],
    [spoolAllRoundOut, 'roundFailed', spoolAll],
    [direct, 'roundFailed', direct],
    [spoolAll, 'drained', direct],
    [heldKeys, 'drained', direct],
  ] as const)('%o on %s becomes %o', (from, event, to) => {
    expect(nextSpoolState(from, { type: event })).toEqual(to);
  });

  it('a round sent before a direct failure does not end spooling everything; the next round may', () => {
    expect(run(spoolAll, 'roundStarted', 'directFailed', 'roundConfirmedWhole')).toEqual(spoolAll);
    expect(run(spoolAll, 'roundStarted', 'directFailed', 'roundConfirmedWhole', 'roundStarted', 'roundConfirmedWhole')).toEqual(heldKeys);
  });

  it('routes a record directly, to the spool while Kinesis is not taking records, and behind its key while the spool drains', () => {
    expect([routeOf(direct, true), routeOf(direct, false)]).toEqual(['direct', 'direct']);
    expect([routeOf(spoolAll, true), routeOf(spoolAll, false)]).toEqual(['spool', 'spool']);
    expect([routeOf(heldKeys, true), routeOf(heldKeys, false)]).toEqual(['afterKey', 'direct']);
  });
});
