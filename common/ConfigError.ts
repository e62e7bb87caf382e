/**
 * Thrown at start-up when the environment is wrong, by every edge that reads it (the gateway, the consumer,
 * the local processes). The message names the variable, so the first log line says what to fix.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'INVALID_CONFIG';
}
