// In-process and cold-start scenarios: each measurement runs in a fresh Node child, so memory and startup are its own.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median } from 'simple-statistics';
import { erroredScenario, scenarioSchema, type Scenario } from '../report.ts';
import type { ChildMessage, ColdStartJob, ColdStartTrial, InProcessJob, NodeBackend } from './node-job.ts';

const CHILD = fileURLToPath(new URL('./node-child.ts', import.meta.url));

/**
 * V8 flags for steady-state measurements: WASM compiled by the optimising tier from the first call. By default V8
 * starts WASM on its baseline compiler and tiers hot functions up in the background, which took about 5 s for the
 * transformer on 2 loaded cores and left throughput climbing through the measurement. A long-running server runs
 * the optimised code, so that is what in-process scenarios measure; cold starts keep the default flags.
 */
export const STEADY_STATE_FLAGS: readonly string[] = ['--no-liftoff'];

/** tsx's ESM loader, so that the child runs TypeScript like `bin/shipshape.js` does. */
function tsxLoaderUrl(): string {
  const require = createRequire(import.meta.url);
  return pathToFileURL(join(dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs')).href;
}

interface ChildOutcome<T> {
  readonly result: T;
  /** Wall-clock ms from spawning the process to its answer. */
  readonly processMs: number;
}

/**
 * Runs one job in a fresh `node` child and returns its answer.
 * @throws Error with the child's own error message, or its stderr tail when it died without one.
 */
export function runNodeChild<T extends ChildMessage>(
  job: InProcessJob | ColdStartJob,
  accept: T['type'],
  options: { timeoutMs: number; onProgress?: (detail: string) => void },
): Promise<ChildOutcome<T>> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [JSON.stringify(job)], {
      execArgv: [...(job.kind === 'in-process' ? STEADY_STATE_FLAGS : []), '--import', tsxLoaderUrl()],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
    });
    let stderr = '';
    let answer: ChildOutcome<T> | undefined;
    let failure: string | undefined;
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    const timer = setTimeout(() => {
      failure = `timed out after ${options.timeoutMs} ms`;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('message', (raw) => {
      const message = raw as ChildMessage;
      if (message.type === 'progress') options.onProgress?.(message.detail);
      else if (message.type === 'error') failure = message.message;
      else if (message.type === accept)
        answer = { result: message as T, processMs: performance.now() - started };
    });
    child.on('error', (error) => {
      failure ??= error.message;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (answer && !failure) resolve(answer);
      else {
        const tail = stderr.trim().split('\n').slice(-5).join(' | ');
        reject(
          new Error(
            failure ??
              `child exited with ${signal ?? `code ${String(code)}`} and no result${tail ? `: ${tail}` : ''}`,
          ),
        );
      }
    });
  });
}

/** Measures one bundle/backend/batch size in a fresh child; an error becomes an `errored` scenario. */
export async function runInProcessScenario(
  job: InProcessJob,
  options: { timeoutMs: number; onProgress?: (detail: string) => void },
): Promise<Scenario> {
  const started = performance.now();
  try {
    const { result } = await runNodeChild<Extract<ChildMessage, { type: 'in-process-result' }>>(
      job,
      'in-process-result',
      options,
    );
    return scenarioSchema.parse(result.scenario);
  } catch (error) {
    const params = {
      bundle: bundleName(job.bundleDir),
      backendRequested: job.backend,
      batchSize: job.batchSize,
    };
    return erroredScenario(job.id, 'in-process', params, error, started);
  }
}

export interface ColdStartOptions {
  readonly id: string;
  readonly bundleDir: string;
  readonly backend: NodeBackend;
  readonly trials: number;
  readonly numThreads: number;
  readonly timeoutMs: number;
  readonly onProgress?: (detail: string) => void;
}

/**
 * Time to first prediction: `trials` fresh processes, each timed from before `loadBundle` to the first result
 * (bundle verification, WASM instantiation and session creation included; the runtime's module import is
 * reported apart because tsx compiles it on the fly here, which a built package would not).
 */
export async function runColdStartScenario(options: ColdStartOptions): Promise<Scenario> {
  const started = performance.now();
  const params = {
    bundle: bundleName(options.bundleDir),
    backendRequested: options.backend,
    trials: options.trials,
  };
  const trials: (ColdStartTrial & { processMs: number })[] = [];
  try {
    for (let i = 0; i < options.trials; i++) {
      options.onProgress?.(`trial ${i + 1}/${options.trials}`);
      const job: ColdStartJob = {
        kind: 'cold-start',
        id: options.id,
        bundleDir: options.bundleDir,
        backend: options.backend,
        numThreads: options.numThreads,
      };
      const { result, processMs } = await runNodeChild<Extract<ChildMessage, { type: 'cold-start-result' }>>(
        job,
        'cold-start-result',
        { timeoutMs: options.timeoutMs },
      );
      trials.push({ ...result.trial, processMs });
    }
  } catch (error) {
    return erroredScenario(options.id, 'cold-start', params, error, started);
  }
  const ttfp = trials.map((t) => t.loadBundleMs + t.createPredictorMs + t.firstPredictionMs);
  const med = (pick: (t: (typeof trials)[number]) => number): number => median(trials.map(pick));
  const last = trials[trials.length - 1] as (typeof trials)[number];
  const peak = (pick: (m: ColdStartTrial['memory']) => number | null): number | null => {
    const values = trials.map((t) => pick(t.memory)).filter((v): v is number => v !== null);
    return values.length > 0 ? Math.max(...values) : null;
  };
  return scenarioSchema.parse({
    id: options.id,
    kind: 'cold-start',
    status: 'ok',
    params: { ...params, modelBytes: last.modelBytes },
    backend: last.backend,
    coldStart: {
      trials: trials.length,
      timeToFirstPredictionMs: ttfp,
      phasesMs: {
        importRuntime: med((t) => t.importRuntimeMs),
        loadBundle: med((t) => t.loadBundleMs),
        createPredictor: med((t) => t.createPredictorMs),
        firstPrediction: med((t) => t.firstPredictionMs),
        processTotal: med((t) => t.processMs),
      },
      p50Ms: median(ttfp),
      maxMs: Math.max(...ttfp),
    },
    memory: {
      peakRssBytes: peak((m) => m.peakRssBytes),
      jsHeapBytes: peak((m) => m.jsHeapBytes),
      arrayBuffersBytes: peak((m) => m.arrayBuffersBytes),
      wasmHeapBytes: peak((m) => m.wasmHeapBytes),
      isolateBytes: peak((m) => m.isolateBytes),
      source: `largest over ${trials.length} trials; ${last.memory.source}`,
    },
    cpu: {
      perRequestMs: med((t) => t.cpuMs),
      utilization: median(
        trials.map((t) => t.cpuMs / (t.loadBundleMs + t.createPredictorMs + t.firstPredictionMs)),
      ),
      source: 'process.cpuUsage() of each trial from loadBundle to the first result; median over trials',
    },
    durationMs: performance.now() - started,
  });
}

/** The bundle's name: its folder's last segment. */
export function bundleName(bundleDir: string): string {
  return (
    bundleDir
      .replace(/[/\\]+$/, '')
      .split(/[/\\]/)
      .pop() ?? bundleDir
  );
}
