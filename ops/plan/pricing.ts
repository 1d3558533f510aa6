// The price tables the plan costs replicas and Worker requests with (ops/pricing/*.json): dated, with their source.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { formatIssues } from '../../bench/report.ts';
import { PlanError } from './errors.ts';
import { messageOf } from '../../runtime/errors.ts';

const usd = z.number().nonnegative();
const dated = {
  schemaVersion: z.literal(1),
  provider: z.string().min(1),
  /** Where the prices were read: the plan prints it next to every cost. */
  source: z.url(),
  asOf: z.iso.date(),
  currency: z.literal('USD'),
  note: z.string().optional(),
};

/**
 * Hours in the month every plan cost is priced for, replicas and Worker requests alike: 365 x 24 / 12 = 730, the
 * average month the cloud price lists (GKE's, Cloudflare's) bill by.
 */
export const HOURS_PER_MONTH = 730;

export const nodePricingSchema = z
  .object({
    ...dated,
    /** Billed on each Pod's requests (as GKE Autopilot does): so the plan prices the requests, not the limits. */
    usdPerVcpuHour: usd,
    usdPerGibHour: usd,
  })
  .strict();

const workersPlanSchema = z
  .object({
    monthlyBaseUsd: usd,
    requestsPerDay: z.number().int().positive().optional(),
    includedRequestsPerMonth: z.number().int().nonnegative().optional(),
    includedCpuMsPerMonth: z.number().int().nonnegative().optional(),
    usdPerMillionRequests: usd.optional(),
    usdPerMillionCpuMs: usd.optional(),
    cpuMsPerRequestLimit: z.number().positive(),
    uploadGzipBytesLimit: z.number().int().positive(),
    isolateMemoryBytes: z.number().int().positive(),
  })
  .strict();

export const workersPricingSchema = z
  .object({ ...dated, plans: z.object({ free: workersPlanSchema, paid: workersPlanSchema }).strict() })
  .strict();

export type NodePricing = z.infer<typeof nodePricingSchema>;
export type WorkersPricing = z.infer<typeof workersPricingSchema>;
export type WorkersPlanPricing = z.infer<typeof workersPlanSchema>;

/** The pricing files that ship with shipshape. */
export const DEFAULT_PRICING = {
  node: fileURLToPath(new URL('../pricing/node.json', import.meta.url)),
  workers: fileURLToPath(new URL('../pricing/workers.json', import.meta.url)),
} as const;

async function readPricing<T>(path: string, schema: z.ZodType<T>): Promise<T> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new PlanError(
      'PLAN_PRICING_INVALID',
      `${path}: cannot read the pricing file (${messageOf(error)}).`,
      {
        cause: error,
      },
    );
  }
  const result = schema.safeParse(json);
  if (!result.success)
    throw new PlanError(
      'PLAN_PRICING_INVALID',
      `${path}: not a valid pricing file:\n${formatIssues(result.error)}`,
    );
  return result.data;
}

/** Reads a Kubernetes price table (default ops/pricing/node.json). @throws PlanError PLAN_PRICING_INVALID */
export function readNodePricing(path: string = DEFAULT_PRICING.node): Promise<NodePricing> {
  return readPricing(path, nodePricingSchema);
}

/** Reads the Workers price table (default ops/pricing/workers.json). @throws PlanError PLAN_PRICING_INVALID */
export function readWorkersPricing(path: string = DEFAULT_PRICING.workers): Promise<WorkersPricing> {
  return readPricing(path, workersPricingSchema);
}
