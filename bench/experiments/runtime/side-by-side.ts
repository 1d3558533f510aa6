// Interleaved timing for the runtime benches: tasks alternate sample by sample, so load on a shared machine hits
// every task alike and ratios stay meaningful. Each sample is one awaited call; results are medians.
import { hrtimeNow } from 'tinybench';
import { percentileSorted, sortAscending } from '../../../runtime/statistics.ts';

export interface SideBySideOptions {
  /** Untimed calls of each task before sampling. Default 5. */
  readonly warmup?: number;
  /** Sampling stops after this many ms (all tasks together)... Default 3000. */
  readonly timeMs?: number;
  /** ...but not before every task has this many samples. Default 20. */
  readonly minSamples?: number;
  /** Nor after this many. Default 2000. */
  readonly maxSamples?: number;
}

export interface TaskTiming {
  readonly name: string;
  readonly samples: number;
  /** Median ms per call. */
  readonly median: number;
  readonly p10: number;
  readonly p90: number;
}

/** Times the tasks in alternation (the order rotates each round) and returns one timing per task, in input order. */
export async function sideBySide(
  tasks: Readonly<Record<string, () => Promise<unknown>>>,
  options: SideBySideOptions = {},
): Promise<TaskTiming[]> {
  const { warmup = 5, timeMs = 3000, minSamples = 20, maxSamples = 2000 } = options;
  const entries = Object.entries(tasks);
  for (let i = 0; i < warmup; i++) for (const [, fn] of entries) await fn();
  const samples = entries.map(() => [] as number[]);
  const started = hrtimeNow();
  for (let round = 0; ; round++) {
    for (let k = 0; k < entries.length; k++) {
      const index = (round + k) % entries.length;
      const t0 = hrtimeNow();
      await entries[index]![1]();
      samples[index]!.push(hrtimeNow() - t0);
    }
    const count = round + 1;
    if (count >= maxSamples) break;
    if (count >= minSamples && hrtimeNow() - started >= timeMs) break;
  }
  return entries.map(([name], i) => {
    const sorted = sortAscending(samples[i]!);
    return {
      name,
      samples: sorted.length,
      median: percentileSorted(sorted, 0.5),
      p10: percentileSorted(sorted, 0.1),
      p90: percentileSorted(sorted, 0.9),
    };
  });
}

/** `1.234 ms` with three significant decimals below 1 ms. */
export function ms(value: number): string {
  return value >= 1 ? `${value.toFixed(2)} ms` : `${value.toFixed(3)} ms`;
}
