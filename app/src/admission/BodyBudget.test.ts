import { describe, expect, it } from 'vitest';
import { BodyBudget, bodyBudgetBytesFor, DEFAULT_BODY_BUDGET_BYTES } from './BodyBudget';

describe('BodyBudget', () => {
  it('reserves while the bytes fit, up to the capacity exactly', () => {
    const b = new BodyBudget(100);
    expect(b.tryReserve(60)).toBe(true);
    expect(b.tryReserve(40)).toBe(true);
    expect(b.heldBytes).toBe(100);
  });

  it('refuses a reservation that does not fit and reserves nothing for it', () => {
    const b = new BodyBudget(100);
    b.tryReserve(60);
    expect(b.tryReserve(41)).toBe(false);
    expect(b.heldBytes).toBe(60);
  });

  it('takes a reservation again once enough was released', () => {
    const b = new BodyBudget(100);
    b.tryReserve(60);
    b.release(60);
    expect(b.tryReserve(100)).toBe(true);
  });

  it('derives 32 MiB for a 2 GiB task, in proportion to the memory', () => {
    expect(DEFAULT_BODY_BUDGET_BYTES).toBe(32 * 1024 * 1024);
    expect(bodyBudgetBytesFor(4096)).toBe(64 * 1024 * 1024);
  });
});
