// The memory plan: weights plus a linear activation fit, checked on the held-out largest batch.
import { describe, expect, it } from 'vitest';
import {
  buildMemoryPlan,
  largestBatchWithin,
  memoryPlanNote,
  plannedBytes,
} from '../../bench/memory-plan.ts';
import { renderReportMarkdown } from '../../bench/report-markdown.ts';
import { makeReport } from './fixtures.ts';

const MIB = 1024 * 1024;

describe('buildMemoryPlan', () => {
  // Exactly linear: 40 MiB overhead + 5 MiB weights + 0.5 MiB per item.
  const exact = [1, 8, 64].map((b) => ({ batchSize: b, measuredBytes: 45 * MIB + 0.5 * MIB * b }));
  const plan = (points = exact) =>
    buildMemoryPlan({ bundle: 'm', backend: 'native', metric: 'rss', weightsBytes: 5 * MIB, points });

  it('fits on the two batch sizes below the largest and predicts the largest', () => {
    const p = plan();
    expect(p.calibrationBatchSizes).toEqual([1, 8]);
    expect(p.overheadBytes / MIB).toBeCloseTo(40, 9);
    expect(p.bytesPerItem / MIB).toBeCloseTo(0.5, 9);
    expect(p.points.map((x) => x.role)).toEqual(['calibration', 'calibration', 'check']);
    expect(p.points[2]?.errorPct).toBeCloseTo(0, 9);
    expect(p.verdict).toBe('pass');
  });

  it('shows smaller batch sizes as reference points, neither fitted nor judged', () => {
    // b=1 and b=2 sit on the allocator's first block: they would drag the slope down.
    const stepped = [
      { batchSize: 1, measuredBytes: 60 * MIB },
      { batchSize: 2, measuredBytes: 60 * MIB },
      { batchSize: 16, measuredBytes: 53 * MIB },
      { batchSize: 32, measuredBytes: 61 * MIB },
      { batchSize: 64, measuredBytes: 77 * MIB },
    ];
    const p = plan(stepped);
    expect(p.points.map((x) => x.role)).toEqual([
      'reference',
      'reference',
      'calibration',
      'calibration',
      'check',
    ]);
    expect(p.bytesPerItem / MIB).toBeCloseTo(0.5, 9);
    expect(p.points[4]?.plannedBytes).toBeCloseTo(77 * MIB, 0);
  });

  it('gives the largest batch within the 128 MiB default budget: floor((128 - 45) / 0.5) = 166', () => {
    const p = plan();
    expect(p.budgetBytes).toBe(128 * MIB);
    expect(p.maxBatchSizeWithinBudget).toBe(166);
    expect(plannedBytes(p, 166)).toBeLessThanOrEqual(128 * MIB);
    expect(plannedBytes(p, 167)).toBeGreaterThan(128 * MIB);
  });

  it('fails when the held-out batch is off by more than the tolerance', () => {
    const p = plan([
      { batchSize: 1, measuredBytes: 45.5 * MIB },
      { batchSize: 8, measuredBytes: 49 * MIB },
      { batchSize: 64, measuredBytes: 120 * MIB },
    ]);
    expect(p.verdict).toBe('fail');
    expect(p.detail).toContain('at b=64 planned 77.0 MiB vs measured 120.0 MiB (-35.8%');
  });

  it('fits the slope on the scaling part (the WASM heap) and adds the rest as a constant', () => {
    // Isolate = noisy JS heap (10, 14, 11 MiB) + WASM heap 16 + 0.25 MiB per item.
    const js = [10, 14, 11];
    const points = [1, 16, 64].map((b, i) => {
      const heap = (16 + 0.25 * b) * MIB;
      return { batchSize: b, measuredBytes: heap + (js[i] as number) * MIB, scalingBytes: heap };
    });
    const p = buildMemoryPlan({
      bundle: 'm',
      backend: 'wasm',
      metric: 'isolate',
      weightsBytes: 2 * MIB,
      points,
    });
    expect(p.bytesPerItem / MIB).toBeCloseTo(0.25, 9);
    // Overhead: the heap's intercept 16 - 2 (weights) plus the mean JS part (10 + 14) / 2 = 12.
    expect(p.overheadBytes / MIB).toBeCloseTo(26, 9);
    expect(p.detail).toContain('fitted at b=1, 16 on the WASM heap');
  });

  it('clamps a negative slope (noise larger than the activations) to zero', () => {
    const p = buildMemoryPlan({
      bundle: 'm',
      backend: 'wasm',
      metric: 'isolate',
      weightsBytes: MIB,
      maxBatchSizeCap: 1024,
      points: [
        { batchSize: 1, measuredBytes: 70 * MIB },
        { batchSize: 8, measuredBytes: 68 * MIB },
        { batchSize: 64, measuredBytes: 69 * MIB },
      ],
    });
    expect(p.bytesPerItem).toBe(0);
    expect(p.overheadBytes / MIB).toBeCloseTo(68, 9);
    expect(p.maxBatchSizeWithinBudget).toBe(1024);
    expect(p.verdict).toBe('pass');
  });

  it('reports insufficient data with two batch sizes, and no fit with one', () => {
    const two = plan(exact.slice(0, 2));
    expect(two.verdict).toBe('insufficient-data');
    expect(two.calibrationBatchSizes).toEqual([1, 8]);
    const one = plan(exact.slice(0, 1));
    expect(one.verdict).toBe('insufficient-data');
    expect(one.detail).toBe('needs memory measured at two or more batch sizes, got 1');
  });
});

describe('largestBatchWithin', () => {
  it('is null when even one item does not fit', () => {
    expect(
      largestBatchWithin({ overheadBytes: 200 * MIB, weightsBytes: 0, bytesPerItem: 1 }, 128 * MIB, 4096),
    ).toBeNull();
  });
});

describe('what the memory plan says', () => {
  // Flat: memory does not grow with the batch (the slope is clamped to zero), so only the cap bounds the batch.
  const flat = () =>
    buildMemoryPlan({
      bundle: 'news-bag',
      backend: 'wasm',
      metric: 'isolate',
      weightsBytes: MIB,
      points: [
        { batchSize: 1, measuredBytes: 70 * MIB },
        { batchSize: 16, measuredBytes: 68 * MIB },
        { batchSize: 64, measuredBytes: 72 * MIB },
      ],
    });
  const under = () =>
    buildMemoryPlan({
      bundle: 'm',
      backend: 'native',
      metric: 'rss',
      weightsBytes: 5 * MIB,
      points: [
        { batchSize: 1, measuredBytes: 45.5 * MIB },
        { batchSize: 8, measuredBytes: 49 * MIB },
        { batchSize: 64, measuredBytes: 120 * MIB },
      ],
    });

  it('spells out the sign of its percentage: negative means the plan is below the measurement', () => {
    expect(under().detail).toContain(
      'at b=64 planned 77.0 MiB vs measured 120.0 MiB (-35.8%: the plan is 35.8% below the measurement)',
    );
  });

  it('says a largest batch equal to the cap comes from the configured cap, not from memory', () => {
    expect(flat().detail).toContain(
      'largest batch within 128.0 MiB: 4096 (the cap, memory.maxBatchSizeCap: memory did not grow with the batch, ' +
        'so the budget sets no limit; measured up to b=64)',
    );
  });

  it('gives the chart panel the signed error and the cap in two short lines', () => {
    expect(memoryPlanNote(flat())).toEqual([
      'plan -4.2% vs measured at b=64 (below)',
      'largest batch in 128 MiB: 4096 (the cap)',
    ]);
  });

  it('leaves "the cap" out when memory, not the cap, sets the largest batch', () => {
    expect(memoryPlanNote(under())[1]).toBe('largest batch in 128 MiB: 166');
  });

  it("explains the percentage and the cap above report.md's memory table, and marks the capped row", () => {
    const md = renderReportMarkdown(makeReport([], { memoryPlans: [flat()] }));
    expect(md).toContain(
      'The percentage is (planned - measured) / measured at that held-out batch: negative means the plan predicted ' +
        'less memory than was measured (it under-plans), positive more (it over-plans).',
    );
    expect(md).toContain('the plan stops at the configured cap (`memory.maxBatchSizeCap`, default 4096)');
    expect(md).toContain('| -4.2% at b=64 | 4096 (the cap) of 128.0 MiB, measured up to b=64 | pass |');
  });
});
