// The alert state machine: fire once when a check turns bad, repeat at most every interval, resolve with hysteresis.
import { messageOf } from '../errors.ts';
import type { AlertEvent, AlertSink, AlertState, CheckName, HealthCheck, Thresholds } from './types.ts';

/** How long a resolved alert stays in `alerts()`, ms. */
const RESOLVED_KEPT_MS = 3600_000;
/** A failing sink is reported at most this often, ms. */
const SINK_WARNING_INTERVAL_MS = 60_000;

/**
 * Whether a bad check's value is back inside its threshold by the margin. For a ceiling: below
 * `threshold x (1 - margin)` (an OOV ceiling of 0.05 with 0.1 resolves below 0.045). For a floor (accuracy): above
 * `threshold + margin x (1 - threshold)`, a share of the headroom to a perfect 1, since `threshold x (1 + margin)` would
 * put an accuracy floor of 0.84 at 0.92, above what the model ever scored.
 */
export function isRecovered(check: HealthCheck, margin: number): boolean {
  if (check.value === null) return false;
  return check.direction === 'max'
    ? check.value <= check.threshold * (1 - margin)
    : check.value >= check.threshold + margin * (1 - check.threshold);
}

export interface AlertBookOptions {
  readonly model: { readonly name: string; readonly version: string };
  readonly sinks: readonly AlertSink[];
  readonly warn: (message: string) => void;
  /** Called once per first firing (the `alertsFired` counter). */
  readonly onFired: (check: CheckName) => void;
}

/** The alerts of one monitor: one state per check, evaluated against each new set of checks. */
export class AlertBook {
  private readonly states = new Map<CheckName, AlertState>();
  private readonly sinkWarnedAt = new Map<string, number>();

  constructor(private readonly options: AlertBookOptions) {}

  /** Alerts firing now, and those resolved within the last hour. */
  all(now: number): AlertState[] {
    return [...this.states.values()].filter(
      (state) =>
        state.state === 'firing' ||
        (state.resolvedAt !== undefined && now - Date.parse(state.resolvedAt) <= RESOLVED_KEPT_MS),
    );
  }

  firing(): AlertState[] {
    return [...this.states.values()].filter((state) => state.state === 'firing');
  }

  /**
   * Moves each check's alert along and sends the events. A check without a verdict (`insufficient_data`,
   * `unavailable`) leaves its alert as it is: no data is not a recovery, and not a reason to page either.
   */
  evaluate(checks: readonly HealthCheck[], thresholds: Thresholds, now: number): AlertEvent[] {
    const events: AlertEvent[] = [];
    const at = new Date(now).toISOString();
    for (const check of checks) {
      if (check.status !== 'ok' && check.status !== 'bad') continue;
      const current = this.states.get(check.name);
      const firing = current?.state === 'firing' ? current : undefined;
      if (firing === undefined) {
        if (check.status !== 'bad') continue;
        const alert = this.alertOf(check, at, at);
        this.states.set(check.name, alert);
        this.options.onFired(check.name);
        events.push({ kind: 'firing', alert });
      } else if (isRecovered(check, thresholds.resolveMargin)) {
        const alert: AlertState = {
          ...this.alertOf(check, firing.since, at),
          resolvedAt: at,
          state: 'resolved',
        };
        this.states.set(check.name, alert);
        events.push({ kind: 'resolved', alert });
      } else {
        const due = now - Date.parse(firing.lastSentAt) >= thresholds.alertRepeatSeconds * 1000;
        const alert = this.alertOf(check, firing.since, due ? at : firing.lastSentAt);
        this.states.set(check.name, alert);
        if (due) events.push({ kind: 'repeat', alert });
      }
    }
    for (const event of events) this.deliver(event, now);
    return events;
  }

  private alertOf(check: HealthCheck, since: string, lastSentAt: string): AlertState {
    return {
      check: check.name,
      severity: check.severity,
      state: 'firing',
      since,
      lastSentAt,
      value: check.value,
      threshold: check.threshold,
      detail: check.detail,
      model: this.options.model,
    };
  }

  /** Hands the event to every sink without waiting; a sink's failure is reported, at most once a minute per sink. */
  private deliver(event: AlertEvent, now: number): void {
    for (const sink of this.options.sinks) {
      const failed = (error: unknown): void => {
        const last = this.sinkWarnedAt.get(sink.name);
        if (last !== undefined && now - last < SINK_WARNING_INTERVAL_MS) return;
        this.sinkWarnedAt.set(sink.name, now);
        this.options.warn(
          `shipshape: alert sink "${sink.name}" failed to deliver the ${event.kind} ${event.alert.check} alert: ${messageOf(error)}`,
        );
      };
      try {
        const sent = sink.send(event);
        if (sent !== undefined) sent.catch(failed);
      } catch (error) {
        failed(error);
      }
    }
  }
}
