/** Log levels in increasing severity. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

/** A JSON-lines logger; `child` adds fields (e.g. requestId) to every line it writes. */
export interface Logger {
  readonly level: LogLevel;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
  isEnabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go. @default process.stdout */
  sink?: (line: string) => void;
  bindings?: LogFields;
}

function serializeError(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  return { name: e.name, message: e.message, ...('code' in e ? { code: e.code } : {}) };
}

/** Creates a logger writing one JSON object per line: `{level, time, msg, ...bindings, ...fields}`. */
export function createLogger(o: LoggerOptions = {}): Logger {
  const level = o.level ?? 'info';
  const min = LOG_LEVELS.indexOf(level);
  const sink = o.sink ?? ((line: string) => process.stdout.write(`${line}\n`));
  const bindings = o.bindings ?? {};
  const write = (l: LogLevel, msg: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(l) < min) return;
    const line: LogFields = { level: l, time: new Date().toISOString(), msg, ...bindings };
    if (fields) for (const [k, v] of Object.entries(fields)) line[k] = k === 'err' ? serializeError(v) : v;
    sink(JSON.stringify(line));
  };
  return {
    level,
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (b) => createLogger({ level, sink, bindings: { ...bindings, ...b } }),
    isEnabled: (l) => LOG_LEVELS.indexOf(l) >= min,
  };
}
