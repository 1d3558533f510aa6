// The service-level agreement file (bench/sla.json): limits per scenario and regression thresholds for the gate.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { formatIssues } from './report.ts';
import { CodedError, messageOf, type CodedErrorOptions } from '../runtime/errors.ts';

const positive = z.number().positive();
const pct = z.number().nonnegative();

/** Limits for every scenario whose id matches `match` (`*` = any characters except `/`, `**` = any characters). */
export const slaRuleSchema = z
  .object({
    match: z.string().min(1),
    /**
     * When true, a pattern that matches nothing, or only scenarios the run skipped (no Chromium, no service), is
     * `skipped` instead of failing the gate. An `errored` scenario fails either way.
     */
    optional: z.boolean().default(false),
    maxP95Ms: positive.optional(),
    maxP99Ms: positive.optional(),
    minItemsPerSecond: positive.optional(),
    minRequestsPerSecond: positive.optional(),
    maxPeakRssMiB: positive.optional(),
    maxIsolateMiB: positive.optional(),
    maxWasmHeapMiB: positive.optional(),
    /** Median time to first prediction over the cold-start trials. */
    maxColdStartMs: positive.optional(),
    /**
     * Most failed requests, as a percentage of all (HTTP scenarios). In an overload scenario requests shed with 503
     * OVERLOADED are not failures; everything else is.
     */
    maxErrorPct: pct.optional(),
    /**
     * Fewest requests shed with 503 OVERLOADED, as a percentage of all (overload scenarios): offered more than it
     * can serve, the service must refuse the excess rather than queue it.
     */
    minShedPct: positive.optional(),
  })
  .strict();

const thresholdsSchema = z
  .object({
    p95LatencyMs: pct.default(15),
    itemsPerSecond: pct.default(15),
    requestsPerSecond: pct.default(15),
    coldStartMs: pct.default(25),
    peakRssBytes: pct.default(20),
    isolateBytes: pct.default(20),
    /** CPU time per request: the contention-proof measure of how much work the code does. */
    cpuPerRequestMs: pct.default(25),
  })
  .strict();

/**
 * Wider (or narrower) thresholds for the scenarios matching `match`, e.g. loopback HTTP, where client and server
 * share the machine's cores and vary far more between runs than in-process measurements. The first match wins.
 */
const thresholdOverrideSchema = z
  .object({
    match: z.string().min(1),
    // Only the metrics named here change; no defaults, so the others keep the policy's own thresholds.
    thresholdsPct: z
      .object(
        Object.fromEntries(Object.keys(thresholdsSchema.shape).map((metric) => [metric, pct.optional()])),
      )
      .strict(),
  })
  .strict();

const regressionSchema = z
  .object({
    /** Significance level of the Mann-Whitney U test (one-sided, in the bad direction). Default 0.01. */
    alpha: z.number().gt(0).lt(1).default(0.01),
    /** Confidence of the bootstrap interval on the p95 ratio. Default 0.95. */
    confidence: z.number().gt(0).lt(1).default(0.95),
    bootstrapIterations: z.number().int().min(100).default(2000),
    seed: z.number().int().default(1),
    /** A change smaller than this (percent, in the bad direction) is never a regression. */
    thresholdsPct: thresholdsSchema.prefault({}),
    overrides: z.array(thresholdOverrideSchema).default([]),
    /** Judging against a baseline history (bench/baseline-history.json, `shipshape baseline record`). */
    history: z
      .object({
        /**
         * Fewest recorded runs for the history's prediction bound; with fewer the gate compares with the latest run
         * alone, as with a plain report. Default 3: with 2, Student's t(0.99, 1) is 31.8 and the bound says nothing.
         */
        minRuns: z.number().int().min(2).default(3),
        /**
         * One-sided error rate of the history's prediction bound, apart from the sample tests' `alpha`. Default
         * 0.1, chosen with `bench/gate/policy-simulation.ts` (README "How the gate uses it"): with `--remeasure 2`
         * a gate of 60 checks against 5 runs fails unchanged code about 2% of the time (about 4% against 3), while
         * a tripled p95 is caught 56% of the time instead of 35% at 0.01, where Student's t(0.99, 4) = 3.75 makes the
         * bound about 4x wide on shared cores.
         */
        alpha: z.number().gt(0).lt(1).default(0.1),
        /**
         * A slowdown beyond this many times the metric's threshold (default 3: p95 at 50% fails beyond +150%; a
         * throughput at 50%, a 2x slowdown, below a quarter of the centre, 1 + 3 x (2 - 1) = 4x slower) is a
         * regression whatever the bound says; a wall-clock one still needs CPU time to corroborate it.
         */
        ceilingFactor: z.number().gt(1).default(3),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export const slaSchema = z
  .object({
    schemaVersion: z.literal(1),
    /** Most compressed (gzip) Worker upload: 3 MiB on the free plan, 10 MiB paid. */
    maxWorkerUploadGzipBytes: positive.optional(),
    regression: regressionSchema,
    /**
     * When true, a memory plan that misses its held-out measurement fails the gate; by default it only warns
     * (allocators grow in steps, so a plan can miss without anything being wrong with the release).
     */
    enforceMemoryPlan: z.boolean().default(false),
    scenarios: z.array(slaRuleSchema),
  })
  .strict();

export type Sla = z.infer<typeof slaSchema>;
export type SlaRule = z.infer<typeof slaRuleSchema>;
export type RegressionPolicy = Sla['regression'];

/** The regression policy for one scenario: the thresholds of the first override that matches it, over the defaults. */
export function policyFor(policy: RegressionPolicy, scenarioId: string): RegressionPolicy {
  const override = policy.overrides.find((o) => matchesScenario(o.match, scenarioId));
  if (override === undefined) return policy;
  const thresholdsPct = { ...policy.thresholdsPct };
  for (const [metric, value] of Object.entries(override.thresholdsPct)) {
    if (value !== undefined) thresholdsPct[metric as keyof typeof thresholdsPct] = value;
  }
  return { ...policy, thresholdsPct };
}

/** An SLA file that is missing or invalid. */
export class SlaError extends CodedError<'SLA_INVALID'> {
  override readonly name = 'SlaError';

  constructor(message: string, options?: CodedErrorOptions) {
    super('SLA_INVALID', message, options);
  }
}

/** Validates parsed JSON as an SLA, filling defaults. @throws SlaError naming the invalid fields. */
export function parseSla(value: unknown, source: string): Sla {
  const result = slaSchema.safeParse(value);
  if (!result.success) throw new SlaError(`${source}: not a valid SLA file:\n${formatIssues(result.error)}`);
  return result.data;
}

/** Reads and validates an SLA file. @throws SlaError */
export async function readSla(path: string): Promise<Sla> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new SlaError(`${path}: cannot read the SLA as JSON (${messageOf(error)}).`, {
      cause: error,
    });
  }
  return parseSla(json, path);
}

/** True when scenario `id` matches the rule's glob (`*` within one path segment, `**` across segments). */
export function matchesScenario(pattern: string, id: string): boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        source += '.*';
        i++;
      } else {
        source += '[^/]*';
      }
    } else {
      source += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`).test(id);
}
