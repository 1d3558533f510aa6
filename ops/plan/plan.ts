// `shipshape plan`'s numbers: replicas, resources and autoscaling for Node, the Workers checks, and memory needs,
// from one bench report through the capacity model.
import {
  DEFAULT_MAX_QUEUE_WAIT_MS,
  DEFAULT_SIMULATED_REQUESTS,
  capacityScenarios,
  profileFromReport,
  simulateQueue,
  sustainableRate,
  type QueuePoint,
  type ReportProfile,
} from '../../bench/capacity/model.ts';
import { basename } from 'node:path';
import { mean } from 'simple-statistics';
import type { Report, Scenario, ScenarioOf } from '../../bench/report.ts';
import { matchesScenario, type Sla } from '../../bench/sla.ts';
import { percentileSorted, sortAscending } from '../../runtime/statistics.ts';
import { INFERENCE_ROUTES } from '../../edge/routes.ts';
import { PlanError } from './errors.ts';
import { MEMORY_BUFFER, memoryNeeds, type MemoryNeeds, type ParameterCount } from './memory.ts';
import { HOURS_PER_MONTH, type NodePricing, type WorkersPricing } from './pricing.ts';
import { PLAN_SCHEMA_VERSION, parsePlan, type NodePlan, type Plan } from './schema.ts';
import { workersPlan } from './workers.ts';

export type PlanTarget = 'node' | 'workers' | 'both';

/** Defaults of `shipshape plan`, shared by the command and its help text. */
export const PLAN_DEFAULTS = {
  headroom: 0.25,
  minReplicas: 2,
  target: 'both' as PlanTarget,
  name: 'shipshape',
  namespace: 'default',
  image: 'shipshape:latest',
  prometheusUrl: 'http://prometheus.monitoring.svc:9090',
  /** Prometheus's scrape interval for the service, s (the KEDA query's rate window is 4x it). */
  scrapeIntervalSeconds: 30,
  /** With neither --max-replicas nor --max-monthly-usd: room for half again the stated peak. */
  maxReplicasFactor: 1.5,
  seed: 1,
  scaleUpStabilisationSeconds: 0,
  scaleDownStabilisationSeconds: 300,
} as const;

const MIB = 1024 * 1024;

export interface PlanInputs {
  readonly report: Report;
  readonly reportPath: string;
  /** The SLA file's path (null when only --p95-ms was given) and its rules. */
  readonly sla: { readonly path: string | null; readonly value: Sla | null };
  readonly peakRps: number;
  /** --p95-ms; default the SLA's `http-open/*` maxP95Ms. */
  readonly p95Ms?: number;
  readonly target?: PlanTarget;
  readonly headroom?: number;
  readonly minReplicas?: number;
  readonly maxReplicas?: number;
  readonly maxMonthlyUsd?: number;
  /** The serving batch size (edge config `batchSize`, default 32). */
  readonly batchSize: number;
  /** `--bundle`: the bundle (name or folder) whose profile to plan from; default the report's self-checked one. */
  readonly bundle?: string;
  readonly parameters: ParameterCount | null;
  readonly parametersNote?: string;
  readonly nodePricing: NodePricing;
  readonly workersPricing: WorkersPricing;
  readonly deployment?: Partial<Plan['inputs']['deployment']>;
  /** Requests simulated per point (default the model's 20,000) and the seed (default 1). */
  readonly requests?: number;
  readonly seed?: number;
  /** Reports progress of the slower steps (the chart's simulations). */
  readonly onProgress?: (message: string) => void;
  /** The time stamp to record; default now. */
  readonly now?: Date;
}

/**
 * The p95 limit the plan holds each replica to: `--p95-ms`, else the first SLA rule matching `http-open/*` with a
 * `maxP95Ms` (the open-loop scenarios are the Poisson traffic the model simulates).
 * @throws PlanError PLAN_NO_P95_LIMIT when neither gives one.
 */
export function p95Limit(sla: Sla | null, flag: number | undefined): { p95Ms: number; source: string } {
  if (flag !== undefined) return { p95Ms: flag, source: '--p95-ms' };
  const rule = sla?.scenarios.find(
    (r) => r.maxP95Ms !== undefined && matchesScenario(r.match, 'http-open/r1'),
  );
  if (rule?.maxP95Ms === undefined)
    throw new PlanError(
      'PLAN_NO_P95_LIMIT',
      'the SLA has no maxP95Ms for http-open/* scenarios; add one to the SLA or give --p95-ms.',
    );
  return { p95Ms: rule.maxP95Ms, source: `SLA rule "${rule.match}" maxP95Ms` };
}

/**
 * Below this mean service time (ms) a request is mostly HTTP work (parsing, dispatch, the answer) on the replica's one
 * event loop rather than inference in its workers, so the workers the model counts as servers are not what limits it.
 */
export const HTTP_BOUND_SERVICE_MS = 5;

/** The profile a plan is made from, and whether the report's bench checked the model on it. */
export interface ChosenProfile {
  readonly profile: ReportProfile | undefined;
  /** The self-check (`http-capacity` scenario) the profile comes from; null when it comes from http-closed. */
  readonly selfCheck: {
    readonly scenario: string;
    readonly status: Scenario['status'];
    readonly verdict: 'pass' | 'fail';
    readonly detail: string;
  } | null;
  /** Why this plan deserves less trust than a self-checked one that passed; null when it deserves none less. */
  readonly caution: string | null;
}

const nameOf = (bundle: string): string => basename(bundle.replace(/[/\\]+$/, ''));

/**
 * Picks the profile to plan from: the report's `http-capacity` self-check (the profile the bench checked the model
 * on), or with `bundle` (a name or a folder; its basename counts) that bundle's self-check, else that bundle's
 * http-closed scenarios, with a caution that the plan was not self-checked (and, for a replica whose requests take
 * less than `HTTP_BOUND_SERVICE_MS`, why the model fits it less well). Without `bundle` and without a self-check, the
 * http-closed profile, with the same caution.
 * @throws PlanError PLAN_PROFILE_AMBIGUOUS (self-checks for several bundles and no `bundle`), PLAN_NO_HTTP_PROFILE
 *   (`bundle` given and the report has no HTTP measurements for it).
 */
export function chooseProfile(report: Report, reportPath: string, bundle?: string): ChosenProfile {
  const checks = capacityScenarios(report);
  const wanted = bundle === undefined ? undefined : nameOf(bundle);
  if (wanted === undefined && new Set(checks.map((s) => s.capacity?.bundle)).size > 1)
    throw new PlanError(
      'PLAN_PROFILE_AMBIGUOUS',
      `${reportPath} has self-checked profiles for several bundles (${checks.map((s) => s.id).join(', ')}); ` +
        'choose one with --bundle NAME.',
    );
  const check = checks.find((s) => wanted === undefined || s.capacity?.bundle === wanted);
  const profile = profileFromReport(report, wanted === undefined ? {} : { bundle: wanted });
  if (profile === undefined && wanted !== undefined) {
    const have = [...new Set(capacityScenarios(report).map((s) => s.capacity?.bundle))];
    throw new PlanError(
      'PLAN_NO_HTTP_PROFILE',
      `${reportPath} has no HTTP measurements of ${wanted} (no http-capacity/${wanted} scenario, and its http-closed ` +
        `scenarios served ${configuredBundle(report)})` +
        (have.length > 0 ? `; its self-checks are for ${have.join(', ')}` : '') +
        `. Run \`shipshape bench --serve\` with ${wanted} in the config, or plan without --bundle.`,
    );
  }
  if (check?.capacity !== undefined && profile !== undefined) {
    const section = check.capacity;
    const caution =
      section.verdict === 'fail'
        ? `the bench's self-check of this profile FAILED (${check.id}): ${section.detail}`
        : check.status === 'unstable'
          ? `the bench's self-check of this profile passed, but its measurement was unstable (${check.reason ?? 'the machine changed under it'})`
          : null;
    return {
      profile,
      selfCheck: {
        scenario: check.id,
        status: check.status,
        verdict: section.verdict,
        detail: section.detail,
      },
      caution,
    };
  }
  if (profile === undefined) return { profile, selfCheck: null, caution: null };
  const meanMs = mean([...profile.serviceMs]);
  const httpBound =
    meanMs < HTTP_BOUND_SERVICE_MS
      ? ` And this profile is HTTP-bound: a request of ${profile.textsPerRequest} text(s) takes ` +
        `${meanMs.toFixed(2)} ms, mostly JSON parsing and dispatch on the replica's one event loop, not inference ` +
        `in its ${profile.servers} workers, so the M/G/${profile.servers} model (the workers as servers) does not ` +
        "describe it; where the load generator shares the replica's cores it distorts the measurement too. On " +
        'news-bag with 1 text per request on 2 shared cores, the measured p95 at 75% of capacity was 13-113 ms ' +
        "against the model's 3.5-3.8 ms. Plan from a profile whose work is inference (more texts per request, a " +
        'heavier bundle), or measure the replica on its own machine.'
      : '';
  // A self-check that ran for this bundle but measured nothing (errored, skipped) is worth naming.
  const unmeasured = report.scenarios.find(
    (s) => s.kind === 'http-capacity' && s.id === `http-capacity/${profile.bundle}`,
  );
  const why =
    unmeasured === undefined
      ? `${reportPath} has no http-capacity scenario for ${profile.bundle}`
      : `${reportPath}'s ${unmeasured.id} is ${unmeasured.status}${unmeasured.reason === undefined ? '' : ` (${unmeasured.reason})`}`;
  return {
    profile,
    selfCheck: null,
    caution:
      `this plan was NOT self-checked: ${why}, so the profile comes from its http-closed scenarios and no ` +
      `open-loop run checked the model's rate on it.${httpBound}`,
  };
}

/** The service's measured peak RSS and the planned point's CPU from the capacity self-check, when the report has it. */
function capacityExtras(
  report: Report,
  selfCheck: ChosenProfile['selfCheck'],
): { peakRssBytes?: number; cpuMsPerRequest?: number; id?: string } {
  const scenario = report.scenarios.find(
    (s): s is ScenarioOf<'http-capacity'> => s.kind === 'http-capacity' && s.id === selfCheck?.scenario,
  );
  const section = scenario?.capacity;
  if (scenario === undefined || section === undefined) return {};
  const cpu = section.planned.cpuPerRequestMs;
  return {
    id: scenario.id,
    ...(section.peakRssBytes === null ? {} : { peakRssBytes: section.peakRssBytes }),
    ...(cpu === null || cpu === 0 ? {} : { cpuMsPerRequest: cpu }),
  };
}

/** CPU ms per request for the Node replica: the capacity check's planned point, else the saturated closed loop. */
function nodeCpu(
  report: Report,
  extras: ReturnType<typeof capacityExtras>,
): { ms: number; source: string } | null {
  if (extras.cpuMsPerRequest !== undefined)
    return {
      ms: extras.cpuMsPerRequest,
      source: `${extras.id ?? 'http-capacity'}: measured at the planned rate (open loop)`,
    };
  const closed = report.scenarios
    .filter((s) => s.kind === 'http-closed' && s.cpu !== undefined && s.throughput !== undefined)
    .sort((a, b) => (b.throughput?.requestsPerSecond ?? 0) - (a.throughput?.requestsPerSecond ?? 0));
  const top = closed[0];
  if (top?.cpu === undefined) return null;
  return {
    ms: top.cpu.perRequestMs,
    source:
      `${top.id}: ${top.cpu.perRequestMs.toFixed(3)} ms CPU per request at ${top.throughput?.requestsPerSecond.toFixed(0)} requests/s ` +
      '(closed loop at saturation, where the micro-batcher groups most; at lower rates a request may cost more)',
  };
}

function httpCpu(report: Report): number | null {
  const c1 = report.scenarios.find((s) => s.kind === 'http-closed' && s.params.concurrency === 1);
  return c1?.cpu?.perRequestMs ?? null;
}

/** The bundle the report's HTTP scenarios serve (`config.bundles[0]`), else its first memory plan's. */
export function configuredBundle(report: Report): string {
  const bundles = (report.config as { bundles?: unknown } | null)?.bundles;
  const first = Array.isArray(bundles) ? (bundles[0] as unknown) : undefined;
  if (typeof first === 'string') return basename(first);
  return report.memoryPlans[0]?.bundle ?? 'unknown';
}

/** What the memory needs depend on: the report's profile choice, the serving batch size, the parameter count. */
export type MemoryPlanInputs = Pick<
  PlanInputs,
  'reportPath' | 'bundle' | 'batchSize' | 'parameters' | 'parametersNote'
> & {
  /** A Worker isolate's memory budget (the Workers pricing file's paid plan, 128 MiB). */
  readonly isolateBudgetBytes: number;
};

function memoryFor(report: Report, chosen: ChosenProfile, inputs: MemoryPlanInputs): MemoryNeeds {
  const { profile } = chosen;
  const extras = capacityExtras(report, chosen.selfCheck);
  return memoryNeeds({
    report,
    bundle: profile?.bundle ?? configuredBundle(report),
    batchSize: inputs.batchSize,
    workers: profile?.servers ?? report.machine.cores,
    parameters: inputs.parameters,
    ...(inputs.parametersNote === undefined ? {} : { parametersNote: inputs.parametersNote }),
    ...(extras.peakRssBytes === undefined ? {} : { servicePeakRssBytes: extras.peakRssBytes }),
    isolateBudgetBytes: inputs.isolateBudgetBytes,
  });
}

/**
 * The memory needs per replica and per isolate, exactly as the full plan states them (`shipshape plan --memory`
 * and `buildPlan` both come here): the bundle of `chooseProfile`'s profile (else the report's configured one), its
 * workers, and the service's measured peak RSS from the self-check when the report has one.
 * @throws PlanError PLAN_PROFILE_AMBIGUOUS or PLAN_NO_HTTP_PROFILE as `chooseProfile` does.
 */
export function planMemory(report: Report, inputs: MemoryPlanInputs): MemoryNeeds {
  return memoryFor(report, chooseProfile(report, inputs.reportPath, inputs.bundle), inputs);
}

/**
 * The KEDA query's rate window for a scrape interval: at least 4 scrapes, in whole minutes. `rate()` needs two samples
 * in its window; a window of one or two intervals often holds one (a late scrape, a missed one), and then the query
 * answers nothing, which KEDA reads as 0 requests/s and never scales up. Four intervals is Prometheus's usual advice.
 */
export function rateWindow(scrapeIntervalSeconds: number): string {
  return `${Math.max(1, Math.ceil((4 * scrapeIntervalSeconds) / 60 - 1e-9))}m`;
}

const roundUp = (value: number, step: number): number => Math.ceil(value / step - 1e-9) * step;

/**
 * Builds the plan: the capacity model's sustainable rate per replica within the p95 limit, the replicas at the
 * peak with headroom (at least `minReplicas`, at most the cap), resources and autoscaling, the Workers checks, and
 * the memory needs. Pure apart from the clock; validated against the plan schema before it is returned.
 * The profile is `chooseProfile`'s (the report's self-checked one by default, `inputs.bundle` to choose).
 * @throws PlanError PLAN_NO_HTTP_PROFILE (no HTTP measurements), PLAN_PROFILE_AMBIGUOUS, PLAN_NO_P95_LIMIT, PLAN_SLA_UNREACHABLE (the limit
 *   is below one request's own time), PLAN_OVER_BUDGET (the cap cannot cover the peak).
 */
export function buildPlan(inputs: PlanInputs): Plan {
  const { report } = inputs;
  const target = inputs.target ?? PLAN_DEFAULTS.target;
  const headroom = inputs.headroom ?? PLAN_DEFAULTS.headroom;
  const minReplicas = inputs.minReplicas ?? PLAN_DEFAULTS.minReplicas;
  const seed = inputs.seed ?? PLAN_DEFAULTS.seed;
  const requests = inputs.requests ?? DEFAULT_SIMULATED_REQUESTS;
  const simulation = { requests, seed };
  const deployment = {
    name: inputs.deployment?.name ?? PLAN_DEFAULTS.name,
    namespace: inputs.deployment?.namespace ?? PLAN_DEFAULTS.namespace,
    image: inputs.deployment?.image ?? PLAN_DEFAULTS.image,
    prometheusUrl: inputs.deployment?.prometheusUrl ?? PLAN_DEFAULTS.prometheusUrl,
    scrapeIntervalSeconds: inputs.deployment?.scrapeIntervalSeconds ?? PLAN_DEFAULTS.scrapeIntervalSeconds,
  };
  const chosen = chooseProfile(report, inputs.reportPath, inputs.bundle);
  const { profile } = chosen;
  // The Workers checks need no HTTP measurements (in-process WASM, memory plans, upload size); Node needs them.
  if (profile === undefined && target !== 'workers')
    throw new PlanError(
      'PLAN_NO_HTTP_PROFILE',
      `${inputs.reportPath} has no HTTP measurements to plan from (an http-capacity scenario, or http-closed ones ` +
        'at concurrency 1 and higher); run `shipshape bench --serve --scenario "http-**"` and plan from its report, ' +
        'or plan --target workers alone.',
    );
  const bundle = profile?.bundle ?? configuredBundle(report);
  const textsPerRequest = profile?.textsPerRequest ?? 1;
  const limit = p95Limit(inputs.sla.value, inputs.p95Ms);
  const extras = capacityExtras(report, chosen.selfCheck);
  const memory = memoryFor(report, chosen, {
    ...inputs,
    isolateBudgetBytes: inputs.workersPricing.plans.paid.isolateMemoryBytes,
  });

  const sustainable =
    profile === undefined ? undefined : sustainableRate(profile, { p95Ms: limit.p95Ms }, simulation);
  const node =
    target === 'workers' || profile === undefined || sustainable === undefined
      ? null
      : nodePlan({
          ...inputs,
          minReplicas,
          headroom,
          profile,
          limitMs: limit.p95Ms,
          sustainable,
          simulation,
          extras,
          memory,
        });
  const workers =
    target === 'node'
      ? null
      : workersPlan({
          report,
          bundle,
          textsPerRequest,
          peakRps: inputs.peakRps,
          isolate: memory.isolate,
          httpCpuMsPerRequest: httpCpu(report),
          pricing: inputs.workersPricing,
        });
  const plan: Plan = {
    schemaVersion: PLAN_SCHEMA_VERSION,
    tool: 'shipshape-plan',
    createdAt: (inputs.now ?? new Date()).toISOString(),
    inputs: {
      report: {
        path: inputs.reportPath,
        createdAt: report.createdAt,
        mode: report.mode,
        machine: report.machine.cpuModel,
        cores: report.machine.cores,
      },
      sla: { path: inputs.sla.path, p95Ms: limit.p95Ms, source: limit.source },
      peakRps: inputs.peakRps,
      headroom,
      target,
      bundle,
      textsPerRequest,
      batchSize: inputs.batchSize,
      seed,
      deployment,
    },
    profile:
      profile === undefined || sustainable === undefined
        ? null
        : {
            source: profile.source,
            servers: profile.servers,
            capacityRps: profile.capacityRps,
            serviceSamples: profile.serviceMs.length,
            serviceMeanMs: mean([...profile.serviceMs]),
            serviceP95Ms: percentileSorted(sortAscending(profile.serviceMs), 0.95),
            serviceScale: sustainable.serviceScale,
            maxQueueWaitMs: profile.maxQueueWaitMs ?? DEFAULT_MAX_QUEUE_WAIT_MS,
            simulatedRequests: requests,
            selfCheck: chosen.selfCheck,
            caution: chosen.caution,
          },
    node,
    workers,
    memory,
    files: [],
  };
  return parsePlan(plan, 'the plan being built');
}

function nodePlan(
  input: PlanInputs & {
    minReplicas: number;
    headroom: number;
    profile: ReportProfile;
    limitMs: number;
    sustainable: ReturnType<typeof sustainableRate>;
    simulation: { requests: number; seed: number };
    extras: ReturnType<typeof capacityExtras>;
    memory: ReturnType<typeof memoryNeeds>;
  },
): NodePlan {
  const { profile, sustainable, simulation, peakRps, headroom, minReplicas } = input;
  if (!sustainable.reachable) {
    throw new PlanError(
      'PLAN_SLA_UNREACHABLE',
      `no rate meets a p95 of ${input.limitMs} ms: one request alone takes ${sustainable.at.p95Ms.toFixed(1)} ms at ` +
        `p95 (the model at ${sustainable.at.ratePerSecond.toFixed(1)} requests/s, from ${profile.source}). ` +
        'Raise --p95-ms, or make the service faster (a smaller model, fewer texts per request).',
    );
  }
  const sustainableRps = sustainable.ratePerSecond;
  const plannedRps = sustainableRps * (1 - headroom);
  const needed = Math.max(minReplicas, Math.ceil(peakRps / plannedRps - 1e-9));
  const simulate = (rate: number): QueuePoint => simulateQueue(profile, rate, simulation);

  const cpu = nodeCpu(input.report, input.extras);
  if (cpu === null)
    throw new PlanError(
      'PLAN_NO_HTTP_PROFILE',
      `${input.reportPath} has no CPU time for the HTTP service; re-run the bench with --serve (it reads the service's CPU from /proc).`,
    );
  // Requests sized so that HPA's utilisation target (1 - headroom) is reached exactly at the planned rate.
  const cpuRequest = Math.max(10, roundUp((cpu.ms * sustainableRps) / 1000, 0.01) * 1000);
  // The capacity was measured with the report machine's cores available: a smaller limit would cut it.
  const cpuLimit = Math.max(cpuRequest, input.report.machine.cores * 1000);
  const memoryNeed = input.memory.replica;
  const memoryRequest = roundUp(memoryNeed?.minimumBytes ?? 256 * MIB, MIB);
  const memoryLimit = roundUp((memoryNeed?.minimumBytes ?? 256 * MIB) * MEMORY_BUFFER, MIB);
  const memorySource =
    memoryNeed === null
      ? 'no native memory plan for this bundle in the report: 256 MiB assumed; run the bench with its memory plan'
      : `${memoryNeed.source}; limit = x${MEMORY_BUFFER} (the seed's 50% buffer)`;

  const pricing = input.nodePricing;
  const perReplicaMonthly =
    ((cpuRequest / 1000) * pricing.usdPerVcpuHour + (memoryRequest / 1024 ** 3) * pricing.usdPerGibHour) *
    HOURS_PER_MONTH;
  const capped: { value: number; reason: string }[] = [];
  if (input.maxReplicas !== undefined) capped.push({ value: input.maxReplicas, reason: '--max-replicas' });
  if (input.maxMonthlyUsd !== undefined)
    capped.push({
      value: Math.floor(input.maxMonthlyUsd / perReplicaMonthly + 1e-9),
      reason: `--max-monthly-usd ${input.maxMonthlyUsd} at $${perReplicaMonthly.toFixed(2)} per replica-month`,
    });
  const cap = capped.sort((a, b) => a.value - b.value)[0];
  const maxReplicas = cap?.value ?? Math.max(needed, Math.ceil(needed * PLAN_DEFAULTS.maxReplicasFactor));
  const maxReason =
    cap?.reason ??
    `no cap given: ${PLAN_DEFAULTS.maxReplicasFactor}x the replicas at the peak, for traffic above it`;
  if (maxReplicas < needed) {
    throw new PlanError(
      'PLAN_OVER_BUDGET',
      `the peak of ${peakRps} requests/s needs ${needed} replicas (${plannedRps.toFixed(1)} requests/s each), ` +
        `but ${cap?.reason ?? 'the cap'} allows ${maxReplicas}` +
        (input.maxMonthlyUsd === undefined
          ? ''
          : `; ${needed} replicas cost $${(needed * perReplicaMonthly).toFixed(2)} a month`) +
        '. Raise the cap, lower --peak-rps, or accept less headroom (--headroom).',
    );
  }

  const naiveReplicas = Math.max(1, Math.ceil(peakRps / profile.capacityRps - 1e-9));
  const naiveRate = peakRps / naiveReplicas;
  const loadReplicas = [...new Set([Math.max(1, needed - 1), needed, needed + 1, needed + 2])];
  input.onProgress?.(`simulating p95 against load for ${loadReplicas.join(', ')} replicas`);
  // Far enough right that the plan's own replica count crosses the SLA line (at about needed x sustainable).
  const highest = Math.max(
    peakRps * 1.5,
    plannedRps * (needed + 2) * 1.1,
    sustainable.ratePerSecond * needed * 1.2,
  );
  const load = loadReplicas.flatMap((replicas) =>
    Array.from({ length: 24 }, (_, i) => {
      const totalRps = (highest * (i + 1)) / 24;
      const point = simulateQueue(profile, totalRps / replicas, { ...simulation, requests: 5000 });
      return { replicas, totalRps, p95Ms: point.p95Ms, shedFraction: point.shedFraction };
    }),
  );
  const kedaQuery =
    `sum(rate(shipshape_http_requests_total{namespace="${input.deployment?.namespace ?? PLAN_DEFAULTS.namespace}",` +
    `app="${input.deployment?.name ?? PLAN_DEFAULTS.name}",method="POST",route=~"${[...INFERENCE_ROUTES].join('|')}"}` +
    `[${rateWindow(input.deployment?.scrapeIntervalSeconds ?? PLAN_DEFAULTS.scrapeIntervalSeconds)}]))`;
  const utilisationPct = Math.round((1 - headroom) * 100);
  return {
    sustainableRps,
    atSustainable: sustainable.at,
    plannedRps,
    atPlanned: simulate(plannedRps),
    replicasAtPeak: needed,
    atPeak: simulate(peakRps / needed),
    oneLostAtPeak: needed > 1 ? simulate(peakRps / (needed - 1)) : null,
    minReplicas,
    maxReplicas,
    maxReplicasReason: maxReason,
    naive: { replicas: naiveReplicas, perReplicaRps: naiveRate, point: simulate(naiveRate) },
    resources: {
      workers: profile.servers,
      cpuPerRequestMs: cpu.ms,
      cpuSource: cpu.source,
      cpuRequestMillicores: Math.round(cpuRequest),
      cpuLimitMillicores: Math.round(cpuLimit),
      memoryRequestBytes: memoryRequest,
      memoryLimitBytes: memoryLimit,
      memorySource,
    },
    autoscaling: {
      hpaCpuUtilisationPct: Math.max(1, Math.min(100, utilisationPct)),
      kedaThresholdRps: Math.floor(plannedRps * 10) / 10,
      kedaQuery,
      scaleUpStabilisationSeconds: PLAN_DEFAULTS.scaleUpStabilisationSeconds,
      scaleDownStabilisationSeconds: PLAN_DEFAULTS.scaleDownStabilisationSeconds,
      scaleUp:
        `at once when the inference requests/s per replica pass ${plannedRps.toFixed(1)} (KEDA) or the CPU ` +
        `passes ${utilisationPct}% of its request (HPA), by up to 100% or 4 pods per 15 s, whichever is more`,
      scaleDown:
        `when the load would fit one replica fewer at ${plannedRps.toFixed(1)} requests/s each, held for ` +
        `${PLAN_DEFAULTS.scaleDownStabilisationSeconds} s, by at most 1 pod per 60 s, never below ${minReplicas}`,
    },
    cost: {
      perReplicaMonthlyUsd: perReplicaMonthly,
      atPeakMonthlyUsd: perReplicaMonthly * needed,
      atMinimumMonthlyUsd: perReplicaMonthly * minReplicas,
      atMaximumMonthlyUsd: perReplicaMonthly * maxReplicas,
      provider: pricing.provider,
      source: pricing.source,
      asOf: pricing.asOf,
    },
    curve: [...sustainable.curve],
    load,
  };
}
