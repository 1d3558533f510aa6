// The project's one percentile definition, for samples and for histograms: portable, used by runtime, bench and ops.
import { quantileSorted } from 'simple-statistics';

/**
 * The `p`-quantile of ascending `sorted` samples by linear interpolation between the closest ranks
 * (Hyndman & Fan type 7; NumPy's default, Excel's PERCENTILE.INC): with `h = (n - 1) * p`,
 * `q = x[floor h] + (h - floor h) * (x[floor h + 1] - x[floor h])` (0-based).
 * Example: `[1, 2, 3, 4]` gives p50 = 2.5 and p95 = 3.85.
 * The arithmetic is simple-statistics' `quantileSorted` (type 7 since 7.x, the same formula); this adds the checks
 * it lacks (a NaN `p` passes it) and errors that name the bad value.
 * @throws RangeError when `sorted` is empty or `p` is outside [0, 1].
 */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentileSorted: no samples; measure at least one.');
  if (!(p >= 0 && p <= 1)) throw new RangeError(`percentileSorted: p=${p} is outside [0, 1].`);
  return quantileSorted(sorted, p);
}

/** Ascending copy of `samples` (numeric order, unlike `Array.prototype.sort`'s default). */
export function sortAscending(samples: readonly number[]): number[] {
  return Array.from(Float64Array.from(samples).sort());
}

/**
 * The `q`-quantile of a histogram as Prometheus's `histogram_quantile` computes it: linear interpolation inside the
 * bucket the rank falls in, the first bucket starting at 0, and the highest finite bound when the rank falls above
 * every bound. So `checkHealth()`'s p95 and Prometheus's agree on the same counts. Samples are gone by then, so this
 * is the histogram's estimate of `percentileSorted`'s value, good to one bucket.
 * @param bounds ascending upper bounds; `counts` has one more entry, for above the last bound.
 * @returns null for an empty histogram.
 */
export function histogramQuantile(
  bounds: readonly number[],
  counts: readonly number[],
  q: number,
): number | null {
  let count = 0;
  for (const c of counts) count += c;
  if (count === 0) return null;
  const rank = q * count;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i += 1) {
    const inBucket = counts[i] as number;
    if (cumulative + inBucket >= rank && inBucket > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1] as number;
      const lower = i === 0 ? 0 : (bounds[i - 1] as number);
      const upper = bounds[i] as number;
      return lower + (upper - lower) * ((rank - cumulative) / inBucket);
    }
    cumulative += inBucket;
  }
  return bounds[bounds.length - 1] as number;
}
