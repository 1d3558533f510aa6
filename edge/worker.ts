// The Cloudflare Workers entry: the edge app over the embedded bundle (or one from static assets or R2), which must
// pass its parity proof before it serves. The embedded bundle's predictor is started at start-up, in the global scope.
import type {
  DurableObjectNamespace,
  ExecutionContext,
  ExportedHandler,
  Fetcher,
  R2Bucket,
} from '@cloudflare/workers-types/index.ts';
import { env as startupEnv } from 'cloudflare:workers';
import {
  createPredictor,
  fileTooLarge,
  filesSource,
  loadBundle,
  readBody,
  urlSource,
  type BundleSource,
  type Predictor,
} from '../runtime/workerd.ts';
import { messageOf } from '../runtime/errors.ts';
import { createApp, type EdgeApp } from './app.ts';
import { DEFAULT_CONFIG, readConfig, type EdgeConfig } from './config.ts';
import { embeddedBundleFiles } from './embedded-bundle.ts';
import { createDurableHealthStore } from './health-aggregator.ts';
import { proveBeforeServing } from './load-proof.ts';
import { createLog, type Log } from './log.ts';

// The Durable Object class behind wrangler.toml's HEALTH binding: Workers find it among the entry's exports.
export { HealthAggregator } from './health-aggregator.ts';

/** Bindings and vars of wrangler.toml. */
export interface Env {
  /** Static assets: the demo page, onnxruntime-web's files, model bundles under /models/. */
  readonly ASSETS: Fetcher;
  /** R2 bucket holding bundles, for SHIPSHAPE_MODEL_SOURCE = "r2". */
  readonly MODELS?: R2Bucket;
  /**
   * The HealthAggregator Durable Objects: every isolate's health in one place. Without it, /metrics, /v1/health and
   * /v1/feedback answer for the isolate that takes the request (and say so).
   */
  readonly HEALTH?: DurableObjectNamespace;
  /** Where the model comes from: "embedded" (default), "assets" or "r2". */
  readonly SHIPSHAPE_MODEL_SOURCE?: string;
  /** assets: the bundle's URL path (default "/models/news-bag/"); r2: its key prefix (default "news-bag/"). */
  readonly SHIPSHAPE_MODEL_PATH?: string;
  readonly SHIPSHAPE_TOKEN?: string;
  readonly SHIPSHAPE_CORS_ORIGINS?: string;
  readonly SHIPSHAPE_MAX_BODY_BYTES?: string;
  readonly SHIPSHAPE_MAX_TEXTS?: string;
  readonly SHIPSHAPE_MAX_TEXT_LENGTH?: string;
  readonly SHIPSHAPE_BATCH_SIZE?: string;
  readonly SHIPSHAPE_ALLOW_EMPTY_TEXTS?: string;
  readonly SHIPSHAPE_ACCESS_LOG?: string;
  readonly SHIPSHAPE_MAX_INFLIGHT_TEXTS?: string;
  readonly SHIPSHAPE_MAX_QUEUED_TEXTS?: string;
  readonly SHIPSHAPE_MAX_QUEUE_WAIT_MS?: string;
  /** "1" serves the bundle without its parity proof (emergencies only; logged on every isolate's load). */
  readonly SHIPSHAPE_SKIP_PARITY?: string;
  readonly SHIPSHAPE_METRICS_PUBLIC?: string;
  readonly SHIPSHAPE_HEALTH_THRESHOLDS?: string;
  readonly SHIPSHAPE_ALERT_WEBHOOK?: string;
}

export const MODEL_SOURCES = ['embedded', 'assets', 'r2'] as const;

/**
 * Bundle bytes from an R2 bucket, one object per file under `prefix`. An object larger than the read's `maxBytes` is
 * refused by its recorded size, its body cancelled unread.
 */
function r2Source(bucket: R2Bucket, prefix: string): BundleSource {
  const describe = `r2:${prefix.replace(/\/+$/, '')}`;
  return {
    describe,
    async read(name, { maxBytes } = {}) {
      const object = await bucket.get(`${prefix}${name}`);
      if (object === null) return undefined;
      if (maxBytes !== undefined && object.size > maxBytes) {
        await object.body.cancel();
        throw fileTooLarge(`${describe}/${name}`, object.size, maxBytes);
      }
      return readBody(object.body as unknown as ReadableStream<Uint8Array>, `${describe}/${name}`, maxBytes);
    },
  };
}

/** @throws Error naming the variable when SHIPSHAPE_MODEL_SOURCE or its binding is wrong. */
export function modelSource(env: Env): BundleSource {
  const source = env.SHIPSHAPE_MODEL_SOURCE ?? 'embedded';
  switch (source) {
    case 'embedded':
      return filesSource(embeddedBundleFiles(), 'worker:embedded');
    case 'assets': {
      const path = env.SHIPSHAPE_MODEL_PATH ?? '/models/news-bag/';
      // The host is a placeholder: the ASSETS binding resolves only the path.
      return urlSource(
        new URL(path, 'https://assets.invalid/'),
        (input, init) => env.ASSETS.fetch(input as string, init as never) as unknown as Promise<Response>,
      );
    }
    case 'r2': {
      if (env.MODELS === undefined) {
        throw new Error(
          'SHIPSHAPE_MODEL_SOURCE is "r2" but no R2 binding "MODELS" exists; add [[r2_buckets]] to wrangler.toml.',
        );
      }
      return r2Source(env.MODELS, env.SHIPSHAPE_MODEL_PATH ?? 'news-bag/');
    }
    default:
      throw new Error(
        `Unsupported SHIPSHAPE_MODEL_SOURCE "${source}". Should be one of: ${MODEL_SOURCES.join(', ')}.`,
      );
  }
}

/**
 * Loads the bundle (`verify: 'serving'` reads the model, vocabulary and normalization record), starts the predictor
 * and proves it on this isolate's backend (`proveParity`: every case, or its sample of 256, read through
 * `bundle.readFile`, which checks the hash of parity.jsonl).
 * @throws ShipshapeError with the bundle's code (PARITY_MISMATCH, BUNDLE_*...): the slot refuses to serve it.
 */
async function loadProven(env: Env, config: EdgeConfig, log: Log): Promise<Predictor> {
  // The predictor started in the global scope serves the first load; a later load (a retry) starts its own.
  const early = started;
  started = undefined;
  const predictor = (await early?.catch(() => undefined)) ?? (await startPredictor(env, config));
  return proveBeforeServing(predictor, { batchSize: config.batchSize, skip: config.skipParity, log });
}

/** Loads the bundle (`verify: 'serving'`) and starts its predictor: the ORT WASM instance and the session. */
async function startPredictor(env: Env, config: EdgeConfig): Promise<Predictor> {
  // The embedded bundle is in memory: no deadline, whose timer the global scope (start-up) would refuse.
  const embedded = (env.SHIPSHAPE_MODEL_SOURCE ?? 'embedded') === 'embedded';
  const bundle = await loadBundle(modelSource(env), {
    verify: 'serving',
    ...(embedded ? { timeoutMs: Number.POSITIVE_INFINITY } : {}),
  });
  // No micro-batching on Workers: a batch mixes several requests' items, and workerd cancels promise
  // continuations that cross request contexts once the creating request ends ("A promise was resolved or
  // rejected from a different request context..."), stranding the other requests' texts. Measured both with
  // the timer armed at submit and with queued items dispatched right after a run. Runs still queue one at a
  // time on the predictor. Logits cost one small copy per text; they let the proof compare logits, not scores.
  return createPredictor(bundle, {
    batching: false,
    maxTextLength: config.maxTextLength,
    returnLogits: true,
  });
}

/** The embedded bundle's predictor, started in the global scope and not yet proven; taken by the first load. */
let started: Promise<Predictor> | undefined;

let edge: EdgeApp | undefined;

/** One app per isolate: the predictor (WASM instance and session) lives as long as the isolate. */
function edgeFor(env: Env): EdgeApp {
  if (edge !== undefined) return edge;
  let config: EdgeConfig = DEFAULT_CONFIG;
  let configError: Error | undefined;
  try {
    config = readConfig(env as unknown as Record<string, unknown>);
  } catch (error) {
    // A bad setting must not leave the API open: every model endpoint fails with the reason until it is fixed.
    configError = error instanceof Error ? error : new Error(messageOf(error), { cause: error });
  }
  const log = createLog();
  edge = createApp({
    config,
    log,
    // onnxruntime-web's WASM runs on the isolate's one thread: without a yield before each prediction, admission
    // would never see a second request. Waiters poll on their own timers: one request cannot safely wake another.
    admission: { yieldBeforeWork: true, pollMs: 2 },
    assets: { fetch: (request) => env.ASSETS.fetch(request as never) as unknown as Promise<Response> },
    loadPredictor: () =>
      configError === undefined ? loadProven(env, config, log) : Promise.reject(configError),
    // Each isolate counts into its own monitor and sends it to the aggregator, where alerts fire once for the
    // service; an isolate alerting on its own share would page once per isolate.
    health: createDurableHealthStore({ namespace: env.HEALTH, log }),
    ...(env.HEALTH === undefined ? {} : { alertSinks: [] }),
  });
  return edge;
}

/**
 * Starts the predictor in the global scope when nothing it needs is I/O (the embedded bundle): the bundle's
 * verification, the ORT WASM instance and the session, the largest part of a cold start, run while the isolate
 * starts, inside Cloudflare's start-up CPU limit (1 s; `npm run check:startup` measures it). Workers forbid I/O in
 * the global scope but allow instantiating a precompiled WASM module and computing. The parity proof and the warm-up
 * stay with the first load (the first request, or `/readyz`), which takes this predictor: they would add about a
 * third to the start-up CPU, too close to the limit. Nothing is awaited at the top level, so a failure never fails
 * the script: the first load starts the predictor again and reports the error with its code (MODEL_UNAVAILABLE).
 * Bundles from assets or R2 load on the first request, as reading them is I/O.
 */
function startAtStartup(env: Env): void {
  if ((env.SHIPSHAPE_MODEL_SOURCE ?? 'embedded') !== 'embedded') return;
  let config: EdgeConfig;
  try {
    config = readConfig(env as unknown as Record<string, unknown>);
  } catch {
    return; // The first request reports the bad setting.
  }
  started = startPredictor(env, config);
  started.catch((error: unknown) => {
    console.error(`shipshape: the predictor could not start in the global scope: ${messageOf(error)}`);
  });
}

startAtStartup(startupEnv as Env);

export default {
  fetch(request, env, ctx: ExecutionContext) {
    return edgeFor(env).fetch(request as unknown as Request, env, ctx) as never;
  },
} satisfies ExportedHandler<Env>;
