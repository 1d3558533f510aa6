// The bench configuration (bench/bench.config.json): which scenarios run, for how long, and the quick-mode overrides.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { formatIssues } from './report.ts';
import { CodedError, messageOf, type CodedErrorOptions } from '../runtime/errors.ts';

const positiveInt = z.number().int().positive();
const nodeBackend = z.enum(['native', 'wasm']);
const browserBackend = z.enum(['webgpu', 'wasm']);

const statisticsSchema = z
  .object({
    /** Samples required at or above a percentile for it to count as measured (see `minSamplesFor`). Default 1. */
    minTailSamples: positiveInt.default(1),
    /** Latency samples kept per scenario in the report, for the gate's tests. Default 2000. */
    retainSamples: positiveInt.default(2000),
  })
  .strict();

const stabilitySchema = z
  .object({
    windows: positiveInt.default(3),
    tolerancePct: z.number().positive().default(10),
    maxTrials: positiveInt.default(10),
  })
  .strict();

const windowSchema = {
  /** Shortest measurement window in ms. */
  windowMs: positiveInt,
  /** Fewest samples per window, whatever its length. */
  minSamplesPerWindow: positiveInt,
};

const inProcessSchema = z
  .object({
    enabled: z.boolean().default(true),
    backends: z.array(nodeBackend).min(1).default(['native', 'wasm']),
    batchSizes: z.array(positiveInt).min(1).default([1, 2, 4, 8, 16, 32, 64]),
    windowMs: windowSchema.windowMs.default(1000),
    minSamplesPerWindow: windowSchema.minSamplesPerWindow.default(20),
    /** Least warmup per scenario; warmup continues until throughput stops rising (WASM tier-up), up to the max. */
    warmupMs: z.number().int().nonnegative().default(300),
    maxWarmupMs: z.number().int().nonnegative().default(10_000),
    numThreads: positiveInt.default(1),
  })
  .strict();

const coldStartSchema = z
  .object({
    enabled: z.boolean().default(true),
    backends: z.array(nodeBackend).min(1).default(['native', 'wasm']),
    trials: positiveInt.default(5),
  })
  .strict();

const openLoopSchema = z
  .object({
    /** Offered request rates (Poisson arrivals), one scenario each. */
    ratesPerSecond: z.array(z.number().positive()).default([20]),
    maxRequests: positiveInt.default(1000),
    maxDurationMs: positiveInt.default(20_000),
    seed: z.number().int().default(1),
  })
  .strict();

const overloadSchema = z
  .object({
    enabled: z.boolean().default(true),
    /**
     * The bundle `--serve` starts a service on for this scenario, relative to the config file (default the first of
     * `bundles`). One whose inference outweighs the HTTP work, so the admission queue, not the event loop, is
     * where requests wait. Ignored with `--url`.
     */
    bundle: z.string().optional(),
    textsPerRequest: positiveInt.default(32),
    /** Closed-loop clients while measuring capacity. */
    capacityConcurrency: positiveInt.default(4),
    capacityMs: positiveInt.default(5_000),
    /** Offered rate, as a multiple of the measured capacity. */
    factor: z.number().gt(1).default(2),
    durationMs: positiveInt.default(10_000),
    seed: z.number().int().default(1),
  })
  .strict();

const capacitySchema = z
  .object({
    enabled: z.boolean().default(true),
    /**
     * The bundle the plan is checked on, relative to the config file (default `http.overload.bundle`, else the first
     * of `bundles`). One whose work is inference in the workers, which is what the model's servers are: on news-bag
     * with 1 text per request a replica is bound by its event loop's HTTP work, and the load generator shares its
     * cores, so the M/G/c model with c = workers does not describe it. `--serve` starts a service on it (the
     * overload scenario's, when the bundle is the same). Ignored with `--url`.
     */
    bundle: z.string().optional(),
    /**
     * Texts per request (one session run per request up to the batch size). Default 32: a few tens of ms of
     * service on news-transformer, tens of requests/s, so the client's own work is light.
     */
    textsPerRequest: positiveInt.default(32),
    /** The p95 the plan is made for, ms. Default 100: the SLA's `http-open/*` maxP95Ms (the gate checks it is not looser). */
    p95Ms: z.number().positive().default(100),
    /**
     * Largest fraction of requests the model may shed at the sustainable rate. Default: the model's own
     * (`DEFAULT_MAX_SHED_FRACTION`, 0.1%), as `shipshape plan` uses. The measured points still allow no shed at all.
     */
    maxShedFraction: z.number().min(0).max(1).optional(),
    /** Fraction of the sustainable rate kept in reserve: planned = sustainable x (1 - headroom). Default 0.25. */
    headroom: z.number().min(0).lt(1).default(0.25),
    /** The clearly higher rate, as a multiple of the model's sustainable rate. Default 1.5. */
    aboveFactor: z.number().gt(1).default(1.5),
    /**
     * The clearly higher rate is also at least this multiple of the capacity measured just before it. Default 1.25.
     * Where the sustainable rate is far below capacity (news-transformer with 32 texts: about 65%), 1.5x of it lands at
     * capacity, where the model's own p95 is barely over the limit and noise decides; past capacity no queue keeps up,
     * so the SLA can hold there only if the replica is faster than measured.
     */
    aboveCapacityFactor: z.number().gt(1).default(1.25),
    /**
     * Least warm-up at full concurrency, ms; it goes on until throughput stops rising, up to `maxWarmupMs`. Default
     * 4000: a fresh service's throughput rose for 6-9 s here, and a noisy window can look like a plateau.
     */
    warmupMs: z.number().int().nonnegative().default(4_000),
    /** Most warm-up, ms. Default 10,000. */
    maxWarmupMs: z.number().int().nonnegative().default(10_000),
    /** Closed loop at concurrency 1 for the service-time samples, ms. Default 3000. */
    serviceMs: positiveInt.default(3_000),
    /** Closed loop at `capacityConcurrencyPerServer` x servers for the capacity, ms. Default 5000. */
    capacityMs: positiveInt.default(5_000),
    /** Closed-loop clients per worker while measuring capacity: enough to keep every worker busy. Default 4. */
    capacityConcurrencyPerServer: positiveInt.default(4),
    /**
     * Most connections the open loop keeps to the service (more requests wait in the client, their wait counted).
     * Default 64, as the soak's: a replica behind a proxy sees a bounded pool, not a connection per request in flight.
     */
    maxSockets: positiveInt.default(64),
    /**
     * Most cores other processes may use during an open-loop point (the machine's busy time less the service's and
     * the bench's) before the scenario is `unstable`. Default 0.5.
     */
    maxOtherCores: z.number().nonnegative().default(0.5),
    /** Open loop at the planned rate, ms. Default 10,000. */
    durationMs: positiveInt.default(10_000),
    /** Open loop at the higher rate, ms. Default 6000. */
    aboveDurationMs: positiveInt.default(6_000),
    /**
     * Worker threads of a service given by `--url` (a started service prints its own). Default: this machine's
     * cores, `shipshape serve`'s own default.
     */
    servers: positiveInt.optional(),
    /**
     * The admission gate's longest queue wait, ms; the bench starts its service with it (SHIPSHAPE_MAX_QUEUE_WAIT_MS)
     * and the model sheds past it. Default 100, the edge's default.
     */
    maxQueueWaitMs: positiveInt.default(100),
    /** Seed of the Poisson schedules and of the model's simulation. */
    seed: z.number().int().default(1),
  })
  .strict();

const httpSchema = z
  .object({
    enabled: z.boolean().default(true),
    concurrency: z.array(positiveInt).min(1).default([1, 2, 4, 8, 16]),
    textsPerRequest: positiveInt.default(1),
    windowMs: windowSchema.windowMs.default(2000),
    minSamplesPerWindow: windowSchema.minSamplesPerWindow.default(20),
    requestTimeoutMs: positiveInt.default(10_000),
    openLoop: openLoopSchema.prefault({}),
    /** Capacity closed-loop, then an open-loop overload at `factor` x capacity: admission control must shed. */
    overload: overloadSchema.prefault({}),
    /**
     * The capacity plan's self-check: profile the service, plan a per-replica rate with the queueing model, then
     * check the SLA holds open-loop at that rate and fails at a clearly higher one.
     */
    capacity: capacitySchema.prefault({}),
  })
  .strict();

const browserSchema = z
  .object({
    enabled: z.boolean().default(true),
    executablePath: z.string().default('/usr/bin/chromium'),
    backends: z.array(browserBackend).min(1).default(['webgpu', 'wasm']),
    batchSizes: z.array(positiveInt).min(1).default([1, 8, 32]),
    windowMs: windowSchema.windowMs.default(1000),
    minSamplesPerWindow: windowSchema.minSamplesPerWindow.default(20),
    /** Bundles to run in the browser (names of `bundles` entries' folders); default all. */
    bundles: z.array(z.string()).optional(),
    /** Most ms for one browser scenario before it is marked errored. */
    timeoutMs: positiveInt.default(120_000),
  })
  .strict();

const memorySchema = z
  .object({
    /** Budget for WASM backends' isolate memory: a Cloudflare Worker's 128 MiB. */
    budgetMiB: z.number().positive().default(128),
    /** Budget for the native backend's process RSS (a small container). */
    rssBudgetMiB: z.number().positive().default(512),
    tolerancePct: z.number().positive().default(25),
    maxBatchSizeCap: positiveInt.default(4096),
  })
  .strict();

const sections = {
  statistics: statisticsSchema,
  stability: stabilitySchema,
  inProcess: inProcessSchema,
  coldStart: coldStartSchema,
  http: httpSchema,
  browser: browserSchema,
  memory: memorySchema,
};

/**
 * Quick overrides are partial sections, merged over the full ones and then validated as full sections (a zod
 * `.partial()` of a section would fill every default and so override everything).
 */
const overrides = z.record(z.string(), z.unknown()).optional();
const quickSchema = z
  .object({
    statistics: overrides,
    stability: overrides,
    inProcess: overrides,
    coldStart: overrides,
    http: overrides,
    browser: overrides,
    memory: overrides,
  })
  .strict();

export const benchConfigSchema = z
  .object({
    $schema: z.string().optional(),
    /** Bundle folders, relative to the config file. */
    bundles: z.array(z.string()).min(1),
    statistics: sections.statistics.prefault({}),
    stability: sections.stability.prefault({}),
    inProcess: sections.inProcess.prefault({}),
    coldStart: sections.coldStart.prefault({}),
    http: sections.http.prefault({}),
    browser: sections.browser.prefault({}),
    memory: sections.memory.prefault({}),
    /**
     * Section overrides applied by `--quick` (per section, key by key; `http.openLoop`, `http.overload` and
     * `http.capacity` merged one level deeper).
     */
    quick: quickSchema.prefault({}),
  })
  .strict();

export type BenchConfig = z.infer<typeof benchConfigSchema>;
/** The configuration as run: quick overrides applied, bundle paths (`http.overload.bundle` and `http.capacity.bundle` too) absolute. */
export type EffectiveConfig = Omit<BenchConfig, 'quick' | '$schema'>;

/** A bench config that is missing or invalid (code `BENCH_CONFIG_INVALID`). */
export class ConfigError extends CodedError<'BENCH_CONFIG_INVALID'> {
  override readonly name = 'ConfigError';

  constructor(message: string, options?: CodedErrorOptions) {
    super('BENCH_CONFIG_INVALID', message, options);
  }
}

/** Validates parsed JSON as a bench config, its quick overrides included. @throws ConfigError naming the invalid fields. */
export function parseBenchConfig(value: unknown, source: string): BenchConfig {
  const result = benchConfigSchema.safeParse(value);
  if (!result.success)
    throw new ConfigError(`${source}: not a valid bench config:\n${formatIssues(result.error)}`);
  applyQuick(result.data, source);
  return result.data;
}

type SectionName = keyof typeof sections;

function applyQuick(config: BenchConfig, source: string): Pick<BenchConfig, SectionName> {
  const merged = {} as Record<SectionName, unknown>;
  for (const name of Object.keys(sections) as SectionName[]) {
    const base = config[name] as Record<string, unknown>;
    const override = config.quick[name] ?? {};
    let value: Record<string, unknown> = { ...base, ...override };
    if (name === 'http') {
      const {
        openLoop = {},
        overload = {},
        capacity = {},
      } = override as {
        openLoop?: Record<string, unknown>;
        overload?: Record<string, unknown>;
        capacity?: Record<string, unknown>;
      };
      value = {
        ...value,
        openLoop: { ...config.http.openLoop, ...openLoop },
        overload: { ...config.http.overload, ...overload },
        capacity: { ...config.http.capacity, ...capacity },
      };
    }
    const parsed = sections[name].safeParse(value);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ ...i, path: ['quick', name, ...i.path] }));
      throw new ConfigError(`${source}: not a valid bench config:\n${formatIssues(new z.ZodError(issues))}`);
    }
    merged[name] = parsed.data;
  }
  return merged as Pick<BenchConfig, SectionName>;
}

/** Applies the quick overrides (when asked) and resolves bundle paths against `baseDir`. */
export function effectiveConfig(
  config: BenchConfig,
  options: { quick: boolean; baseDir: string },
): EffectiveConfig {
  const sectionsAsRun = options.quick
    ? applyQuick(config, 'config')
    : {
        statistics: config.statistics,
        stability: config.stability,
        inProcess: config.inProcess,
        coldStart: config.coldStart,
        http: config.http,
        browser: config.browser,
        memory: config.memory,
      };
  const { overload, capacity } = sectionsAsRun.http;
  const http = {
    ...sectionsAsRun.http,
    overload:
      overload.bundle === undefined
        ? overload
        : { ...overload, bundle: resolve(options.baseDir, overload.bundle) },
    capacity:
      capacity.bundle === undefined
        ? capacity
        : { ...capacity, bundle: resolve(options.baseDir, capacity.bundle) },
  };
  return { bundles: config.bundles.map((b) => resolve(options.baseDir, b)), ...sectionsAsRun, http };
}

/** Reads, validates and resolves a config file. @throws ConfigError */
export async function loadBenchConfig(path: string, options: { quick: boolean }): Promise<EffectiveConfig> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${path}: cannot read the bench config as JSON (${messageOf(error)}).`, {
      cause: error,
    });
  }
  return effectiveConfig(parseBenchConfig(json, path), {
    quick: options.quick,
    baseDir: dirname(resolve(path)),
  });
}
