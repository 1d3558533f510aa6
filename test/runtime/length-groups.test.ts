// Length-aware batching's policy: run lengths and the split of a window into runs of similar length.
import { describe, expect, it } from 'vitest';
import { groupByLength, runLength } from '../../runtime/length-groups.ts';

/** A seeded generator, so the property cases are the same on every run. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** The modelled cost of a split: one overhead per run plus each run's padded token rows. */
function cost(groups: number[][], lengths: number[], maxLen: number, overheadTokens: number): number {
  return groups.reduce(
    (total, group) =>
      total + overheadTokens + group.length * runLength(Math.max(...group.map((i) => lengths[i]!)), maxLen),
    0,
  );
}

describe('runLength', () => {
  it('rounds the longest text up to a multiple of 8', () => {
    expect([1, 7, 8, 9, 16, 17, 33].map((n) => runLength(n, 72))).toEqual([8, 8, 8, 16, 16, 24, 40]);
  });

  it('never exceeds maxLen, even for texts truncated to it', () => {
    expect([65, 72, 73, 500].map((n) => runLength(n, 72))).toEqual([72, 72, 72, 72]);
    expect(runLength(10, 12)).toBe(12);
  });

  it('is at least 1 for a run of empty texts', () => {
    expect(runLength(0, 72)).toBe(1);
    expect(runLength(0, 1)).toBe(1);
  });
});

describe('groupByLength', () => {
  it('gives no groups for no texts', () => {
    expect(groupByLength([], { maxRows: 32, maxLen: 72 })).toEqual([]);
  });

  it('puts every text in exactly one group, within maxRows', () => {
    const next = lcg(7);
    for (const [n, maxRows] of [
      [1, 1],
      [5, 32],
      [32, 32],
      [100, 32],
      [257, 16],
      [300, 1],
    ] as const) {
      const lengths = Array.from({ length: n }, () => Math.floor(next() * 90));
      const groups = groupByLength(lengths, { maxRows, maxLen: 72 });
      expect(groups.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
      for (const group of groups) {
        expect(group.length).toBeGreaterThan(0);
        expect(group.length).toBeLessThanOrEqual(maxRows);
      }
    }
  });

  it('orders groups shortest first, so no two groups overlap in length', () => {
    const next = lcg(11);
    const lengths = Array.from({ length: 64 }, () => Math.floor(next() * 72));
    const groups = groupByLength(lengths, { maxRows: 32, maxLen: 72, overheadTokens: 16 });
    for (let g = 1; g < groups.length; g++) {
      const previousLongest = Math.max(...groups[g - 1]!.map((i) => lengths[i]!));
      const shortest = Math.min(...groups[g]!.map((i) => lengths[i]!));
      expect(shortest).toBeGreaterThanOrEqual(previousLongest);
    }
  });

  it('keeps the caller order among texts of equal length', () => {
    const groups = groupByLength([5, 5, 5, 5], { maxRows: 32, maxLen: 72 });
    expect(groups).toEqual([[0, 1, 2, 3]]);
  });

  it('keeps one run when the overhead outweighs the padding saved', () => {
    // Splitting [3 x 8 tokens | 1 x 16] saves 3 * 8 = 24 token rows, less than one more run's 64.
    expect(groupByLength([16, 3, 4, 5], { maxRows: 32, maxLen: 72, overheadTokens: 64 })).toEqual([
      [1, 2, 3, 0],
    ]);
  });

  it('splits short texts from a long one when that saves more than one run costs', () => {
    const lengths = [70, ...Array.from({ length: 31 }, () => 6)];
    const groups = groupByLength(lengths, { maxRows: 32, maxLen: 72, overheadTokens: 64 });
    expect(groups).toEqual([lengths.map((_, i) => i).slice(1), [0]]);
  });

  it('finds a split no dearer than any bucket-per-length split or one run per maxRows', () => {
    const next = lcg(3);
    for (const overheadTokens of [0, 8, 64, 512]) {
      const lengths = Array.from({ length: 96 }, () => 1 + Math.floor(next() * 71));
      const groups = groupByLength(lengths, { maxRows: 32, maxLen: 72, overheadTokens });
      const sorted = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]!);
      const chunks = [sorted.slice(0, 32), sorted.slice(32, 64), sorted.slice(64)];
      const buckets = new Map<number, number[]>();
      for (const i of sorted) {
        const key = runLength(lengths[i]!, 72);
        const bucket = buckets.get(key) ?? [];
        bucket.push(i);
        buckets.set(key, bucket);
      }
      const bucketed = [...buckets.values()].flatMap((bucket) =>
        Array.from({ length: Math.ceil(bucket.length / 32) }, (_, k) => bucket.slice(k * 32, k * 32 + 32)),
      );
      const best = cost(groups, lengths, 72, overheadTokens);
      expect(best).toBeLessThanOrEqual(cost(chunks, lengths, 72, overheadTokens));
      expect(best).toBeLessThanOrEqual(cost(bucketed, lengths, 72, overheadTokens));
    }
  });

  it('counts texts longer than maxLen as maxLen long', () => {
    const groups = groupByLength([500, 72, 90], { maxRows: 32, maxLen: 72, overheadTokens: 0 });
    expect(groups).toEqual([[0, 1, 2]]);
  });
});
