// Durations on the command line.
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../bench/duration.ts';

describe('parseDuration', () => {
  it('reads a bare number as seconds', () => {
    expect(parseDuration('600')).toBe(600_000);
  });

  it('reads ms, s, m and h, and adds up combined parts', () => {
    expect(['500ms', '30s', '10m', '1h', '1m30s', '2.5s'].map(parseDuration)).toEqual([
      500, 30_000, 600_000, 3_600_000, 90_000, 2_500,
    ]);
  });

  it('throws a RangeError naming the value and the accepted forms for an unknown unit', () => {
    expect(() => parseDuration('10x')).toThrow(/"10x" is not valid; give seconds \(600\) or units/);
  });

  it('refuses zero, negative and empty durations', () => {
    for (const value of ['0', '0s', '-5', '']) expect(() => parseDuration(value)).toThrow(RangeError);
  });
});

describe('formatDuration', () => {
  it('writes the shortest form that parseDuration reads back', () => {
    const forms = [500, 2_500, 60_000, 90_000, 600_000].map(formatDuration);
    expect(forms).toEqual(['500ms', '2.5s', '1m', '1m30s', '10m']);
    expect(forms.map(parseDuration)).toEqual([500, 2_500, 60_000, 90_000, 600_000]);
  });

  it('rounds to the millisecond', () => {
    expect(formatDuration(20_000 / 12)).toBe('1.667s');
  });
});
