// The benchmark report: its schema (versioned, validated with zod whenever read) and reading and writing it.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { CodedError, messageOf, type CodedErrorOptions } from '../runtime/errors.ts';

/** Bump on any change that an older reader would misread; `readReport` refuses other versions. */
export const REPORT_SCHEMA_VERSION = 1;

const nonNegative = z.number().nonnegative();
const count = z.number().int().nonnegative();
const backendName = z.enum(['native', 'webgpu', 'wasm']);

export const backendReportSchema = z
  .object({
    backend: backendName,
    skipped: z.array(z.object({ backend: backendName, reason: z.string() }).strict()),
    fallbackReason: z.string().optional(),
  })
  .strict();

const percentileValueSchema = z
  .object({
    ms: nonNegative,
    status: z.enum(['ok', 'insufficient-samples']),
    minSamples: z.number().int().positive(),
  })
  .strict();

export const latencySchema = z
  .object({
    unit: z.literal('ms'),
    count,
    mean: nonNegative,
    min: nonNegative,
    max: nonNegative,
    percentiles: z
      .object({
        p50: percentileValueSchema,
        p90: percentileValueSchema,
        p95: percentileValueSchema,
        p99: percentileValueSchema,
      })
      .strict(),
    samples: z.array(nonNegative),
  })
  .strict();

const throughputSchema = z.object({ itemsPerSecond: nonNegative, requestsPerSecond: nonNegative }).strict();

const windowSummarySchema = z
  .object({
    samples: count,
    durationMs: nonNegative,
    p95Ms: z.number(),
    requestsPerSecond: nonNegative,
    itemsPerSecond: nonNegative,
  })
  .strict();

const stabilitySchema = z
  .object({
    stable: z.boolean(),
    trials: count,
    windowsRequired: count,
    tolerancePct: nonNegative,
    maxTrials: count,
    windows: z.array(windowSummarySchema),
  })
  .strict();

const bytes = nonNegative.nullable();

export const memorySchema = z
  .object({
    /** The process's resident-set high-water mark (Node), or null where it cannot be read (browser). */
    peakRssBytes: bytes,
    /** Peak JS heap in use. */
    jsHeapBytes: bytes,
    /** Peak ArrayBuffer memory outside the WASM heap (model bytes, tensors). */
    arrayBuffersBytes: bytes,
    /** WASM linear memory at the end (it only grows), or null when no WASM ran. */
    wasmHeapBytes: bytes,
    /** What counts against a Worker's 128 MiB: JS heap + ArrayBuffers + WASM heap (browser: the UA's measure). */
    isolateBytes: bytes,
    source: z.string(),
  })
  .strict();

const coldStartSchema = z
  .object({
    trials: count,
    /** From before `loadBundle` to the first prediction's result, in the fresh process; per trial. */
    timeToFirstPredictionMs: z.array(nonNegative),
    /** Median over trials of each phase. */
    phasesMs: z
      .object({
        importRuntime: nonNegative,
        loadBundle: nonNegative,
        createPredictor: nonNegative,
        firstPrediction: nonNegative,
        processTotal: nonNegative,
      })
      .strict(),
    p50Ms: nonNegative,
    maxMs: nonNegative,
  })
  .strict();

/**
 * CPU time of the process doing the work (the bench child, or the service under HTTP load): unlike wall-clock
 * time it barely moves when other processes compete for the cores, so it tells a slower machine from slower code.
 */
const cpuSchema = z
  .object({
    /** CPU ms per request (a batch, an HTTP request, or one cold start from loadBundle to the first result). */
    perRequestMs: nonNegative,
    /** CPU ms / wall ms over the measurement: about 1 for one busy thread alone on a core, less under contention. */
    utilization: nonNegative,
    source: z.string(),
  })
  .strict();

const httpSchema = z
  .object({
    requests: count,
    errors: count,
    /** Up to five distinct error messages, for diagnosis. */
    errorSamples: z.array(z.string()),
    /** Open loop only: the offered rate and what was achieved. */
    offeredRatePerSecond: nonNegative.optional(),
    achievedRatePerSecond: nonNegative.optional(),
    /** Open loop only: requests not sent because the time bound ran out. */
    unsent: count.optional(),
    /** Overload only: requests shed with 503 OVERLOADED (not counted in `errors`). */
    shed: count.optional(),
    /** Overload only: successful requests per second measured closed-loop before the overload. */
    capacityRatePerSecond: nonNegative.optional(),
  })
  .strict();

/** One open-loop Poisson point of the capacity self-check: what was measured at a rate, and what the model said. */
export const capacityPointSchema = z
  .object({
    offeredRatePerSecond: nonNegative,
    /** Successful requests per second over the sending span. */
    achievedRatePerSecond: nonNegative,
    /** Requests sent. */
    requests: count,
    /** Failures other than 503 OVERLOADED. */
    errors: count,
    /** Requests refused with 503 OVERLOADED (admission control's queue bound or wait limit). */
    shed: count,
    /** Of the schedule, requests not sent because the time bound ran out (the client fell behind). */
    unsent: count,
    /** Latency of the successful requests from their scheduled send time, ms; null when none succeeded. */
    p50Ms: nonNegative.nullable(),
    p95Ms: nonNegative.nullable(),
    p99Ms: nonNegative.nullable(),
    /** Whether p95 had the samples the sample-count rule asks for. */
    p95Status: z.enum(['ok', 'insufficient-samples']),
    /** The 95th percentile of how late the client sent a request after its scheduled time, ms (its own CPU share). */
    clientLagP95Ms: nonNegative,
    /**
     * Cores other processes used meanwhile: the machine's busy time (/proc/stat) less the service's and the bench's
     * own, over the point's span; null where it cannot be read. Above `http.capacity.maxOtherCores` the scenario is
     * `unstable`.
     */
    otherCores: nonNegative.nullable().optional(),
    /** The service's CPU ms per request sent (its process, /proc), or null when not readable (a service by --url). */
    cpuPerRequestMs: nonNegative.nullable(),
    /** CPU ms this bench (the load generator) spent per request sent. */
    clientCpuPerRequestMs: nonNegative.optional(),
    /** The queueing model's p95 and shed fraction at the offered rate. */
    predictedP95Ms: nonNegative,
    predictedShedFraction: z.number().min(0).max(1),
    /** p95 within the limit and nothing failed or shed: the SLA's `maxErrorPct: 0`. */
    meetsSla: z.boolean(),
  })
  .strict();

/**
 * The capacity plan's self-check (`http-capacity/<bundle>`): the service profile measured, the queueing model's
 * sustainable rate within the p95 limit, and two open-loop points: at the planned per-replica rate the SLA must hold,
 * at a clearly higher one it must not. `warmup`, `otherCores` and `clientCpuPerRequestMs` came later and are optional, so
 * reports from before them still parse. The field names of `profile` are those of `ServiceProfile`
 * (bench/capacity/model.ts), so a plan can be made from it as it stands.
 */
export const capacitySchema = z
  .object({
    bundle: z.string(),
    textsPerRequest: z.number().int().positive(),
    profile: z
      .object({
        /** Closed-loop concurrency-1 latencies, ms (at most `statistics.retainSamples`, evenly spaced order statistics). */
        serviceMs: z.array(nonNegative).min(1),
        /** The service's worker threads (its `--workers`; 1 when the model runs on the event loop). */
        servers: z.number().int().positive(),
        /** Successful requests per second, closed loop at `capacityConcurrency`. */
        capacityRps: z.number().positive(),
        /** The admission gate's longest queue wait, ms. */
        maxQueueWaitMs: z.number().positive(),
        capacityConcurrency: z.number().int().positive(),
        /**
         * CPU ms this bench (the load generator) spent per request while measuring the capacity. On a machine it
         * shares with the service, the open loop's own (`planned.clientCpuPerRequestMs`) is CPU the replica lacks.
         */
        clientCpuPerRequestMs: nonNegative.optional(),
        /** Where `servers` and `maxQueueWaitMs` came from (the started service's banner, or the config for --url). */
        source: z.string(),
      })
      .strict(),
    p95LimitMs: z.number().positive(),
    maxShedFraction: z.number().min(0).max(1),
    /** Fraction of the sustainable rate kept in reserve: planned = sustainable x (1 - headroom). */
    headroom: z.number().min(0).lt(1),
    /** The higher point's rate, as a multiple of the sustainable rate (at least). */
    aboveFactor: z.number().gt(1),
    /** The higher point's rate is also at least this multiple of the capacity measured before it (older reports: unset). */
    aboveCapacityFactor: z.number().gt(1).optional(),
    model: z
      .object({
        /** The largest rate whose simulated p95 and shed fraction are within the limits. */
        sustainableRatePerSecond: nonNegative,
        /** The factor applied to the measured service times so that servers / mean = capacityRps. */
        serviceScale: z.number().positive(),
        /** The model's p95 (and shed fraction) against the offered rate, for the chart. */
        curve: z.array(
          z
            .object({
              ratePerSecond: nonNegative,
              p95Ms: nonNegative,
              shedFraction: z.number().min(0).max(1),
            })
            .strict(),
        ),
      })
      .strict(),
    plannedRatePerSecond: nonNegative,
    aboveRatePerSecond: nonNegative,
    planned: capacityPointSchema,
    above: capacityPointSchema,
    /**
     * Successful requests per second, closed loop as for `profile.capacityRps`, measured again right after the planned
     * point: when the two differ by more than the stability tolerance the machine changed under the check, and the
     * scenario is `unstable`.
     */
    capacityAfterRps: nonNegative,
    /** The warm-up at full concurrency before the measurements: how long, and whether throughput stopped rising. */
    warmup: z.object({ durationMs: nonNegative, plateaued: z.boolean() }).strict().optional(),
    /** The service process's resident-set high-water mark, or null when not readable (a service by --url). */
    peakRssBytes: nonNegative.nullable(),
    verdict: z.enum(['pass', 'fail']),
    /** One sentence: what held, or which side of the plan the measurement contradicts and by how much. */
    detail: z.string(),
  })
  .strict();

export const scenarioKinds = [
  'in-process',
  'cold-start',
  'http-closed',
  'http-open',
  'http-overload',
  'http-capacity',
  'browser',
] as const;
export type ScenarioKind = (typeof scenarioKinds)[number];
export const scenarioStatuses = ['ok', 'unstable', 'insufficient-samples', 'skipped', 'errored'] as const;
export type ScenarioStatus = (typeof scenarioStatuses)[number];

/** What every scenario has, whatever its kind and status. */
const scenarioBase = {
  /** Stable id, used by the SLA and to match the baseline: e.g. `in-process/news-bag/native/b8`. */
  id: z.string().min(1),
  status: z.enum(scenarioStatuses),
  /** Why it is skipped, errored, unstable or short of samples. */
  reason: z.string().optional(),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  durationMs: nonNegative,
};

/**
 * The measurements of each kind. All are optional because a `skipped` or `errored` scenario has none of them; a kind
 * never carries another kind's (a `capacity` on an `http-closed` scenario does not parse).
 */
const measured = {
  /** The backend that actually ran (`predictor.backend`). */
  backend: backendReportSchema.optional(),
  latency: latencySchema.optional(),
  throughput: throughputSchema.optional(),
  stability: stabilitySchema.optional(),
  memory: memorySchema.optional(),
  coldStart: coldStartSchema.optional(),
  http: httpSchema.optional(),
  cpu: cpuSchema.optional(),
  /** Capacity self-check only: the plan and both measured points (see `capacitySchema`). */
  capacity: capacitySchema.optional(),
};
const { backend, latency, throughput, stability, memory, coldStart, http, cpu, capacity } = measured;

/** A measurement this kind never makes: absent, so reading it on any scenario gives `undefined`. */
const absent = z.undefined().optional();
const noMeasurements = Object.fromEntries(Object.keys(measured).map((key) => [key, absent])) as {
  [Key in keyof typeof measured]: typeof absent;
};

/**
 * The schema of one kind: the common fields, `kind` as its literal, the measurements it makes; every other
 * measurement is `absent`, so code that reads one field across kinds (`s.latency?.percentiles`) needs no narrowing,
 * while code that needs a kind's own measurement narrows on `kind` and gets it typed.
 */
const variant = <K extends ScenarioKind, M extends Partial<typeof measured>>(kind: K, fields: M) =>
  z
    .object({ ...scenarioBase, kind: z.literal(kind), ...noMeasurements })
    .extend(fields)
    .strict();

/** One scenario of a report: a union on `kind`, each kind with the measurements it makes. */
export const scenarioSchema = z.discriminatedUnion('kind', [
  variant('in-process', { backend, latency, throughput, stability, memory, cpu }),
  variant('cold-start', { backend, memory, coldStart, cpu }),
  variant('http-closed', { latency, throughput, stability, http, cpu }),
  variant('http-open', { latency, throughput, stability, http, cpu }),
  variant('http-overload', { latency, throughput, stability, http, cpu }),
  variant('http-capacity', { latency, throughput, stability, http, cpu, capacity }),
  variant('browser', { backend, latency, throughput, stability, memory, cpu }),
]);

export const memoryPlanSchema = z
  .object({
    bundle: z.string(),
    backend: backendName,
    /** `rss` for native (process memory), `isolate` for WASM/WebGPU (what a Worker's limit counts). */
    metric: z.enum(['rss', 'isolate']),
    weightsBytes: nonNegative,
    budgetBytes: nonNegative,
    tolerancePct: nonNegative,
    /** planned(b) = overheadBytes + weightsBytes + bytesPerItem * b, fitted on the calibration batch sizes. */
    overheadBytes: z.number(),
    bytesPerItem: z.number(),
    calibrationBatchSizes: z.array(z.number().int().positive()),
    points: z.array(
      z
        .object({
          batchSize: z.number().int().positive(),
          measuredBytes: nonNegative,
          plannedBytes: z.number(),
          errorPct: z.number(),
          role: z.enum(['calibration', 'check', 'reference']),
        })
        .strict(),
    ),
    /** Largest batch whose planned peak fits the budget; null when none does. */
    maxBatchSizeWithinBudget: z.number().int().nonnegative().nullable(),
    verdict: z.enum(['pass', 'fail', 'insufficient-data']),
    detail: z.string(),
  })
  .strict();

export const uploadSizeSchema = z
  .object({ gzipBytes: nonNegative, bytes: nonNegative.nullable(), source: z.string() })
  .strict();

export const reportSchema = z
  .object({
    schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
    tool: z.literal('shipshape-bench'),
    createdAt: z.iso.datetime(),
    mode: z.enum(['quick', 'full']),
    durationMs: nonNegative,
    versions: z
      .object({
        node: z.string(),
        shipshape: z.string(),
        onnxruntimeNode: z.string().nullable(),
        onnxruntimeWeb: z.string().nullable(),
        chromium: z.string().nullable(),
      })
      .strict(),
    machine: z
      .object({
        cpuModel: z.string(),
        cores: z.number().int().positive(),
        memoryBytes: nonNegative,
        platform: z.string(),
        arch: z.string(),
        loadAverage: z.array(z.number()),
      })
      .strict(),
    /** The effective configuration (quick overrides applied), as run. */
    config: z.unknown(),
    scenarios: z.array(scenarioSchema),
    memoryPlans: z.array(memoryPlanSchema),
    uploadSize: uploadSizeSchema.nullable(),
  })
  .strict();

export type Report = z.infer<typeof reportSchema>;
export type Scenario = z.infer<typeof scenarioSchema>;
/** The scenario of one kind: `ScenarioOf<'cold-start'>` has `coldStart`, no `http`. */
export type ScenarioOf<K extends ScenarioKind> = Extract<Scenario, { kind: K }>;
export type MemoryPlan = z.infer<typeof memoryPlanSchema>;
export type MemoryMeasurement = z.infer<typeof memorySchema>;
export type UploadSize = z.infer<typeof uploadSizeSchema>;
export type CapacityCheck = z.infer<typeof capacitySchema>;
export type CapacityPoint = z.infer<typeof capacityPointSchema>;

/**
 * The scenario that failed to measure: its error's message as the reason (a string `error` is the reason itself),
 * its time so far (0 when `started`, a `performance.now()` reading, is not given). Every runner builds its errored
 * scenarios here.
 */
export function erroredScenario(
  id: string,
  kind: Scenario['kind'],
  params: Scenario['params'],
  error: unknown,
  started?: number,
): Scenario {
  return {
    id,
    kind,
    status: 'errored',
    reason: error instanceof Error ? error.message : String(error),
    params,
    durationMs: started === undefined ? 0 : performance.now() - started,
  };
}

/** The scenario that was not run, and why (no runner, no server, no WebGPU adapter...). */
export function skippedScenario(
  id: string,
  kind: Scenario['kind'],
  reason: string,
  params: Scenario['params'] = {},
): Scenario {
  return { id, kind, status: 'skipped', reason, params, durationMs: 0 };
}

/** A report file that is missing, not JSON, of another schema version or malformed. */
export class ReportError extends CodedError<'REPORT_INVALID'> {
  override readonly name = 'ReportError';

  constructor(message: string, options?: CodedErrorOptions) {
    super('REPORT_INVALID', message, options);
  }
}

/** Formats zod issues as `path: message` lines. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 8)
    .map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('\n');
}

/**
 * Validates parsed JSON as a report.
 * @throws ReportError naming the source, the schema version found, or the first invalid fields.
 */
export function parseReport(value: unknown, source: string): Report {
  const version = (value as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== REPORT_SCHEMA_VERSION) {
    throw new ReportError(
      `${source}: report schemaVersion ${JSON.stringify(version)} is not ${REPORT_SCHEMA_VERSION}; ` +
        're-run `shipshape bench` with this version to produce a comparable report.',
    );
  }
  const result = reportSchema.safeParse(value);
  if (!result.success)
    throw new ReportError(`${source}: not a valid bench report:\n${formatIssues(result.error)}`);
  return result.data;
}

/** Reads and validates a report file. @throws ReportError */
export async function readReport(path: string): Promise<Report> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ReportError(`${path}: cannot read the report (${messageOf(error)}).`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ReportError(`${path}: not JSON (${messageOf(error)}).`, { cause: error });
  }
  return parseReport(json, path);
}

/**
 * Validates and writes a report as pretty JSON, creating the folder. An invalid report (a harness bug) is still
 * written, to `PATH.invalid.json`, so that a long run is not lost.
 * @throws ReportError when it is invalid.
 */
export async function writeReport(path: string, report: Report): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  let checked: Report;
  try {
    checked = parseReport(report, 'the report being written');
  } catch (error) {
    const aside = path.replace(/\.json$/i, '') + '.invalid.json';
    await writeFile(aside, `${JSON.stringify(report, null, 2)}\n`);
    throw new ReportError(`${messageOf(error)}\n(the invalid report is in ${aside})`, {
      cause: error,
    });
  }
  await writeFile(path, `${JSON.stringify(checked, null, 2)}\n`);
}
