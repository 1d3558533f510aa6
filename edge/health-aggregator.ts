// Health across Worker isolates: the Durable Object that merges every isolate's monitor deltas into one monitor per
// model version.
import { DurableObject } from 'cloudflare:workers';
import type {
  DurableObjectState,
  Request as WorkerRequest,
  Response as WorkerResponse,
} from '@cloudflare/workers-types/index.ts';
import type { Manifest } from '../runtime/bundle/manifest.ts';
import { ShipshapeError, hasErrorCode, messageOf } from '../runtime/errors.ts';
import { createHealthMonitor, logSink, parseThresholds, webhookSink } from '../runtime/monitor/index.ts';
import type {
  AlertSink,
  HealthMonitor,
  HealthReport,
  MonitorDelta,
  MonitorTotals,
  Thresholds,
} from '../runtime/monitor/types.ts';
import { createLog, type Log } from './log.ts';

/** The Worker vars the aggregator reads: the same as its isolates'. */
export interface HealthAggregatorEnv {
  /** JSON, some fields of `Thresholds` (`thresholdsSchema`). */
  readonly SHIPSHAPE_HEALTH_THRESHOLDS?: string;
  /** URL that receives every alert event as a JSON POST. */
  readonly SHIPSHAPE_ALERT_WEBHOOK?: string;
}

/** The operations of the aggregator, each `POST /<op>` with an `AggregatorCall` body. */
export const AGGREGATOR_OPS = ['ingest', 'report', 'snapshot', 'feedback'] as const;
export type AggregatorOp = (typeof AGGREGATOR_OPS)[number];

/** What an isolate sends with every call: its bundle's manifest and what its monitor counted since the last call. */
export interface AggregatorCall {
  readonly manifest: Manifest;
  readonly delta?: MonitorDelta;
  /** `feedback` only. */
  readonly id?: string;
  readonly label?: string;
}

/** What `snapshot` answers: everything `/metrics` shows. */
export interface AggregateSnapshot {
  readonly totals: MonitorTotals;
  readonly report: HealthReport;
}

/** Storage key of the cumulative totals. */
const TOTALS_KEY = 'totals';
/** The totals are written at most this often (and by an alarm when changes are pending): ms. */
const PERSIST_EVERY_MS = 1_000;

function errorAnswer(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
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
    const monitor = createHealthMonitor(manifest, {
      thresholds: readThresholds(this.env),
      sinks: alertSinks(this.env),
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
      // Another model version under this name is the caller's to fix; anything else is ours.
      return hasErrorCode(error, 'HEALTH_DELTA_MISMATCH')
        ? errorAnswer(409, 'HEALTH_DELTA_MISMATCH', messageOf(error))
        : errorAnswer(500, 'INTERNAL', messageOf(error));
    }
    let answer: Response;
    switch (op) {
      case 'ingest':
        answer = new Response(null, { status: 204 });
        break;
      case 'report':
        answer = Response.json(monitor.checkHealth());
        break;
      case 'snapshot': {
        // The report first: it may fire an alert, which the totals then count.
        const report = monitor.checkHealth();
        answer = Response.json({ totals: monitor.totals(), report } satisfies AggregateSnapshot);
        break;
      }
      case 'feedback':
        answer = Response.json(monitor.feedback(String(call.id), String(call.label)));
        break;
    }
    await this.#persist(monitor);
    return answer;
  }

  /** Writes the totals now, or by an alarm at most `PERSIST_EVERY_MS` after the last write. */
  async #persist(monitor: HealthMonitor): Promise<void> {
    const at = Date.now();
    if (at - this.#persistedAt >= PERSIST_EVERY_MS) {
      this.#persistedAt = at;
      await this.ctx.storage.put(TOTALS_KEY, monitor.totals());
    } else if (!this.#alarmSet) {
      this.#alarmSet = true;
      await this.ctx.storage.setAlarm(this.#persistedAt + PERSIST_EVERY_MS);
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
 * `SHIPSHAPE_HEALTH_THRESHOLDS`, the Worker var its isolates read too.
 * @throws ShipshapeError INPUT_INVALID naming the variable (the isolates refuse to serve with it as well).
 */
function readThresholds(env: HealthAggregatorEnv): Partial<Thresholds> {
  const raw = env.SHIPSHAPE_HEALTH_THRESHOLDS?.trim() ?? '';
  if (raw === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ShipshapeError('INPUT_INVALID', 'SHIPSHAPE_HEALTH_THRESHOLDS is not JSON; give a JSON object.');
  }
  return parseThresholds(value, 'SHIPSHAPE_HEALTH_THRESHOLDS');
}

/** Alerts go to the log (one JSON line per event) and, when `SHIPSHAPE_ALERT_WEBHOOK` is set, to that URL. */
function alertSinks(env: HealthAggregatorEnv): AlertSink[] {
  const sinks: AlertSink[] = [logSink((line) => console.warn(line))];
  const url = env.SHIPSHAPE_ALERT_WEBHOOK?.trim() ?? '';
  if (url !== '') sinks.push(webhookSink(url));
  return sinks;
}

/** The aggregator's name for a model version: one Durable Object per `name@version`. */
export function aggregatorName(manifest: Pick<Manifest, 'name' | 'version'>): string {
  return `${manifest.name}@${manifest.version}`;
}
