// The edge's JSON-lines log: one object per line, identical lines within a second counted instead of written.
import { describe, expect, it } from 'vitest';
import { createLog, type LogLevel } from '../../edge/log.ts';

function capture(repeatWindowMs = 1_000) {
  const lines: { level: LogLevel; record: Record<string, unknown> }[] = [];
  let clock = Date.parse('2026-12-01T00:00:00Z');
  const log = createLog({
    sink: (line, level) => lines.push({ level, record: JSON.parse(line) as Record<string, unknown> }),
    repeatWindowMs,
    now: () => clock,
  });
  return { log, lines, advance: (ms: number) => (clock += ms) };
}

describe('createLog', () => {
  it('writes one JSON object per line with time, level, message and the defined fields', () => {
    const { log, lines } = capture();
    log.warn('model slow', { ms: 12, absent: undefined, cause: new Error('boom') });
    expect(lines).toEqual([
      {
        level: 'warn',
        record: { time: '2026-12-01T00:00:00.000Z', level: 'warn', msg: 'model slow', ms: 12, cause: 'boom' },
      },
    ]);
  });

  it('holds back identical lines within the window and reports their count before the next one', () => {
    const { log, lines, advance } = capture();
    for (let i = 0; i < 500; i++) log.error('OVERLOADED', { code: 'OVERLOADED' });
    expect(lines).toHaveLength(1);
    advance(1_000);
    log.error('OVERLOADED', { code: 'OVERLOADED' });
    expect(lines.map((line) => line.record.repeated)).toEqual([undefined, 499, undefined]);
    expect(lines[1]!.record).toMatchObject({ msg: 'OVERLOADED', code: 'OVERLOADED', repeated: 499 });
  });

  it('writes lines that differ in a field as distinct lines', () => {
    const { log, lines } = capture();
    log.error('refused', { code: 'A' });
    log.error('refused', { code: 'B' });
    log.error('refused', { code: 'A' });
    expect(lines.map((line) => line.record.code)).toEqual(['A', 'B']);
  });

  it('reports held-back repeats on flush, once', () => {
    const { log, lines } = capture();
    log.info('same');
    log.info('same');
    log.info('same');
    log.flush();
    log.flush();
    expect(lines.map((line) => line.record.repeated)).toEqual([undefined, 2]);
  });

  it('never holds back a line written with dedupe off', () => {
    const { log, lines } = capture();
    for (let i = 0; i < 3; i++) log.write('info', 'request', { status: 200 }, { dedupe: false });
    expect(lines).toHaveLength(3);
  });

  it('keeps counting repeats while remembering at most 1,000 distinct lines', () => {
    const { log, lines } = capture();
    for (let i = 0; i < 5_000; i++) log.info(`line ${i}`);
    log.info('line 4999');
    log.flush();
    expect(lines.filter((line) => line.record.repeated === undefined)).toHaveLength(5_000);
    expect(lines.filter((line) => line.record.repeated === 1)).toHaveLength(1);
  });
});
