// The edge's log: one JSON object per line through a sink (console by default), repeated identical lines counted.
//
// Why the counting: under overload every refused request would otherwise write the same line (one operator saw a
// line per 503); a line identical to one written less than `repeatWindowMs` ago is held back and counted, and the
// count is written as the same line with `"repeated": N` before that line is next written, or at `flush()`.
// Portable: no timers, so it also runs in workerd.

export type LogLevel = 'info' | 'warn' | 'error';

/** Where finished lines go. */
export type LogSink = (line: string, level: LogLevel) => void;

export type LogFields = Readonly<Record<string, unknown>>;

export interface LogOptions {
  /** Default: `console.log` for info, `console.warn` for warn, `console.error` for error. */
  readonly sink?: LogSink;
  /** Identical lines within this many ms of the last one written are counted, not written. Default 1,000. */
  readonly repeatWindowMs?: number;
  /** Clock in ms. Default `Date.now`. */
  readonly now?: () => number;
}

export interface WriteOptions {
  /** Hold back a line identical to one written within the window. Default true; the access log passes false. */
  readonly dedupe?: boolean;
}

export interface Log {
  /**
   * Writes `{"time","level","msg",...fields}` as one line. Fields that are undefined are left out; an Error field
   * becomes its message (never its stack, unless passed as a field of its own).
   */
  write(level: LogLevel, msg: string, fields?: LogFields, options?: WriteOptions): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Writes the count of every held-back repeat not yet reported (`"repeated": N`); call before exit. */
  flush(): void;
}

/** Distinct lines remembered for counting repeats; past it, lines older than the window are forgotten. */
const MAX_REMEMBERED = 1_000;

const consoleSink: LogSink = (line, level) => {
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
};

interface Seen {
  level: LogLevel;
  msg: string;
  fields: LogFields;
  writtenAt: number;
  suppressed: number;
}

function plain(fields: LogFields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out[key] = value instanceof Error ? value.message : value;
  }
  return out;
}

/** Creates a log; every instance counts its own repeats. */
export function createLog(options: LogOptions = {}): Log {
  const sink = options.sink ?? consoleSink;
  const windowMs = options.repeatWindowMs ?? 1_000;
  const now = options.now ?? Date.now;
  const seen = new Map<string, Seen>();

  const emit = (level: LogLevel, msg: string, fields: LogFields, repeated = 0) => {
    const record = { time: new Date(now()).toISOString(), level, msg, ...fields };
    sink(JSON.stringify(repeated > 0 ? { ...record, repeated } : record), level);
  };
  const reportRepeats = (entry: Seen) => {
    if (entry.suppressed > 0) emit(entry.level, entry.msg, entry.fields, entry.suppressed);
    entry.suppressed = 0;
  };

  const forgetOld = (time: number) => {
    for (const [key, entry] of seen) {
      if (time - entry.writtenAt < windowMs) continue;
      reportRepeats(entry);
      seen.delete(key);
    }
    // Still full (a burst of distinct lines): report and forget the oldest half.
    if (seen.size >= MAX_REMEMBERED) {
      let drop = seen.size / 2;
      for (const [key, entry] of seen) {
        if (drop-- <= 0) break;
        reportRepeats(entry);
        seen.delete(key);
      }
    }
  };

  const log: Log = {
    write(level, msg, fields = {}, { dedupe = true } = {}) {
      const clean = plain(fields);
      if (!dedupe) {
        emit(level, msg, clean);
        return;
      }
      const time = now();
      const key = JSON.stringify([level, msg, clean]);
      const entry = seen.get(key);
      if (entry !== undefined && time - entry.writtenAt < windowMs) {
        entry.suppressed += 1;
        return;
      }
      if (entry === undefined && seen.size >= MAX_REMEMBERED) forgetOld(time);
      if (entry !== undefined) reportRepeats(entry);
      emit(level, msg, clean);
      seen.set(key, { level, msg, fields: clean, writtenAt: time, suppressed: 0 });
    },
    info: (msg, fields) => log.write('info', msg, fields),
    warn: (msg, fields) => log.write('warn', msg, fields),
    error: (msg, fields) => log.write('error', msg, fields),
    flush() {
      for (const entry of seen.values()) reportRepeats(entry);
    },
  };
  return log;
}
