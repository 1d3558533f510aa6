// Length-aware batching for dynamic-length models: how long each session run is padded, and which texts share a run.
//
// A run of a dynamic-length graph costs roughly `overhead + rows * runLength * perToken`, so texts of similar length
// belong together (sorting by length, as Hugging Face pipelines do, is the simple form of Triton's ragged batching).
// Splitting a window into more runs pays the per-run overhead more often; `groupByLength` picks the cuts that
// minimise the modelled cost.

/** Run lengths are multiples of this, to bound the shapes a session sees (and the kernels it prepares). */
export const RUN_LENGTH_MULTIPLE = 8;

/**
 * The per-run overhead in token rows (one row of one token) that the split assumes. Chosen by measurement: batch 32 of
 * news-transformer's test-split texts on its dynamic-length export, each value against fixed padding (`npx tsx
 * bench/experiments/runtime/length-aware.ts --overheads 0,64,256,1024 --time 12000`): 0 (about 8 runs per batch), 64
 * (4), 256 (2) and 1024 (1) gave 1.17x, 1.42x, 1.10x and 1.01x on native, 1.25x, 1.45x, 1.24x and 1.06x on wasm.
 */
export const DEFAULT_OVERHEAD_TOKENS = 64;

/**
 * The padded length of a run whose longest text has `longest` tokens: rounded up to a multiple of 8, never above
 * `maxLen` (texts are truncated to it), never below 1.
 */
export function runLength(longest: number, maxLen: number): number {
  const capped = Math.min(Math.max(0, longest), maxLen);
  const rounded = Math.ceil(capped / RUN_LENGTH_MULTIPLE) * RUN_LENGTH_MULTIPLE;
  return Math.min(maxLen, Math.max(1, rounded));
}

export interface LengthGroupOptions {
  /** Most texts in one run (the batch size limit). */
  readonly maxRows: number;
  /** The truncation length: longer texts count as this long. */
  readonly maxLen: number;
  /** The per-run overhead in token rows. Default `DEFAULT_OVERHEAD_TOKENS`. */
  readonly overheadTokens?: number;
}

/**
 * Splits texts of the given token counts into session runs of similar length: sorts them by length (stably, so equal
 * lengths keep the caller's order) and cuts the sorted order where `runs * overheadTokens + sum(rows * runLength)`
 * is least, with at most `maxRows` texts per run (dynamic programming over the cut points, O(n * maxRows)).
 *
 * Returns the groups as indices into `lengths`, shortest run first; every index appears in exactly one group.
 * An empty `lengths` gives no groups.
 */
export function groupByLength(lengths: readonly number[], options: LengthGroupOptions): number[][] {
  const { maxRows, maxLen, overheadTokens = DEFAULT_OVERHEAD_TOKENS } = options;
  const n = lengths.length;
  if (n === 0) return [];
  const capped = lengths.map((length) => Math.min(Math.max(0, length), maxLen));
  const order = capped.map((_, index) => index).sort((a, b) => capped[a]! - capped[b]! || a - b);

  // best[j]: least cost of the first j sorted texts; cut[j]: where the last run of that split starts.
  const best = new Float64Array(n + 1).fill(Number.POSITIVE_INFINITY);
  const cut = new Int32Array(n + 1);
  best[0] = 0;
  for (let end = 1; end <= n; end++) {
    // The run [start, end) is padded to the length of its longest (last, since sorted) text.
    const padded = runLength(capped[order[end - 1]!]!, maxLen);
    for (let start = Math.max(0, end - maxRows); start < end; start++) {
      const cost = best[start]! + overheadTokens + (end - start) * padded;
      if (cost < best[end]!) {
        best[end] = cost;
        cut[end] = start;
      }
    }
  }

  const groups: number[][] = [];
  for (let end = n; end > 0; end = cut[end]!) groups.push(order.slice(cut[end], end));
  return groups.reverse();
}
