// Where the edge reads its health from: the process's own monitor (Node), or the aggregate of every isolate (Workers).
import type { FeedbackResult, HealthMonitor, HealthReport } from '../runtime/monitor/types.ts';

/** One piece of ground truth: the true label of the prediction `id`. */
export interface FeedbackItem {
  readonly id: string;
  readonly label: string;
}

/**
 * Reads of the service's health. Every process or isolate records into its own `HealthMonitor` (the `local` argument);
 * a store decides what `/metrics`, `/v1/health` and `/v1/feedback` see. The Node server uses the local monitor as it
 * is; a Worker sends each isolate's deltas to one Durable Object and answers from the aggregate there.
 */
export interface HealthStore {
  /** The health report `GET /v1/health` answers. */
  report(local: HealthMonitor): Promise<HealthReport>;
  /** The Prometheus text exposition `GET /metrics` answers (the edge's own gauges are appended by the app). */
  metrics(local: HealthMonitor): Promise<string>;
  /**
   * Ground truth for prediction ids (`POST /v1/feedback`, one item or a list): one result per item, in order, each
   * as `HealthMonitor.feedback` gives it. A Worker sends the whole list in one call to the aggregate.
   */
  feedbackAll(local: HealthMonitor, items: readonly FeedbackItem[]): Promise<FeedbackResult[]>;
  /**
   * Called after every answered request with the app's means to outlive it (`waitUntil` on Workers, undefined on
   * Node): a Worker flushes the isolate's delta now and then. Never throws. A store with it takes the monitors'
   * deltas, so they keep their remembered prediction ids for them (`forwardsDeltas`); without it they keep none.
   */
  afterRequest?(local: HealthMonitor, waitUntil: ((promise: Promise<unknown>) => void) | undefined): void;
}
