// Structured JSON logs, one object per line, after the Kubernetes logging conventions: a message that
// starts with a capital letter and says in the past tense what happened, plus balanced key-values
// (the object's kind and key, the controller, the error).

/** Severity, most to least severe. `debug` is the verbose level (klog's V(1) and above). */
export type LogLevel = 'error' | 'info' | 'debug';

export const logLevels: readonly LogLevel[] = ['error', 'info', 'debug'];

export function isLogLevel(value: string): value is LogLevel {
  return (logLevels as readonly string[]).includes(value);
}

/** Key-values attached to a line. `undefined` values are left out; Error values become their message chain. */
export type LogValues = Readonly<Record<string, unknown>>;

export interface Logger {
  error(msg: string, values?: LogValues): void;
  info(msg: string, values?: LogValues): void;
  debug(msg: string, values?: LogValues): void;
  /** Whether a line at `level` would be written (to skip building expensive values). */
  enabled(level: LogLevel): boolean;
  /**
   * A logger that adds `values` to every line; with `name`, its logger name is the parent's name
   * followed by `.name`.
   */
  child(values: LogValues, name?: string): Logger;
}

export interface LoggerOptions {
  /** Lines less severe than this are dropped. Default `info`. */
  level?: LogLevel;
  /** The `logger` field. Default `apprunner-net`. */
  name?: string;
  /** Values bound to every line. */
  values?: LogValues;
  /** Where each line goes, without its newline. Default: standard error, like every Kubernetes component. */
  write?: (line: string) => void;
  /** Clock for the `ts` field. */
  now?: () => number;
}

const severity: Record<LogLevel, number> = { error: 0, info: 1, debug: 2 };

/** Fields the logger owns; a key-value with one of these names is written with a trailing `_`. */
const reserved = new Set(['ts', 'level', 'msg', 'logger']);

/** Renders an error as `message: cause message: ...`, so a wrapped error keeps its whole story on one line. */
export function errorChain(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current !== undefined && current !== null && !seen.has(current) && parts.length < 10) {
    seen.add(current);
    if (current instanceof Error) {
      parts.push(current.message === '' ? current.name : current.message);
      current = current.cause;
    } else {
      parts.push(typeof current === 'string' ? current : safeJson(current));
      break;
    }
  }
  return parts.join(': ');
}

function safeJson(value: unknown): string {
  try {
    // JSON.stringify returns undefined for these, whatever its declared type says.
    if (typeof value === 'function' || typeof value === 'symbol' || value === undefined) return String(value);
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function normalise(value: unknown): unknown {
  if (value instanceof Error) return errorChain(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = severity[options.level ?? 'info'];
  const write =
    options.write ??
    ((line: string) => {
      process.stderr.write(line + '\n');
    });
  const now = options.now ?? Date.now;

  const make = (name: string, bound: LogValues): Logger => {
    const emit = (level: LogLevel, msg: string, values: LogValues | undefined): void => {
      if (severity[level] > threshold) return;
      const line: Record<string, unknown> = { ts: new Date(now()).toISOString(), level, msg, logger: name };
      for (const source of [bound, values ?? {}]) {
        for (const [key, value] of Object.entries(source)) {
          if (value === undefined) continue;
          line[reserved.has(key) ? `${key}_` : key] = normalise(value);
        }
      }
      let text: string;
      try {
        text = JSON.stringify(line);
      } catch (err) {
        // A value that cannot be serialised (a cycle) must not lose the line itself.
        text = JSON.stringify({
          ts: line.ts,
          level,
          msg,
          logger: name,
          logError: `Could not serialise log values: ${errorChain(err)}`,
        });
      }
      write(text);
    };
    return {
      error: (msg, values) => {
        emit('error', msg, values);
      },
      info: (msg, values) => {
        emit('info', msg, values);
      },
      debug: (msg, values) => {
        emit('debug', msg, values);
      },
      enabled: (level) => severity[level] <= threshold,
      child: (values, childName) =>
        make(childName === undefined ? name : `${name}.${childName}`, { ...bound, ...values }),
    };
  };
  return make(options.name ?? 'apprunner-net', options.values ?? {});
}

/** A logger that writes nothing, for tests and for callers that were given none. */
export const discardLogger: Logger = createLogger({ level: 'error', write: () => undefined });
