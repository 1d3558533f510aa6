// The Cloudflare Workers side of a plan: CPU per request, isolate memory and upload size against each plan's limits,
// and the cost at the peak. Cloudflare scales isolates itself, so there are no replicas to count.
import type { Report, Scenario } from '../../bench/report.ts';
import type { MemoryNeed } from './memory.ts';
import { HOURS_PER_MONTH, type WorkersPlanPricing, type WorkersPricing } from './pricing.ts';

/** Seconds in the month the plan prices (the replicas' 730 h). */
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;

export interface WorkersCheck {
  readonly plan: 'free' | 'paid';
  readonly cpu: { readonly ok: boolean | null; readonly limitMs: number };
  readonly memory: { readonly ok: boolean | null; readonly limitBytes: number };
  readonly upload: { readonly ok: boolean | null; readonly limitBytes: number };
  /** Free only: the daily request allowance against the peak sustained for a day. */
  readonly requests: { readonly ok: boolean; readonly perDay: number; readonly limitPerDay: number | null };
  readonly fits: boolean;
  readonly monthlyUsd: number | null;
}

export interface WorkersPlan {
  /** CPU ms per request the plan judges by, and which scenario measured it. */
  readonly cpuMsPerRequest: number | null;
  readonly cpuSource: string;
  /** What that measurement leaves out. */
  readonly cpuLeavesOut: string;
  /** The Node service's CPU per request over HTTP, for comparison (a different runtime: an upper reference). */
  readonly httpCpuMsPerRequest: number | null;
  readonly isolateBytes: number | null;
  readonly uploadGzipBytes: number | null;
  readonly peakRps: number;
  /** Requests in a month if the peak held all month: an upper bound of the bill. */
  readonly requestsPerMonthAtPeak: number;
  /** Paid: usage cost of one million requests past the included amounts ($/M requests + CPU). */
  readonly usdPerMillionRequests: number | null;
  readonly checks: WorkersCheck[];
  /** The cheapest plan that fits, or null when none does. */
  readonly recommended: 'free' | 'paid' | null;
  readonly pricing: { readonly source: string; readonly asOf: string };
  readonly scaling: string;
}

function wasmScenario(report: Report, bundle: string, textsPerRequest: number): Scenario | undefined {
  const candidates = report.scenarios.filter(
    (s) =>
      s.kind === 'in-process' &&
      s.params.bundle === bundle &&
      (s.backend?.backend ?? s.params.backendRequested) === 'wasm' &&
      s.cpu !== undefined &&
      (s.status === 'ok' || s.status === 'unstable'),
  );
  // The smallest measured batch that holds a request of `textsPerRequest` texts, else the largest measured (smaller
  // than the request: its CPU time per request is then an underestimate, and cpuSource says so).
  const sorted = candidates.sort((a, b) => Number(a.params.batchSize) - Number(b.params.batchSize));
  return sorted.find((s) => Number(s.params.batchSize) >= textsPerRequest) ?? sorted.at(-1);
}

function monthlyCost(plan: WorkersPlanPricing, requests: number, cpuMs: number): number {
  const extraRequests = Math.max(0, requests - (plan.includedRequestsPerMonth ?? 0));
  const extraCpu = Math.max(0, requests * cpuMs - (plan.includedCpuMsPerMonth ?? 0));
  return (
    plan.monthlyBaseUsd +
    (extraRequests / 1e6) * (plan.usdPerMillionRequests ?? 0) +
    (extraCpu / 1e6) * (plan.usdPerMillionCpuMs ?? 0)
  );
}

/**
 * Checks the bundle against the Workers Free and Paid plans: CPU ms per request (the in-process WASM scenario at the
 * request's batch size), isolate memory at the serving batch size (the WASM memory plan), the gzip upload size,
 * and, on Free, the daily requests; prices Paid at the peak held for a 730-hour month.
 */
export function workersPlan(input: {
  report: Report;
  bundle: string;
  textsPerRequest: number;
  peakRps: number;
  isolate: MemoryNeed | null;
  httpCpuMsPerRequest: number | null;
  pricing: WorkersPricing;
}): WorkersPlan {
  const { report, bundle, textsPerRequest, peakRps, pricing } = input;
  const scenario = wasmScenario(report, bundle, textsPerRequest);
  const cpuMs = scenario?.cpu?.perRequestMs ?? null;
  const cpuSource =
    scenario === undefined
      ? `no in-process WASM scenario of ${bundle} with CPU time in the report`
      : `${scenario.id}: ${cpuMs?.toFixed(3)} ms CPU per request of ${String(scenario.params.batchSize)} text(s) (${scenario.cpu?.source ?? ''})` +
        (Number(scenario.params.batchSize) < textsPerRequest
          ? `; an underestimate: a request carries ${textsPerRequest} texts, more than any measured batch`
          : '');
  const uploadGzip = report.uploadSize?.gzipBytes ?? null;
  const isolateBytes = input.isolate?.minimumBytes ?? null;
  const requestsPerMonth = peakRps * SECONDS_PER_MONTH;
  const checks = (['free', 'paid'] as const).map((name): WorkersCheck => {
    const plan = pricing.plans[name];
    const cpuOk = cpuMs === null ? null : cpuMs <= plan.cpuMsPerRequestLimit;
    const memoryOk = isolateBytes === null ? null : isolateBytes <= plan.isolateMemoryBytes;
    const uploadOk = uploadGzip === null ? null : uploadGzip <= plan.uploadGzipBytesLimit;
    const perDay = peakRps * 86_400;
    const limitPerDay = plan.requestsPerDay ?? null;
    const requestsOk = limitPerDay === null || perDay <= limitPerDay;
    // Fits only when measured: an unknown CPU time, isolate size or upload size proves nothing (the Worker carries
    // onnxruntime-web's WASM, about 5 MiB gzip with news-bag, so Free's 3 MiB cannot be assumed).
    const fits = cpuOk === true && memoryOk === true && uploadOk === true && requestsOk;
    return {
      plan: name,
      cpu: { ok: cpuOk, limitMs: plan.cpuMsPerRequestLimit },
      memory: { ok: memoryOk, limitBytes: plan.isolateMemoryBytes },
      upload: { ok: uploadOk, limitBytes: plan.uploadGzipBytesLimit },
      requests: { ok: requestsOk, perDay, limitPerDay },
      fits,
      monthlyUsd: cpuMs === null ? null : monthlyCost(plan, requestsPerMonth, cpuMs),
    };
  });
  const paid = pricing.plans.paid;
  return {
    cpuMsPerRequest: cpuMs,
    cpuSource,
    cpuLeavesOut:
      "the Worker's request handling around the model (Hono's routing, JSON parsing and serialising, the health " +
      "monitor's record) and an isolate's cold start; it is the predictor's own time (tokenizer + WASM session) " +
      'on one thread in Node, which runs the same WASM as workerd',
    httpCpuMsPerRequest: input.httpCpuMsPerRequest,
    isolateBytes,
    uploadGzipBytes: uploadGzip,
    peakRps,
    requestsPerMonthAtPeak: requestsPerMonth,
    usdPerMillionRequests:
      cpuMs === null ? null : (paid.usdPerMillionRequests ?? 0) + cpuMs * (paid.usdPerMillionCpuMs ?? 0),
    checks,
    recommended: checks.find((c) => c.fits)?.plan ?? null,
    pricing: { source: pricing.source, asOf: pricing.asOf },
    scaling:
      'Cloudflare runs as many isolates as the traffic needs, in every location, and starts them itself: there is ' +
      'no replica count, autoscaler or manifest to set. What the plan can check is that one request fits the ' +
      "plan's CPU limit, one isolate fits 128 MiB at the serving batch size, and the upload fits the plan's size limit.",
  };
}
