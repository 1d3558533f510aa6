// The report's scenario schema (a union on `kind`) and its builders: what an errored or skipped scenario says.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  erroredScenario,
  parseReport,
  scenarioKinds,
  scenarioSchema,
  skippedScenario,
} from '../../bench/report.ts';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/reports');
const readFixture = (name: string) =>
  parseReport(JSON.parse(readFileSync(resolve(FIXTURES, name), 'utf8')), name).scenarios;

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

describe('scenarioSchema', () => {
  const closed = {
    id: 'http-closed/c1',
    kind: 'http-closed',
    status: 'ok',
    params: { concurrency: 1 },
    durationMs: 5,
  };

  it('reads recorded reports with every kind of scenario in them', () => {
    const scenarios = [...readFixture('ci-quick.json'), ...readFixture('quick-http-capacity.json')];
    expect(new Set(scenarios.map((s) => s.kind))).toEqual(new Set(scenarioKinds));
  });

  it("refuses one kind's measurement on another kind (a coldStart on an http-closed scenario)", () => {
    const cold = readFixture('ci-quick.json').find((s) => s.kind === 'cold-start' && s.coldStart);
    expect(cold?.kind === 'cold-start' && cold.coldStart).toBeTruthy();
    const result = scenarioSchema.safeParse({ ...closed, coldStart: cold?.coldStart });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['coldStart']);
  });

  it('refuses a kind it does not know, naming the field', () => {
    const result = scenarioSchema.safeParse({ ...closed, kind: 'http-half-open' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['kind']);
  });

  it('narrows on kind: a recorded cold-start scenario has its coldStart section', () => {
    const cold = readFixture('ci-quick.json').find((s) => s.kind === 'cold-start' && s.status === 'ok');
    expect(cold?.kind === 'cold-start' ? cold.coldStart?.trials : undefined).toBeGreaterThan(0);
  });
});
