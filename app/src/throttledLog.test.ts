import { describe, expect, it } from 'vitest';
import { createLogger } from './logger';
import { ThrottledLog } from './throttledLog';

function setup(intervalMs = 10_000) {
  const lines: Record<string, unknown>[] = [];
  let t = 1_000_000;
  const log = new ThrottledLog(createLogger({ level: 'debug', sink: (l) => lines.push(JSON.parse(l)) }), 'error', { intervalMs, now: () => t });
  return { lines, log, advance: (ms: number) => (t += ms) };
}

describe('ThrottledLog', () => {
  it('writes the first line at once, at its level, with nothing suppressed', () => {
    const { lines, log } = setup();
    log.write('could not put record', { stream: 's' });
    expect(lines).toEqual([expect.objectContaining({ level: 'error', message: 'could not put record', stream: 's', suppressed: 0 })]);
  });

  it('holds back lines within the interval and counts them on the next line written', () => {
    const { lines, log, advance } = setup();
    log.write('failed');
    for (let i = 0; i < 5; i++) {
      advance(1_000);
      log.write('failed');
    }
    expect(lines).toHaveLength(1);
    advance(5_000); // 10 s after the first line
    log.write('failed');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ message: 'failed', suppressed: 5 });
  });

  it('starts counting afresh after each line written', () => {
    const { lines, log, advance } = setup(100);
    log.write('a');
    log.write('a');
    advance(100);
    log.write('a');
    advance(100);
    log.write('a');
    expect(lines.map((l) => l.suppressed)).toEqual([0, 1, 0]);
  });
});
