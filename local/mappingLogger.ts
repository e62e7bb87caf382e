/** Where the event source mapping writes what it does; a Powertools Logger or `console` fits. */
export interface MappingLogger {
  debug(message: string, ...extra: unknown[]): void;
  info(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
  error(message: string, ...extra: unknown[]): void;
}
