// The schema of plan.json (`shipshape plan`'s output for machines): versioned, validated whenever written or read.
import { z } from 'zod';
import { formatIssues } from '../../bench/report.ts';
import { PlanError } from './errors.ts';

/** Bump on any change that an older reader would misread. */
export const PLAN_SCHEMA_VERSION = 1;

const nonNegative = z.number().nonnegative();
const positive = z.number().positive();
const count = z.number().int().nonnegative();
const nullableNumber = z.number().nullable();

export const queuePointSchema = z
  .object({
    ratePerSecond: nonNegative,
    utilisation: nonNegative,
    p50Ms: nonNegative,
    p95Ms: nonNegative,
    p99Ms: nonNegative,
    meanWaitMs: nonNegative,
    shedFraction: z.number().min(0).max(1),
  })
  .strict();

const parameterCountSchema = z.object({ parameters: count, layers: count }).strict();

const memoryNeedSchema = z
  .object({
    where: z.enum(['replica', 'isolate']),
    metric: z.enum(['rss', 'isolate']),
    backend: z.enum(['native', 'wasm']),
    batchSize: z.number().int().positive(),
    minimumBytes: nonNegative,
    recommendedBytes: nonNegative,
    budgetBytes: nullableNumber,
    fits: z.boolean().nullable(),
    source: z.string(),
    planVerdict: z.enum(['pass', 'fail', 'insufficient-data']).nullable(),
    naiveBytes: nullableNumber,
    naiveRatio: nullableNumber,
    naiveWrong: z.string().nullable(),
  })
  .strict();

export const memoryNeedsSchema = z
  .object({
    bundle: z.string(),
    batchSize: z.number().int().positive(),
    parameters: parameterCountSchema.nullable(),
    parametersNote: z.string().nullable(),
    replica: memoryNeedSchema.nullable(),
    isolate: memoryNeedSchema.nullable(),
    notes: z.array(z.string()),
  })
  .strict();

const workersCheckSchema = z
  .object({
    plan: z.enum(['free', 'paid']),
    cpu: z.object({ ok: z.boolean().nullable(), limitMs: positive }).strict(),
    memory: z.object({ ok: z.boolean().nullable(), limitBytes: positive }).strict(),
    upload: z.object({ ok: z.boolean().nullable(), limitBytes: positive }).strict(),
    requests: z.object({ ok: z.boolean(), perDay: nonNegative, limitPerDay: nullableNumber }).strict(),
    fits: z.boolean(),
    monthlyUsd: nullableNumber,
  })
  .strict();

export const workersPlanSchema = z
  .object({
    cpuMsPerRequest: nullableNumber,
    cpuSource: z.string(),
    cpuLeavesOut: z.string(),
    httpCpuMsPerRequest: nullableNumber,
    isolateBytes: nullableNumber,
    uploadGzipBytes: nullableNumber,
    peakRps: positive,
    requestsPerMonthAtPeak: nonNegative,
    usdPerMillionRequests: nullableNumber,
    checks: z.array(workersCheckSchema),
    recommended: z.enum(['free', 'paid']).nullable(),
    pricing: z.object({ source: z.string(), asOf: z.string() }).strict(),
    scaling: z.string(),
  })
  .strict();

export const nodePlanSchema = z
  .object({
    /** The largest Poisson rate one replica serves within the p95 limit (the model), requests/s. */
    sustainableRps: positive,
    atSustainable: queuePointSchema,
    /** sustainable x (1 - headroom): what each replica is planned to carry. */
    plannedRps: positive,
    atPlanned: queuePointSchema,
    replicasAtPeak: z.number().int().positive(),
    /** The per-replica point at the peak with `replicasAtPeak` replicas, and with one of them lost. */
    atPeak: queuePointSchema,
    oneLostAtPeak: queuePointSchema.nullable(),
    minReplicas: z.number().int().min(2),
    maxReplicas: z.number().int().positive(),
    maxReplicasReason: z.string(),
    /** Dividing the peak by the measured throughput: the count it gives and what the model says it would do. */
    naive: z
      .object({ replicas: z.number().int().positive(), perReplicaRps: positive, point: queuePointSchema })
      .strict(),
    resources: z
      .object({
        workers: z.number().int().positive(),
        cpuPerRequestMs: positive,
        cpuSource: z.string(),
        cpuRequestMillicores: z.number().int().positive(),
        cpuLimitMillicores: z.number().int().positive(),
        memoryRequestBytes: z.number().int().positive(),
        memoryLimitBytes: z.number().int().positive(),
        memorySource: z.string(),
      })
      .strict(),
    autoscaling: z
      .object({
        hpaCpuUtilisationPct: z.number().int().min(1).max(100),
        kedaThresholdRps: positive,
        kedaQuery: z.string(),
        scaleUpStabilisationSeconds: count,
        scaleDownStabilisationSeconds: count,
        scaleUp: z.string(),
        scaleDown: z.string(),
      })
      .strict(),
    cost: z
      .object({
        perReplicaMonthlyUsd: nonNegative,
        atPeakMonthlyUsd: nonNegative,
        atMinimumMonthlyUsd: nonNegative,
        atMaximumMonthlyUsd: nonNegative,
        provider: z.string(),
        source: z.string(),
        asOf: z.string(),
      })
      .strict(),
    /** One replica's simulated points from near 0 to past capacity (the knee the plan explains). */
    curve: z.array(queuePointSchema),
    /** Total load against p95, per replica count around the plan's, for the chart. */
    load: z.array(
      z
        .object({
          replicas: z.number().int().positive(),
          totalRps: positive,
          p95Ms: nonNegative,
          shedFraction: z.number().min(0).max(1),
        })
        .strict(),
    ),
  })
  .strict();

export const planSchema = z
  .object({
    schemaVersion: z.literal(PLAN_SCHEMA_VERSION),
    tool: z.literal('shipshape-plan'),
    createdAt: z.iso.datetime(),
    inputs: z
      .object({
        report: z
          .object({
            path: z.string(),
            createdAt: z.string(),
            mode: z.string(),
            machine: z.string(),
            cores: z.number().int().positive(),
          })
          .strict(),
        sla: z.object({ path: z.string().nullable(), p95Ms: positive, source: z.string() }).strict(),
        peakRps: positive,
        headroom: z.number().min(0).lt(1),
        target: z.enum(['node', 'workers', 'both']),
        bundle: z.string(),
        textsPerRequest: z.number().int().positive(),
        batchSize: z.number().int().positive(),
        seed: z.number().int(),
        deployment: z
          .object({
            name: z.string(),
            namespace: z.string(),
            image: z.string(),
            prometheusUrl: z.string(),
            scrapeIntervalSeconds: positive,
          })
          .strict(),
      })
      .strict(),
    profile: z
      .object({
        source: z.string(),
        servers: z.number().int().positive(),
        capacityRps: positive,
        serviceSamples: z.number().int().positive(),
        serviceMeanMs: positive,
        serviceP95Ms: nonNegative,
        serviceScale: positive,
        maxQueueWaitMs: nonNegative,
        simulatedRequests: z.number().int().positive(),
        /** The bench's self-check of this profile (its http-capacity scenario); null: not self-checked. */
        selfCheck: z
          .object({
            scenario: z.string(),
            status: z.string(),
            verdict: z.enum(['pass', 'fail']),
            detail: z.string(),
          })
          .strict()
          .nullable(),
        /** Why the plan deserves less trust (not self-checked, a failed or unstable check); null when none. */
        caution: z.string().nullable(),
      })
      .strict()
      .nullable(),
    node: nodePlanSchema.nullable(),
    workers: workersPlanSchema.nullable(),
    memory: memoryNeedsSchema,
    files: z.array(z.string()),
  })
  .strict();

export type Plan = z.infer<typeof planSchema>;
export type NodePlan = z.infer<typeof nodePlanSchema>;

/**
 * Validates a plan (before it is written, or when read back).
 * @throws PlanError PLAN_INVALID listing the first invalid fields.
 */
export function parsePlan(value: unknown, source: string): Plan {
  const result = planSchema.safeParse(value);
  if (!result.success) {
    throw new PlanError('PLAN_INVALID', `${source}: not a valid plan:\n${formatIssues(result.error)}`);
  }
  return result.data;
}
