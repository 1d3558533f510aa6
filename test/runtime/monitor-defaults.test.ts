// Re-derives the drift ceilings: multinomial samples of each bundle's reference at minTexts stay well below them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRng } from '../../bench/stats.ts';
import { manifestSchema } from '../../runtime/bundle/manifest.ts';
import {
  DEFAULT_MAX_LABEL_DRIFT,
  DEFAULT_MAX_LENGTH_DRIFT,
  jsDistance,
} from '../../runtime/monitor/index.ts';
import { BUNDLES, bundleDir } from '../helpers/bundle-copy.ts';

/** Draws per distribution: enough for a stable 99.9th percentile (the README's figures used 200,000). */
const DRAWS = 4000;
const N = 500;

/** JS distances of `DRAWS` samples of `N` texts drawn from `reference` against it, ascending. */
function samplingDistances(reference: readonly number[], seed: number): number[] {
  const total = reference.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  let sum = 0;
  for (const share of reference) cdf.push((sum += share / total));
  const rng = createRng(seed);
  const distances: number[] = [];
  const counts = new Array<number>(reference.length);
  for (let draw = 0; draw < DRAWS; draw += 1) {
    counts.fill(0);
    for (let i = 0; i < N; i += 1) {
      const u = rng();
      let bin = 0;
      while (bin < cdf.length - 1 && u > (cdf[bin] as number)) bin += 1;
      counts[bin] = (counts[bin] as number) + 1;
    }
    distances.push(jsDistance(counts, reference) as number);
  }
  return distances.sort((a, b) => a - b);
}

describe.each(BUNDLES)('drift ceilings against %s reference noise at 500 texts', (name) => {
  const manifest = manifestSchema.parse(
    JSON.parse(readFileSync(join(bundleDir(name), 'manifest.json'), 'utf8')),
  );
  const references = {
    labels: [
      manifest.labels.map((label) => manifest.reference.labelDistribution[label] ?? 0),
      DEFAULT_MAX_LABEL_DRIFT,
    ],
    lengths: [manifest.reference.tokenLength.counts, DEFAULT_MAX_LENGTH_DRIFT],
  } as const;

  it.each(Object.keys(references) as (keyof typeof references)[])(
    'keeps the %s ceiling above every sample and 1.4 times above the 99.9th percentile',
    (kind) => {
      const [reference, ceiling] = references[kind];
      const distances = samplingDistances(reference, 20261203);
      const p999 = distances[Math.floor(0.999 * (distances.length - 1))] as number;
      expect(distances.at(-1)).toBeLessThan(ceiling);
      expect(p999 * 1.4).toBeLessThan(ceiling);
    },
  );
});
