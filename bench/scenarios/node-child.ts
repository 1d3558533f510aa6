// A fresh Node process that runs one bench job against the real runtime and reports over IPC (see node-job.ts).
import { performance } from 'node:perf_hooks';
import { Bench } from 'tinybench';
import type { BackendReport } from '../../runtime/types.ts';
import type { MemoryMeasurement, Scenario } from '../report.ts';
import {
  measureUntilStable,
  cpuUse,
  summarizeStableRun,
  warmUntilPlateau,
  type MeasurementWindow,
} from '../stats.ts';
import { makeBatches, readBenchTexts } from '../texts.ts';
import type { ChildMessage, ColdStartJob, InProcessJob, NodeJob } from './node-job.ts';

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) {
      process.stdout.write(`${JSON.stringify(message)}\n`);
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

/** Peak JS heap and ArrayBuffer memory, sampled every 20 ms and on demand (WASM runs block the timer). */
function createMemorySampler(): {
  sample(): void;
  stop(): { jsHeapBytes: number; arrayBuffersBytes: number };
} {
  let jsHeapBytes = 0;
  let arrayBuffersBytes = 0;
  const sample = (): void => {
    const usage = process.memoryUsage();
    jsHeapBytes = Math.max(jsHeapBytes, usage.heapUsed);
    arrayBuffersBytes = Math.max(arrayBuffersBytes, usage.arrayBuffers);
  };
  sample();
  const timer = setInterval(sample, 20);
  timer.unref();
  return {
    sample,
    stop() {
      clearInterval(timer);
      sample();
      return { jsHeapBytes, arrayBuffersBytes };
    },
  };
}

function memoryOf(
  backend: string,
  peaks: { jsHeapBytes: number; arrayBuffersBytes: number },
  wasmHeapBytes: number | undefined,
): MemoryMeasurement {
  const wasm = wasmHeapBytes ?? null;
  return {
    // maxRSS is the kernel's high-water mark for this process, in KiB.
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    jsHeapBytes: peaks.jsHeapBytes,
    arrayBuffersBytes: peaks.arrayBuffersBytes,
    wasmHeapBytes: wasm,
    // Native memory lives outside the isolate, so only WASM backends have an isolate figure worth comparing.
    isolateBytes: backend === 'wasm' ? peaks.jsHeapBytes + peaks.arrayBuffersBytes + (wasm ?? 0) : null,
    source: 'node child process: process.resourceUsage().maxRSS, sampled memoryUsage(), predictor.memory()',
  };
}

/** A plain copy of `predictor.backend` (the runtime hands out readonly arrays). */
function backendReport(report: BackendReport): NonNullable<Scenario['backend']> {
  return {
    backend: report.backend,
    skipped: report.skipped.map((s) => ({ ...s })),
    ...(report.fallbackReason === undefined ? {} : { fallbackReason: report.fallbackReason }),
  };
}

async function runInProcess(job: InProcessJob): Promise<void> {
  const started = performance.now();
  const sampler = createMemorySampler();
  const { loadBundle, createPredictor } = await import('../../runtime/node.ts');
  const bundle = await loadBundle(job.bundleDir);
  const predictor = await createPredictor(bundle, {
    backend: job.backend,
    batching: false,
    numThreads: job.numThreads,
  });
  try {
    const texts = await readBenchTexts(job.bundleDir);
    const batches = makeBatches(texts, job.batchSize, 16);
    let next = 0;
    const runOnce = async (): Promise<void> => {
      const batch = batches[next++ % batches.length] as string[];
      const items = await predictor.predictBatch(batch, { batchSize: job.batchSize });
      const failed = items.find((item) => item.status !== 'ok');
      if (failed && failed.status === 'error')
        throw new Error(`predictBatch item failed: ${failed.error.code}: ${failed.error.message}`);
    };
    const measureWindow = async (windowMs = job.windowMs): Promise<MeasurementWindow> => {
      const bench = new Bench({
        time: windowMs,
        iterations: job.minSamplesPerWindow,
        warmup: false,
        retainSamples: true,
        throws: true,
      });
      bench.add('predictBatch', runOnce);
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      await bench.run();
      const durationMs = performance.now() - start;
      const cpu = process.cpuUsage(cpuStart);
      sampler.sample();
      const result = bench.tasks[0]?.result;
      if (result?.state !== 'completed')
        throw new Error(`tinybench window ended in state ${result?.state ?? 'none'}`);
      const samples = [...(result.latency.samples ?? [])];
      return {
        samples,
        items: samples.length * job.batchSize,
        durationMs,
        cpuMs: (cpu.user + cpu.system) / 1000,
      };
    };
    const warmup = await warmUntilPlateau(() => measureWindow(Math.min(100, job.windowMs)), {
      minMs: job.warmupMs,
      maxMs: job.maxWarmupMs,
    });
    void send({ type: 'progress', detail: `warmed up in ${(warmup.durationMs / 1000).toFixed(1)} s` });
    const stability = await measureUntilStable(
      () => measureWindow(),
      job.stability,
      (w, trial) => {
        void send({
          type: 'progress',
          detail: `window ${trial}: p95 ${w.p95Ms.toFixed(3)} ms, ${w.itemsPerSecond.toFixed(0)} items/s`,
        });
      },
    );
    const { accepted } = stability;
    const run = summarizeStableRun(stability, job);
    const memory = memoryOf(predictor.backend.backend, sampler.stop(), predictor.memory().wasmHeapBytes);
    await send({
      type: 'in-process-result',
      scenario: {
        id: job.id,
        kind: 'in-process',
        status: run.status,
        ...(run.reasons.length > 0 ? { reason: run.reasons.join('; ') } : {}),
        params: {
          bundle: bundle.manifest.name,
          backendRequested: job.backend,
          batchSize: job.batchSize,
          numThreads: job.numThreads,
          modelBytes: bundle.modelBytes.byteLength,
          warmupMs: Math.round(warmup.durationMs),
          warmupPlateaued: warmup.plateaued,
        },
        backend: backendReport(predictor.backend),
        latency: run.latency,
        throughput: run.throughput,
        stability: run.stability,
        memory,
        ...cpuUse(
          accepted.cpuMs,
          accepted.samples.length,
          accepted.durationMs,
          'process.cpuUsage() of the bench child (user + system, all threads) over the accepted windows',
        ),
        durationMs: performance.now() - started,
      },
    });
  } finally {
    await predictor.dispose();
  }
}

async function runColdStart(job: ColdStartJob): Promise<void> {
  const sampler = createMemorySampler();
  const t0 = performance.now();
  const { loadBundle, createPredictor } = await import('../../runtime/node.ts');
  const t1 = performance.now();
  const cpuStart = process.cpuUsage();
  const bundle = await loadBundle(job.bundleDir);
  const t2 = performance.now();
  const predictor = await createPredictor(bundle, {
    backend: job.backend,
    batching: false,
    numThreads: job.numThreads,
  });
  const t3 = performance.now();
  const [first] = await predictor.predictBatch(['Stocks rallied after the central bank held rates.'], {
    batchSize: 1,
  });
  const t4 = performance.now();
  const cpu = process.cpuUsage(cpuStart);
  if (first?.status !== 'ok') throw new Error(`first prediction failed: ${JSON.stringify(first)}`);
  await send({
    type: 'cold-start-result',
    trial: {
      importRuntimeMs: t1 - t0,
      loadBundleMs: t2 - t1,
      createPredictorMs: t3 - t2,
      firstPredictionMs: t4 - t3,
      cpuMs: (cpu.user + cpu.system) / 1000,
      backend: backendReport(predictor.backend),
      memory: memoryOf(predictor.backend.backend, sampler.stop(), predictor.memory().wasmHeapBytes),
      modelBytes: bundle.modelBytes.byteLength,
    },
  });
  await predictor.dispose();
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? 'null') as NodeJob | null;
  try {
    if (job?.kind === 'in-process') await runInProcess(job);
    else if (job?.kind === 'cold-start') await runColdStart(job);
    else throw new Error(`node-child: unknown job ${JSON.stringify(job)}`);
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    await send({ type: 'error', message });
    process.exitCode = 1;
  }
  process.disconnect?.();
}

await main();
