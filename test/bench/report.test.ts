// The report's scenario builders: what an errored or skipped scenario says, and that the schema accepts it.
import { describe, expect, it } from 'vitest';
import { erroredScenario, scenarioSchema, skippedScenario } from '../../bench/report.ts';

describe('erroredScenario', () => {
  it("takes an Error's message as the reason and is a valid scenario", () => {
    const s = erroredScenario(
      'in-process/news-bag/native/b8',
      'in-process',
      { batchSize: 8 },
      new Error('boom'),
    );
    expect(s).toEqual({
      id: 'in-process/news-bag/native/b8',
      kind: 'in-process',
      status: 'errored',
      reason: 'boom',
      params: { batchSize: 8 },
      durationMs: 0,
    });
    expect(scenarioSchema.safeParse(s).success).toBe(true);
  });

  it('takes a string error as the reason itself', () => {
    expect(erroredScenario('browser/news-bag/wasm/b1', 'browser', {}, 'page crashed').reason).toBe(
      'page crashed',
    );
  });

  it('counts the time since `started` as its duration', () => {
    const started = performance.now() - 1000;
    expect(erroredScenario('x', 'cold-start', {}, new Error('e'), started).durationMs).toBeGreaterThanOrEqual(
      1000,
    );
  });
});

describe('skippedScenario', () => {
  it('records the reason, no params by default, and no time', () => {
    expect(skippedScenario('http-overload/news-bag', 'http-overload', 'no server')).toEqual({
      id: 'http-overload/news-bag',
      kind: 'http-overload',
      status: 'skipped',
      reason: 'no server',
      params: {},
      durationMs: 0,
    });
  });
});
