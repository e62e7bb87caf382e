import { describe, expect, it } from 'vitest';
import { ConfigError } from './ConfigError';

describe('ConfigError', () => {
  it('is an Error named ConfigError with a stable code, carrying the message that names the variable', () => {
    const e = new ConfigError('invalid configuration: PORT must be an integer');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ConfigError');
    expect(e.code).toBe('INVALID_CONFIG');
    expect(e.message).toContain('PORT');
  });
});
