import { describe, expect, it } from 'vitest';
import { hasAnyPermission, isAllowed, parsePermissions } from './permissions';

const scope = { businessId: 'b1', locationId: 'l1', resourceType: 'appointment' };

describe('parsePermissions', () => {
  it('keeps well-formed entries and drops the rest', () => {
    expect(parsePermissions(['b1:l1:appointment:create', 'b1:*:*:*', 'b1:l1:appointment', 'b1:l1:x:explode', 'a::b:list', 42])).toEqual([
      ['b1', 'l1', 'appointment', 'create'],
      ['b1', '*', '*', '*'],
    ]);
  });

  it('treats a claim that is not an array as no permissions', () => {
    expect(parsePermissions('b1:l1:appointment:create')).toEqual([]);
    expect(parsePermissions(undefined)).toEqual([]);
  });
});

describe('isAllowed', () => {
  it.each([
    ['exact match', 'b1:l1:appointment:create', 'create', true],
    ['wildcard location', 'b1:*:appointment:create', 'create', true],
    ['wildcard everything', '*:*:*:*', 'delete', true],
    ['wildcard operation', 'b1:l1:appointment:*', 'patch', true],
    ['other operation', 'b1:l1:appointment:list', 'create', false],
    ['other business', 'b2:*:*:*', 'create', false],
    ['other resource type', 'b1:l1:invoice:*', 'create', false],
    ['prefix is not a match', 'b:l1:appointment:*', 'create', false],
  ] as const)('%s: %s allows %s -> %s', (_n, perm, op, expected) => {
    expect(isAllowed(parsePermissions([perm]), scope, op)).toBe(expected);
  });
});

describe('hasAnyPermission', () => {
  it('is true for any operation on the scope', () => {
    expect(hasAnyPermission(parsePermissions(['b1:l1:appointment:list']), scope)).toBe(true);
  });
  it('is false for another scope', () => {
    expect(hasAnyPermission(parsePermissions(['b1:l2:appointment:*']), scope)).toBe(false);
  });
});

describe('a scope with a missing part', () => {
  it('matches no permission, not even all wildcards (an outcome salvaged without its scope is visible to nobody)', () => {
    const partial = { businessId: 'b1', locationId: undefined, resourceType: 'appointment' } as unknown as typeof scope;
    expect(hasAnyPermission([['*', '*', '*', '*']], partial)).toBe(false);
    expect(isAllowed([['*', '*', '*', '*']], partial, 'list')).toBe(false);
  });
});
