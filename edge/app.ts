// The one Hono app behind every entry (Worker, Node server): routes, validation, auth, CORS, one error mapping.
// It never imports a platform: the entry hands it a way to load the predictor and, optionally, static files.
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import { timing } from 'hono/timing';
import { ShipshapeError, isShipshapeError } from '../runtime/errors.ts';
import { webhookSink } from '../runtime/monitor/index.ts';
import type {
  AlertSink,
  FeedbackResult,
  HealthMonitor,
  HealthReport,
  Thresholds,
} from '../runtime/monitor/types.ts';
import type { Prediction, Predictor } from '../runtime/types.ts';
import { accessLog, notePredictor, noteTexts, timeInference } from './access-log.ts';
import {
  admitRequest,
  createAdmission,
  noteArrival,
  type Admission,
  type AdmissionOptions,
} from './admission.ts';
import { requireBearer } from './bearer.ts';
import { DEFAULT_CONFIG, limitsWarning, type EdgeConfig } from './config.ts';
import { limitBody, settleRequestBody } from './body.ts';
import { EdgeError, errorResponse } from './errors.ts';
import { excerpt } from './excerpt.ts';
import {
  alertLogSink,
  createHealthMonitors,
  localHealthStore,
  recordRequests,
  type HealthMonitors,
} from './health.ts';
import type { HealthStore } from './health-store.ts';
import { createLog, type Log } from './log.ts';
import { EXPOSITION_CONTENT_TYPE, renderEdgeMetrics } from './metrics.ts';
import { createModelSlot, type ModelSlot, type ModelSwap } from './model-slot.ts';
import { OIP_ROUTES, registerOpenInference } from './oip.ts';
import { feedbackRequestSchema, MAX_FEEDBACK_ITEMS, predictRequestSchema, readJson } from './schemas.ts';

export const SERVER_NAME = 'shipshape';
export const SERVER_VERSION = '0.1.0';

/** Static files (the demo page, onnxruntime-web's files, model bundles): a Worker's `env.ASSETS`, or a Node folder. */
export interface AssetStore {
  fetch(request: Request): Promise<Response>;
}

export interface CreateAppOptions {
  /** Loads the bundle and starts the predictor; called once (again only after a failure). */
  readonly loadPredictor: () => Promise<Predictor>;
  /** Default `DEFAULT_CONFIG`. */
  readonly config?: EdgeConfig;
  /** Serves GET requests that match no route. Default: none (404). */
  readonly assets?: AssetStore;
  /**
   * Swaps in a freshly loaded and verified model (the Node entry: `slot.swap` over the bundle directory). With it and
   * `config.adminToken`, `POST /admin/reload` exists; without either, that path answers 404 like any unknown path.
   */
  readonly reload?: (slot: ModelSlot) => Promise<ModelSwap>;
  /** Where the access log and the edge's warnings go. Default `createLog()` (console, repeats counted). */
  readonly log?: Log;
  /**
   * How the admission gate waits, for platforms that need it (workerd: see edge/admission.ts). Default: waiters are
   * woken by the request that frees a place, and admitted work starts at once.
   */
  readonly admission?: Pick<AdmissionOptions, 'yieldBeforeWork' | 'pollMs'>;
  /**
   * Where `/metrics`, `/v1/health` and `/v1/feedback` read from. Default `localHealthStore()`: this process's own
   * monitor (a Worker passes a store that aggregates its isolates).
   */
  readonly health?: HealthStore;
  /**
   * Threshold overrides for every model's monitor, over those it derives from the bundle. Default
   * `config.healthThresholds` (env `SHIPSHAPE_HEALTH_THRESHOLDS`); when given, it replaces that (`shipshape serve`
   * merges the SLA file, the environment and `--health-config` into it).
   */
  readonly thresholds?: Partial<Thresholds>;
  /**
   * Where alert events go. Default: one log line per event (`alertLogSink`), plus a webhook when
   * `config.alertWebhook` is set.
   */
  readonly alertSinks?: readonly AlertSink[];
}

/** Longest `X-Request-Id` taken from a client (letters, digits, `_`, `-`, `=`); others are replaced by a UUID. */
export const MAX_REQUEST_ID_CHARS = 128;

export interface EdgeApp {
  readonly app: Hono;
  /** Hono's fetch: `(request, env?, executionCtx?) => Response`. */
  readonly fetch: Hono['fetch'];
  readonly model: ModelSlot;
  readonly log: Log;
  /** The admission gate in front of every prediction (`stats()` for metrics). */
  readonly admission: Admission;
  /** The health monitors of the served models (`current()` is the serving model's). */
  readonly monitors: HealthMonitors;
  /**
   * Checks the serving model's health now (alerts fire from here too) through the health store; undefined before
   * a model is loaded. `shipshape serve` calls it on a timer so alerts fire without anyone reading.
   */
  checkHealth(): Promise<HealthReport | undefined>;
  /** Loads and warms up the model now (Node servers call it at startup; Workers load on the first request). */
  warmUp(): Promise<void>;
  /** Starts the drain: `/readyz` and the v2 readiness probes answer "not ready" from now on. */
  drain(): void;
  dispose(): Promise<void>;
}

/** Paths with routes and the methods they take; anything else on these paths answers 405 with `Allow`. */
const V1_ROUTES: readonly (readonly [string, readonly string[]])[] = [
  ['/healthz', ['GET']],
  ['/readyz', ['GET']],
  ['/v1/models', ['GET']],
  ['/v1/predict', ['POST']],
  ['/v1/health', ['GET']],
  ['/v1/feedback', ['POST']],
  ['/metrics', ['GET']],
];

function methodNotAllowed(path: string, methods: readonly string[]) {
  const allow = methods.flatMap((method) => (method === 'GET' ? ['GET', 'HEAD'] : [method]));
  return (c: Context): never => {
    throw new EdgeError(
      'METHOD_NOT_ALLOWED',
      `${excerpt(c.req.method, 16)} is not allowed on ${path}; use ${allow.join(' or ')}.`,
      { headers: { Allow: allow.join(', ') } },
    );
  };
}

function checkModelName(requested: string | undefined, predictor: Predictor): void {
  const { name } = predictor.bundle.manifest;
  if (requested !== undefined && requested !== name) {
    throw new EdgeError(
      'MODEL_NOT_FOUND',
      `No model named ${excerpt(requested)}; this server serves "${name}" (see GET /v1/models).`,
    );
  }
}

/**
 * Predictions as answered: each with the id `POST /v1/feedback` takes for its ground truth (one memory entry for the
 * request, see `HealthMonitor.rememberAll`).
 */
function wirePredictions(monitor: HealthMonitor, predictions: readonly Prediction[]) {
  const ids = monitor.rememberAll(predictions.map((prediction) => prediction.label));
  return predictions.map(({ label, scores }, i) => ({ id: ids[i] as string, label, scores }));
}

async function predictMany(
  predictor: Predictor,
  monitor: HealthMonitor,
  texts: readonly string[],
  batchSize: number,
) {
  const items = await predictor.predictBatch(texts, { batchSize });
  // Every item first: no id is remembered for a request answered with an error.
  for (const [i, item] of items.entries()) {
    if (item.status === 'error')
      throw new ShipshapeError(item.error.code, `texts.${i}: ${item.error.message}`);
  }
  return wirePredictions(
    monitor,
    items.flatMap((item) => (item.status === 'ok' ? [item] : [])),
  );
}

/** The answer to one feedback item, or the error it is refused with. */
function feedbackOutcome(id: string, label: string, result: FeedbackResult) {
  switch (result.status) {
    case 'recorded':
      return { id, status: 'recorded' as const, correct: result.correct };
    case 'unknown_id':
      return {
        id,
        error: new ShipshapeError(
          'PREDICTION_NOT_FOUND',
          `No prediction with id ${excerpt(id)}: ids are those /v1/predict and v2 infer answered, kept for the ` +
            'serving model only (a restart or a model swap forgets them; the oldest are forgotten first).',
          { subject: 'id' },
        ),
      };
    case 'duplicate':
      return {
        id,
        error: new ShipshapeError(
          'FEEDBACK_DUPLICATE',
          `Prediction ${excerpt(id)} already has its feedback; each prediction takes one.`,
          { subject: 'id' },
        ),
      };
    case 'unknown_label':
      return {
        id,
        error: new ShipshapeError(
          'INPUT_INVALID',
          `label ${excerpt(label)} is not one of the model's labels: ${result.labels.join(', ')}.`,
          { subject: 'label' },
        ),
      };
  }
}

/** Starts the model load on a Worker's first request without holding that request up (`waitUntil`). */
function kickOff(slot: ModelSlot): MiddlewareHandler {
  return async function kickOffModelLoad(c, next) {
    if (slot.state === 'idle') {
      const loading = slot.load().catch(() => undefined);
      try {
        c.executionCtx.waitUntil(loading);
      } catch {
        // No execution context (Node): the promise runs on by itself.
      }
    }
    await next();
  };
}

/** Serves a static file; a `.wasm` over the Workers' 25 MiB asset limit is stored gzipped as `NAME.wasm.gz`. */
async function serveAsset(assets: AssetStore, request: Request): Promise<Response> {
  const response = await assets.fetch(request);
  if (response.status !== 404 || !new URL(request.url).pathname.endsWith('.wasm')) return response;
  const gzipped = await assets.fetch(new Request(`${request.url}.gz`, { headers: request.headers }));
  if (!gzipped.ok) return response;
  const init: ResponseInit & { encodeBody: 'manual' } = {
    status: 200,
    headers: {
      'Content-Type': 'application/wasm',
      'Content-Encoding': 'gzip',
      'Cache-Control': 'public, max-age=3600',
    },
    // Workers: send the bytes as they are instead of compressing them again (ignored elsewhere).
    encodeBody: 'manual',
  };
  return new Response(gzipped.body, init);
}

/**
 * Builds the app. Routes: `POST /v1/predict`, `GET /v1/models`, `GET /healthz`, `GET /readyz`, `GET /metrics`,
 * `GET /v1/health`, `POST /v1/feedback`, the Open Inference Protocol under `/v2`, and static files for every other
 * GET when `assets` is given. Every served model gets a health monitor that every request is recorded into.
 * @throws Error from `createAdmission` for admission bounds that are not positive integers.
 */
export function createApp(options: CreateAppOptions): EdgeApp {
  const config = options.config ?? DEFAULT_CONFIG;
  const log = options.log ?? createLog();
  const slot = createModelSlot(options.loadPredictor, log);
  const predictSchema = predictRequestSchema(config);
  const admission = createAdmission({
    maxInflightTexts: config.maxInflightTexts,
    maxQueuedTexts: config.maxQueuedTexts,
    maxQueueWaitMs: config.maxQueueWaitMs,
    ...options.admission,
  });
  const app = new Hono();
  const limits = limitsWarning(config);
  if (limits !== undefined) log.warn(limits);
  const store = options.health ?? localHealthStore();
  const sinks = options.alertSinks ?? [
    alertLogSink(log),
    ...(config.alertWebhook === undefined ? [] : [webhookSink(config.alertWebhook)]),
  ];
  // One structured line says where alerts go, so a fresh service's log shows alert logging is set up before any
  // alert fires (the deployment checklist's logging item reads it). A sink's name never holds a secret. None on a
  // Worker's isolates: their aggregator alerts for them and says so.
  if (sinks.length > 0) log.info('alert sinks', { alertSinks: sinks.map((sink) => sink.name) });
  const monitors = createHealthMonitors(slot, {
    // Only a store that flushes (afterRequest) takes deltas; read in place, a monitor keeps no copy of its ids.
    forwardsDeltas: store.afterRequest !== undefined,
    thresholds: options.thresholds ?? config.healthThresholds,
    sinks,
    log,
  });
  const notReady = (): never => {
    // The code, never the message: a bundle error names server paths.
    const code = isShipshapeError(slot.failure) ? ` (${slot.failure.code})` : '';
    throw new EdgeError(
      'NOT_READY',
      slot.state === 'failed'
        ? `The model failed to load${code}; the next model request retries it, and the server log has the cause.`
        : 'The model is loading; retry shortly.',
    );
  };

  // First: admission's queue-wait deadline counts from when the request reached the app.
  app.use('*', noteArrival());
  // Then, so every answer (errors from the middleware below included) carries the id and is logged.
  app.use('*', requestId({ limitLength: MAX_REQUEST_ID_CHARS }));
  if (config.accessLog) app.use('*', accessLog(log));
  app.use('*', recordRequests(monitors, store));
  // Server-Timing: `total`, `queue` (admitRequest) and `infer` around the prediction (timeInference).
  app.use('*', timing({ totalDescription: 'total' }));
  app.use('*', kickOff(slot));
  if (config.corsOrigins === '*' || config.corsOrigins.length > 0) {
    app.use(
      '*',
      cors({
        origin: config.corsOrigins === '*' ? '*' : [...config.corsOrigins],
        allowMethods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
        allowHeaders: ['Authorization', 'Content-Type'],
        exposeHeaders: ['Retry-After', 'X-Request-Id', 'Server-Timing'],
        maxAge: 600,
      }),
    );
  }
  if (config.token !== undefined) {
    const auth = requireBearer(config.token);
    app.use('/v1/*', auth);
    // Health probes stay open: they reveal nothing and orchestrators call them without credentials.
    const authExceptHealth: MiddlewareHandler = (c, next) =>
      c.req.path.startsWith('/v2/health/') ? next() : auth(c, next);
    app.use('/v2/*', authExceptHealth);
    app.use('/v2', auth);
    // Metrics tell traffic, labels and drift: private unless the operator opens them for a scraper.
    if (!config.metricsPublic) app.use('/metrics', auth);
  }
  app.use('*', limitBody(config.maxBodyBytes));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => {
    const predictor = slot.current;
    if (slot.draining) {
      throw new EdgeError('NOT_READY', 'The server is shutting down; send requests to another instance.');
    }
    if (predictor === undefined) return notReady();
    const { name, version } = predictor.bundle.manifest;
    return c.json({ status: 'ready', model: { name, version }, backend: predictor.backend.backend });
  });

  app.get('/v1/models', (c) =>
    slot.use((predictor) => {
      notePredictor(c, predictor);
      const { manifest } = predictor.bundle;
      return c.json({
        models: [
          {
            name: manifest.name,
            version: manifest.version,
            task: manifest.task,
            labels: manifest.labels,
            createdAt: manifest.createdAt,
            metrics: manifest.metrics,
            backend: predictor.backend,
            ready: slot.state === 'ready' && !slot.draining,
          },
        ],
      });
    }),
  );

  app.post('/v1/predict', async (c) => {
    const body = await readJson(c, predictSchema, config);
    noteTexts(c, 'text' in body ? 1 : body.texts.length);
    return slot.use(async (predictor) => {
      notePredictor(c, predictor);
      checkModelName(body.model, predictor);
      const monitor = monitors.of(predictor);
      const predictions =
        'text' in body
          ? wirePredictions(monitor, [
              await admitRequest(c, admission, 1, () => timeInference(c, predictor.predict(body.text))),
            ])
          : await admitRequest(c, admission, body.texts.length, () =>
              timeInference(c, predictMany(predictor, monitor, body.texts, config.batchSize)),
            );
      const { name, version } = predictor.bundle.manifest;
      return c.json({ model: { name, version }, backend: predictor.backend.backend, predictions });
    });
  });

  app.get('/metrics', async (c) => {
    const monitor = monitors.current();
    const predictor = slot.current;
    const memoryBytes = predictor?.memory().wasmHeapBytes;
    const edgeGauges = renderEdgeMetrics({
      admission: admission.stats(),
      ...(predictor === undefined || memoryBytes === undefined
        ? {}
        : {
            engine: {
              model: predictor.bundle.manifest.name,
              backend: predictor.backend.backend,
              memoryBytes,
            },
          }),
    });
    const modelMetrics = monitor === undefined ? '' : await store.metrics(monitor);
    return c.body(modelMetrics + edgeGauges, 200, { 'Content-Type': EXPOSITION_CONTENT_TYPE });
  });

  app.get('/v1/health', async (c) => {
    const monitor = monitors.current();
    if (monitor === undefined) return notReady();
    const report = await store.report(monitor);
    return c.json(report, report.status === 'failing' ? 503 : 200);
  });

  app.post('/v1/feedback', async (c) => {
    const body = await readJson(c, feedbackRequestSchema, config);
    const items = 'feedback' in body ? body.feedback : [body];
    if (items.length > MAX_FEEDBACK_ITEMS) {
      throw new EdgeError(
        'PAYLOAD_TOO_LARGE',
        `feedback holds ${items.length} items; send at most ${MAX_FEEDBACK_ITEMS} per request.`,
      );
    }
    const monitor = monitors.current();
    if (monitor === undefined) return notReady();
    const results = await store.feedbackAll(monitor, items);
    const outcomes = items.map(({ id, label }, index) => feedbackOutcome(id, label, results[index]!));
    if (!('feedback' in body)) {
      const [outcome] = outcomes;
      if (outcome !== undefined && 'error' in outcome) throw outcome.error;
      return c.json(outcome);
    }
    return c.json({
      recorded: outcomes.filter((outcome) => !('error' in outcome)).length,
      feedback: outcomes.map((outcome) =>
        'error' in outcome ? { id: outcome.id, status: 'refused', error: outcome.error.toJSON() } : outcome,
      ),
    });
  });

  const { reload } = options;
  const adminRoutes: (readonly [string, readonly string[]])[] = [];
  if (reload !== undefined && config.adminToken !== undefined) {
    // Its own token: reloading is an operator's act, not an API client's.
    app.use('/admin/*', requireBearer(config.adminToken));
    app.post('/admin/reload', async (c) => c.json(await reload(slot)));
    adminRoutes.push(['/admin/reload', ['POST']]);
  }

  registerOpenInference(app, {
    slot,
    config,
    admission,
    monitors,
    serverName: SERVER_NAME,
    serverVersion: SERVER_VERSION,
  });

  for (const [path, methods] of [...V1_ROUTES, ...OIP_ROUTES, ...adminRoutes]) {
    app.all(path, methodNotAllowed(path, methods));
  }

  const { assets } = options;
  if (assets !== undefined) {
    app.get('*', async (c) => {
      const response = await serveAsset(assets, c.req.raw);
      if (response.status === 404) {
        throw new EdgeError('NOT_FOUND', `Nothing at ${c.req.path}.`);
      }
      return response;
    });
  }

  // The one place errors become answers (plus notFound, which has no error to map).
  app.onError(async (error, c) => {
    await settleRequestBody(c);
    return errorResponse(c, error, log);
  });
  app.notFound(async (c) => {
    const error = new EdgeError(
      'NOT_FOUND',
      `No route for ${excerpt(c.req.method, 16)} ${excerpt(c.req.path)}; see the API in README.md.`,
    );
    await settleRequestBody(c);
    return errorResponse(c, error, log);
  });

  return {
    app,
    fetch: app.fetch,
    model: slot,
    log,
    admission,
    monitors,
    async checkHealth() {
      const monitor = monitors.current();
      return monitor === undefined ? undefined : store.report(monitor);
    },
    async warmUp() {
      await slot.load();
    },
    drain: () => slot.drain(),
    async dispose() {
      monitors.dispose();
      await slot.dispose();
    },
  };
}
