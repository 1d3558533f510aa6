// The edge's health monitoring: one monitor per served model, every request recorded into it, the local HealthStore,
// and alert events as log lines. Portable (the Worker uses it too).
import type { MiddlewareHandler } from 'hono';
import { createHealthMonitor } from '../runtime/monitor/index.ts';
import type { AlertSink, HealthMonitor, RequestRecord, Thresholds } from '../runtime/monitor/types.ts';
import type { Predictor } from '../runtime/types.ts';
import { routeOf } from './access-log.ts';
import type { HealthStore } from './health-store.ts';
import type { Log } from './log.ts';
import type { ModelSlot } from './model-slot.ts';
import { renderMonitorMetrics } from './metrics.ts';
import { INFERENCE_ROUTES } from './routes.ts';

/** Methods recorded by name; any other is recorded as `other`, so a client cannot grow the label set. */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
]);

/** The store of one process (Node): reads and feedback go to the process's own monitor. */
export function localHealthStore(): HealthStore {
  return {
    report: (local) => Promise.resolve(local.checkHealth()),
    metrics: (local) => {
      // Health first: evaluating it may fire an alert, which the totals then count.
      const report = local.checkHealth();
      return Promise.resolve(renderMonitorMetrics(local.totals(), report));
    },
    feedbackAll: (local, items) => Promise.resolve(items.map(({ id, label }) => local.feedback(id, label))),
  };
}

/**
 * An alert sink that writes one structured line per alert event through the edge's log:
 * `{"time","level":"warn","msg":"alert","event":"alert","kind":"firing","check":"oov_rate",...}` (level `info` for a
 * resolution). Every event is written: the log's repeat counting is off for them.
 */
export function alertLogSink(log: Log): AlertSink {
  return {
    name: 'log',
    send({ kind, alert }) {
      log.write(
        kind === 'resolved' ? 'info' : 'warn',
        'alert',
        {
          event: 'alert',
          kind,
          check: alert.check,
          severity: alert.severity,
          state: alert.state,
          value: alert.value,
          threshold: alert.threshold,
          detail: alert.detail,
          model: alert.model,
          since: alert.since,
          resolvedAt: alert.resolvedAt,
        },
        { dedupe: false },
      );
    },
  };
}

export interface HealthMonitorsOptions {
  readonly thresholds: Partial<Thresholds>;
  readonly sinks: readonly AlertSink[];
  /** Whether the store takes the monitors' deltas (a Worker's): `HealthMonitorOptions.forwardsDeltas`. */
  readonly forwardsDeltas: boolean;
  /** Where sink failures are reported. */
  readonly log: Log;
}

/**
 * The monitors of the models a slot served: the serving model's, made when first asked for, and those of models a
 * swap replaced (disposed: they no longer follow their predictor, and nothing reads them, but requests that still
 * hold the old model can finish with them).
 */
export interface HealthMonitors {
  /** The serving model's monitor, made on first use; undefined before a model is loaded. */
  current(): HealthMonitor | undefined;
  /**
   * The monitor of `predictor`. Call it before the predictor runs for a request, so its runs are counted. A
   * predictor a swap already replaced gets a monitor that follows nothing.
   */
  of(predictor: Predictor): HealthMonitor;
  /** Disposes every monitor. */
  dispose(): void;
}

export function createHealthMonitors(slot: ModelSlot, options: HealthMonitorsOptions): HealthMonitors {
  const monitors = new WeakMap<Predictor, HealthMonitor>();
  let serving: HealthMonitor | undefined;
  const make = (predictor: Predictor) =>
    createHealthMonitor(predictor, {
      forwardsDeltas: options.forwardsDeltas,
      thresholds: options.thresholds,
      sinks: options.sinks,
      warn: (message) => options.log.warn('alert sink failed', { reason: message }),
    });

  const of = (predictor: Predictor): HealthMonitor => {
    const known = monitors.get(predictor);
    if (known !== undefined) return known;
    const monitor = make(predictor);
    monitors.set(predictor, monitor);
    if (predictor === slot.current) {
      // A swap installed this model: the old one's monitor stops following it and is no longer read.
      serving?.dispose();
      serving = monitor;
    } else {
      monitor.dispose();
    }
    return monitor;
  };

  return {
    current: () => {
      const predictor = slot.current;
      return predictor === undefined ? undefined : of(predictor);
    },
    of,
    dispose: () => {
      serving?.dispose();
      serving = undefined;
    },
  };
}

/**
 * Middleware: records every answered request (route pattern, method, status, duration, queue wait, texts, error code)
 * into the monitor of the model that served it, or of the serving model when none did (a 401, `/healthz`); before any
 * model loaded, requests are not recorded. Then lets the store flush (`afterRequest`).
 */
export function recordRequests(monitors: HealthMonitors, store: HealthStore): MiddlewareHandler {
  return async function recordRequest(c, next) {
    const start = performance.now();
    await next();
    const predictor = c.get('predictor');
    const monitor = predictor === undefined ? monitors.current() : monitors.of(predictor);
    if (monitor === undefined) return;
    const route = routeOf(c) ?? 'other';
    const method = KNOWN_METHODS.has(c.req.method) ? c.req.method : 'other';
    const queueWaitMs = c.get('queueWaitMs');
    const errorCode = c.get('errorCode');
    const record: RequestRecord = {
      route,
      method,
      inference: method === 'POST' && INFERENCE_ROUTES.has(route),
      durationMs: performance.now() - start,
      status: c.res.status,
      texts: c.get('texts') ?? 0,
      ...(queueWaitMs === undefined ? {} : { queueWaitMs }),
      ...(errorCode === undefined ? {} : { errorCode }),
    };
    monitor.recordRequest(record);
    // Node has no execution context, and Hono's getter throws there: no error built and caught per request.
    if (store.afterRequest === undefined) return;
    let waitUntil: ((promise: Promise<unknown>) => void) | undefined;
    try {
      const context = c.executionCtx;
      waitUntil = (promise) => context.waitUntil(promise);
    } catch {
      // No execution context (Node).
    }
    store.afterRequest?.(monitor, waitUntil);
  };
}
