// Durations on the command line: `600`, `90s`, `10m`, `1h`, `1m30s`, `500ms`.

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration into ms. A bare number is seconds; otherwise one or more `<number><unit>` parts with units
 * `ms`, `s`, `m`, `h`, added up (`1m30s` = 90,000).
 * @throws RangeError naming the value and the accepted forms when it is not one of them or not above zero.
 */
export function parseDuration(value: string): number {
  const text = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    ms = Number(text) * 1000;
  } else if (/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) {
    ms = 0;
    for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
      ms += Number(amount) * (UNIT_MS[unit as string] as number);
    }
  } else {
    ms = Number.NaN;
  }
  if (!(ms > 0)) {
    throw new RangeError(
      `Duration ${JSON.stringify(value)} is not valid; give seconds (600) or units: 500ms, 90s, 10m, 1h, 1m30s.`,
    );
  }
  return ms;
}

/**
 * `90000` as `1m30s`, `600000` as `10m`, `2500` as `2.5s`: the shortest form `parseDuration` reads back, to the
 * millisecond.
 */
export function formatDuration(duration: number): string {
  // Whole milliseconds: a window of 20 s / 12 reads 1.667s.
  const ms = Math.round(duration);
  if (ms < 1000) return `${ms}ms`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = (ms - minutes * 60_000) / 1000;
  if (minutes === 0) return `${seconds}s`;
  return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`;
}
