// Health across Worker isolates: the Durable Object that merges every isolate's monitor deltas into one monitor per
// model version, and the HealthStore through which a Worker's /metrics, /v1/health and /v1/feedback answer from it.
import { DurableObject } from 'cloudflare:workers';
import type {
  DurableObjectNamespace,
  DurableObjectState,
  Request as WorkerRequest,
  Response as WorkerResponse,
} from '@cloudflare/workers-types/index.ts';
import type { Manifest } from '../runtime/bundle/manifest.ts';
import { ShipshapeError, hasErrorCode, messageOf } from '../runtime/errors.ts';
import { createHealthMonitor, webhookSink } from '../runtime/monitor/index.ts';
import type {
  AlertSink,
  FeedbackResult,
  HealthMonitor,
  HealthReport,
  MonitorDelta,
  MonitorTotals,
} from '../runtime/monitor/types.ts';
import { readConfig, type EdgeConfig } from './config.ts';
import { EdgeError } from './errors.ts';
import { alertLogSink } from './health.ts';
import type { FeedbackItem, HealthStore } from './health-store.ts';
import { createLog, type Log } from './log.ts';
import { renderMonitorMetrics } from './metrics.ts';

/** The Worker vars the aggregator reads (through `readConfig`, like its isolates). */
export interface HealthAggregatorEnv {
  /** JSON, some fields of `Thresholds`. */
  readonly SHIPSHAPE_HEALTH_THRESHOLDS?: string;
  /** URL that receives every alert event as a JSON POST. */
  readonly SHIPSHAPE_ALERT_WEBHOOK?: string;
}

/**
 * The operations of the aggregator, each `POST /<op>` with an `AggregatorCall` body. `feedback` (one item) is what
 * isolates of the previous release send during a deploy; isolates now send `feedback-list`.
 */
export const AGGREGATOR_OPS = ['ingest', 'report', 'snapshot', 'feedback', 'feedback-list'] as const;
export type AggregatorOp = (typeof AGGREGATOR_OPS)[number];

/** What an isolate sends with every call: its bundle's manifest and what its monitor counted since the last call. */
export interface AggregatorCall {
  readonly manifest: Manifest;
  readonly delta?: MonitorDelta;
  /** `feedback` only. */
  readonly id?: string;
  readonly label?: string;
  /** `feedback-list` only: the items, answered as a `FeedbackResult[]` in the same order. */
  readonly items?: readonly FeedbackItem[];
}

/**
 * The header on an error answer given after the caller's delta was merged: the isolate must not merge it back and
 * send it again (it would count twice).
 */
export const DELTA_MERGED_HEADER = 'Shipshape-Delta-Merged';

/** What `snapshot` answers: everything `/metrics` shows. */
export interface AggregateSnapshot {
  readonly totals: MonitorTotals;
  readonly report: HealthReport;
}

/** Storage key of the cumulative totals. */
const TOTALS_KEY = 'totals';
/** The totals are written at most this often (and by an alarm when changes are pending): ms. */
const PERSIST_EVERY_MS = 1_000;

function errorAnswer(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return Response.json({ error: { code, message } }, { status, headers });
}

/**
 * The Durable Object that holds one `HealthMonitor` for a model version (one instance per `name@version`, see
 * `aggregatorName`). Isolates `POST /ingest` their monitors' deltas; `/report`, `/snapshot` and `/feedback` answer
 * from the merged monitor, each after merging the caller's pending delta it carries. Alerts fire here, once for the
 * whole service: one JSON line per event in the log, and a POST to `SHIPSHAPE_ALERT_WEBHOOK` when it is set.
 *
 * What survives an eviction or a deploy: the cumulative totals (every counter and histogram of /metrics but
 * `shipshape_alerts_fired_total`), written at most once a second and merged into the next instance's monitor, so
 * they never go backwards (at most the last second of counts can be lost). What does not: the rolling windows, the
 * alert states and the remembered prediction ids. A restarted aggregator's checks say `insufficient_data` until
 * traffic refills the windows (never a false verdict), and feedback on a prediction made before the restart answers
 * unknown id. Under traffic the object stays in memory (isolates call it every 2 s), so this happens after idle
 * spells and deploys.
 */
export class HealthAggregator extends DurableObject<HealthAggregatorEnv> {
  #monitor: HealthMonitor | undefined;
  #restored: MonitorTotals | undefined;
  #persistedAt = Number.NEGATIVE_INFINITY;
  #alarmSet = false;
  readonly #log: Log = createLog();

  constructor(ctx: DurableObjectState, env: HealthAggregatorEnv) {
    super(ctx, env);
    // Requests wait until the stored totals are read.
    void ctx.blockConcurrencyWhile(async () => {
      this.#restored = await ctx.storage.get<MonitorTotals>(TOTALS_KEY);
    });
  }

  /**
   * The monitor for `manifest`, created on the first call with the stored totals merged in.
   * @throws Error when this aggregator already holds another model version.
   */
  #monitorFor(manifest: Manifest): HealthMonitor {
    if (this.#monitor !== undefined) {
      const { name, version } = this.#monitor.manifest;
      if (manifest.name !== name || manifest.version !== version) {
        throw new ShipshapeError(
          'HEALTH_DELTA_MISMATCH',
          `This aggregator holds ${name} ${version}, not ${manifest.name} ${manifest.version}; each model version has its own (aggregatorName).`,
        );
      }
      return this.#monitor;
    }
    // The Worker's settings, read as its isolates read them (readConfig throws on a bad one, as they refuse to serve).
    const config = readConfig(this.env as Readonly<Record<string, unknown>>);
    const sinks = alertSinks(config, this.#log);
    // The isolates send their counts here and alert nowhere themselves: this is where the Worker's alerts go.
    this.#log.info('alert sinks', {
      alertSinks: sinks.map((sink) => sink.name),
      model: aggregatorName(manifest),
    });
    const monitor = createHealthMonitor(manifest, {
      // Read in place: it takes the isolates' deltas and forwards none.
      forwardsDeltas: false,
      thresholds: config.healthThresholds,
      sinks,
      warn: (message) => this.#log.warn(message),
    });
    const restored = this.#restored;
    if (restored?.model.name === manifest.name && restored.model.version === manifest.version) {
      // Totals only: the windows start empty (a delta with no buckets), the counters where they were.
      const at = Date.now();
      monitor.mergeDelta({
        model: restored.model,
        from: at,
        to: at,
        buckets: [],
        predictions: [],
        totals: restored,
      });
    }
    this.#restored = undefined;
    this.#monitor = monitor;
    return monitor;
  }

  override async fetch(request: WorkerRequest): Promise<WorkerResponse> {
    // workers-types' Request and Response are the global ones with Cloudflare's extras.
    return (await this.#answer(request as unknown as Request)) as unknown as WorkerResponse;
  }

  async #answer(request: Request): Promise<Response> {
    const op = new URL(request.url).pathname.slice(1) as AggregatorOp;
    if (request.method !== 'POST' || !AGGREGATOR_OPS.includes(op)) {
      return errorAnswer(
        404,
        'NOT_FOUND',
        `The health aggregator answers POST /${AGGREGATOR_OPS.join(', /')}.`,
      );
    }
    let call: AggregatorCall;
    try {
      call = (await request.json()) as AggregatorCall;
    } catch {
      return errorAnswer(400, 'MALFORMED_JSON', 'The health aggregator takes a JSON body.');
    }
    let monitor: HealthMonitor;
    try {
      monitor = this.#monitorFor(call.manifest);
      if (call.delta !== undefined) monitor.mergeDelta(call.delta);
    } catch (error) {
      // Another model version under this name is the caller's to fix; anything else is ours. mergeDelta refuses a
      // delta (HEALTH_DELTA_MISMATCH) before counting any of it, so any other error from it came after the counting
      // began: the caller must not send that delta again.
      if (hasErrorCode(error, 'HEALTH_DELTA_MISMATCH')) {
        return errorAnswer(409, 'HEALTH_DELTA_MISMATCH', messageOf(error));
      }
      const merged = this.#monitor !== undefined && call.delta !== undefined;
      this.#log.error('the health aggregator failed a call', { op, merged, error: messageOf(error) });
      return errorAnswer(500, 'INTERNAL', messageOf(error), merged ? { [DELTA_MERGED_HEADER]: '1' } : {});
    }
    // From here on the delta is counted: whatever goes wrong, the answer says so, or the caller would send it again.
    let answer: Response;
    try {
      answer = answerOp(op, call, monitor);
    } catch (error) {
      this.#log.error('the health aggregator failed after merging a delta', { op, error: messageOf(error) });
      return errorAnswer(500, 'INTERNAL', messageOf(error), { [DELTA_MERGED_HEADER]: '1' });
    }
    await this.#persist(monitor);
    return answer;
  }

  /**
   * Writes the totals now, or by an alarm at most `PERSIST_EVERY_MS` after the last write. Never throws: it runs
   * after the delta was merged and the answer made, so a failed write is logged and the next call writes again (the
   * counts stay in memory meanwhile; only an eviction before a good write loses them).
   */
  async #persist(monitor: HealthMonitor): Promise<void> {
    const at = Date.now();
    try {
      if (at - this.#persistedAt >= PERSIST_EVERY_MS) {
        this.#persistedAt = at;
        await this.ctx.storage.put(TOTALS_KEY, monitor.totals());
      } else if (!this.#alarmSet) {
        this.#alarmSet = true;
        await this.ctx.storage.setAlarm(this.#persistedAt + PERSIST_EVERY_MS);
      }
    } catch (error) {
      // The next call writes at once and may set the alarm again.
      this.#persistedAt = Number.NEGATIVE_INFINITY;
      this.#alarmSet = false;
      this.#log.error('the health aggregator could not store its totals; the next call tries again', {
        error: messageOf(error),
      });
    }
  }

  override async alarm(): Promise<void> {
    this.#alarmSet = false;
    if (this.#monitor === undefined) return;
    this.#persistedAt = Date.now();
    await this.ctx.storage.put(TOTALS_KEY, this.#monitor.totals());
  }
}

/**
 * The answer to `op` from the merged monitor.
 * @throws ShipshapeError INPUT_INVALID when a `feedback-list` call carries no list.
 */
function answerOp(op: AggregatorOp, call: AggregatorCall, monitor: HealthMonitor): Response {
  switch (op) {
    case 'ingest':
      return new Response(null, { status: 204 });
    case 'report':
      return Response.json(monitor.checkHealth());
    case 'snapshot': {
      // The report first: it may fire an alert, which the totals then count.
      const report = monitor.checkHealth();
      return Response.json({ totals: monitor.totals(), report } satisfies AggregateSnapshot);
    }
    case 'feedback':
      return Response.json(monitor.feedback(String(call.id), String(call.label)));
    case 'feedback-list': {
      if (!Array.isArray(call.items)) {
        throw new ShipshapeError('INPUT_INVALID', 'A feedback-list call carries items: [{ id, label }].');
      }
      return Response.json(
        call.items.map(({ id, label }) =>
          monitor.feedback(String(id), String(label)),
        ) satisfies FeedbackResult[],
      );
    }
  }
}

/**
 * Alerts go to the log, one line per event as `shipshape serve` writes them (`alertLogSink`), and, when
 * `SHIPSHAPE_ALERT_WEBHOOK` is set, to that URL.
 */
function alertSinks(config: EdgeConfig, log: Log): AlertSink[] {
  return [
    alertLogSink(log),
    ...(config.alertWebhook === undefined ? [] : [webhookSink(config.alertWebhook)]),
  ];
}

/** The aggregator's name for a model version: one Durable Object per `name@version`. */
export function aggregatorName(manifest: Pick<Manifest, 'name' | 'version'>): string {
  return `${manifest.name}@${manifest.version}`;
}

export interface DurableHealthStoreOptions {
  /** The `HEALTH` binding; undefined: every isolate answers for itself (`"scope": "isolate"`). */
  readonly namespace: DurableObjectNamespace | undefined;
  /** Flush an isolate's delta at least this often while it has traffic, ms. Default 2,000. */
  readonly flushIntervalMs?: number;
  /** ...and as soon as this many texts are pending. Default 256. */
  readonly flushTexts?: number;
  /**
   * How long one call to the aggregator may take, its answer's body included, ms. Default 10,000. Past it a read
   * answers 503 HEALTH_UNAVAILABLE and a flush gives up. The call's delta is not sent again (the object may have
   * merged it before it stalled): its counts may be lost, never counted twice.
   */
  readonly callTimeoutMs?: number;
  /** Clock, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Where failed flushes and the missing binding are reported. Default `createLog()`. */
  readonly log?: Log;
}

/** Where a report came from: the aggregate of every isolate, or (without the binding) this isolate alone. */
export type HealthScope = 'service' | 'isolate';
export type ScopedHealthReport = HealthReport & { readonly scope: HealthScope };

/** The comment line /metrics starts with when it shows one isolate only. */
export const PER_ISOLATE_METRICS_COMMENT =
  '# shipshape: per-isolate metrics (no HEALTH Durable Object binding; each isolate counts for itself)';

/**
 * The Worker's `HealthStore`. Each isolate records into its own monitor and flushes `takeDelta()` to the
 * `HealthAggregator` with `waitUntil`: at once when `flushIntervalMs` has passed since its last flush or
 * `flushTexts` texts are pending, else when the interval ends (a timer inside the request's `waitUntil`, so the
 * counts of an isolate's last request go even if no request follows). Reads carry the isolate's pending delta to the
 * aggregator, so an answer includes the request before it on this isolate. A delta the aggregator did not take
 * (unreachable, 5xx) is merged back into the local monitor and travels with the next call.
 *
 * Every call has a deadline (`callTimeoutMs`): an aggregator that never answers, or never finishes an answer, makes a
 * read answer 503, never hang.
 *
 * Without the binding, every read answers from the isolate's own monitor and says so (`"scope": "isolate"`,
 * `PER_ISOLATE_METRICS_COMMENT`); the first such read logs a warning.
 * @throws EdgeError HEALTH_UNAVAILABLE (503) from a read when the aggregator cannot be reached, refuses the call or
 *   does not answer within `callTimeoutMs`.
 */
export function createDurableHealthStore(options: DurableHealthStoreOptions): HealthStore {
  const { namespace } = options;
  const flushIntervalMs = options.flushIntervalMs ?? 2_000;
  const flushTexts = options.flushTexts ?? 256;
  const callTimeoutMs = options.callTimeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  const log = options.log ?? createLog();
  let lastFlushAt = Number.NEGATIVE_INFINITY;
  let textsAtFlush = 0;
  let pendingRequests = 0;
  let timerArmed = false;
  let warnedMissing = false;

  /**
   * One call with the isolate's pending delta: the answer's JSON body (undefined for an empty one). On a failure the
   * object did not merge, the delta goes back into `local`.
   */
  async function call(
    local: HealthMonitor,
    ns: DurableObjectNamespace,
    op: AggregatorOp,
    extra: { items?: readonly FeedbackItem[] } = {},
  ): Promise<unknown> {
    const delta = local.takeDelta();
    lastFlushAt = now();
    textsAtFlush = local.totals().texts;
    pendingRequests = 0;
    // A stub per call: a stub is an I/O object of the request that made it.
    const stub = ns.get(ns.idFromName(aggregatorName(local.manifest)));
    const body: AggregatorCall = { manifest: local.manifest, delta, ...extra };
    // Once the deadline passed, a late failure must not merge the delta back: the object may have merged it.
    let late = false;
    const exchange = async (): Promise<unknown> => {
      let response: Response;
      try {
        response = (await stub.fetch(`https://health-aggregator/${op}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        })) as unknown as Response;
      } catch (cause) {
        if (!late) local.mergeDelta(delta);
        throw new EdgeError('HEALTH_UNAVAILABLE', 'The health aggregate cannot be reached; retry shortly.', {
          cause,
        });
      }
      // The body is read under the same deadline: an answer whose headers came can still stall.
      const text = await response.text();
      if (response.ok) return text === '' ? undefined : (JSON.parse(text) as unknown);
      // A 4xx (another model version under this name) cannot succeed later: the delta is dropped, not retried. A 5xx
      // given after the merge (DELTA_MERGED_HEADER) counted it already.
      const merged = response.headers.get(DELTA_MERGED_HEADER) !== null;
      if (response.status >= 500 && !merged && !late) local.mergeDelta(delta);
      log.error('the health aggregator refused a call', {
        op,
        status: response.status,
        merged,
        detail: text,
      });
      throw new EdgeError(
        'HEALTH_UNAVAILABLE',
        `The health aggregate answered ${response.status}; retry shortly. The server log has the details.`,
      );
    };
    // Timer and call belong to this request: nothing here waits on another request's promise.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        late = true;
        log.error(
          'the health aggregator did not answer in time; the counts of this call are not sent again',
          {
            op,
            timeoutMs: callTimeoutMs,
          },
        );
        reject(
          new EdgeError(
            'HEALTH_UNAVAILABLE',
            `The health aggregate did not answer within ${callTimeoutMs} ms; retry shortly.`,
          ),
        );
      }, callTimeoutMs);
    });
    try {
      return await Promise.race([exchange(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  function flush(local: HealthMonitor, ns: DurableObjectNamespace): Promise<void> {
    return call(local, ns, 'ingest').then(
      () => undefined,
      (error: unknown) =>
        log.warn('health flush failed; counts the aggregator surely did not take go with the next one', {
          error: messageOf(error),
        }),
    );
  }

  function noteMissing(): void {
    if (warnedMissing) return;
    warnedMissing = true;
    log.warn(
      'no HEALTH Durable Object binding: /metrics, /v1/health and /v1/feedback answer for one isolate each',
    );
  }

  return {
    async report(local) {
      if (namespace === undefined) {
        noteMissing();
        return { ...local.checkHealth(), scope: 'isolate' } satisfies ScopedHealthReport;
      }
      const report = (await call(local, namespace, 'report')) as HealthReport;
      return { ...report, scope: 'service' } satisfies ScopedHealthReport;
    },

    async metrics(local) {
      if (namespace === undefined) {
        noteMissing();
        return `${PER_ISOLATE_METRICS_COMMENT}\n${renderMonitorMetrics(local.totals(), local.checkHealth())}`;
      }
      const { totals, report } = (await call(local, namespace, 'snapshot')) as AggregateSnapshot;
      // The aggregator's monitor never ran the model: the backend is the isolates'.
      return renderMonitorMetrics({ ...totals, backend: local.totals().backend }, report);
    },

    async feedbackAll(local, items) {
      if (namespace === undefined) {
        noteMissing();
        return items.map(({ id, label }) => local.feedback(id, label));
      }
      // The whole list in one call: one round trip, not one per item.
      const results = (await call(local, namespace, 'feedback-list', {
        items: items.map(({ id, label }) => ({ id, label })),
      })) as FeedbackResult[];
      if (!Array.isArray(results) || results.length !== items.length) {
        throw new EdgeError(
          'HEALTH_UNAVAILABLE',
          `The health aggregate answered ${Array.isArray(results) ? results.length : 'no'} feedback results for ${items.length} items; retry shortly.`,
        );
      }
      return results;
    },

    afterRequest(local, waitUntil) {
      if (namespace === undefined || waitUntil === undefined) return;
      pendingRequests += 1;
      const at = now();
      if (at - lastFlushAt >= flushIntervalMs || local.totals().texts - textsAtFlush >= flushTexts) {
        waitUntil(flush(local, namespace));
        return;
      }
      if (timerArmed) return;
      timerArmed = true;
      const wait = Math.max(0, lastFlushAt + flushIntervalMs - at);
      waitUntil(
        new Promise((resolve) => setTimeout(resolve, wait)).then(() => {
          timerArmed = false;
          return pendingRequests > 0 ? flush(local, namespace) : undefined;
        }),
      );
    },
  };
}
