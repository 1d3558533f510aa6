// The gate's public types: one check and its stable key, the result, and what the gate is given.
import type { Report, UploadSize } from '../report.ts';
import type { Sla } from '../sla.ts';
import type { Baseline } from './baseline.ts';
import type { MetricId } from './metrics.ts';

/** `warn` marks a finding that does not block a release (e.g. a memory plan that missed); only `fail` does. */
export type Verdict = 'pass' | 'fail' | 'warn' | 'skipped';
/** `stability`: a scenario whose measurement windows disagreed or had too few samples (never fails, warns). */
export type CheckKind =
  | 'sla'
  | 'presence'
  | 'regression'
  | 'upload'
  | 'memory-plan'
  | 'capacity-plan'
  | 'capacity-limit'
  | 'stability';

/** One line of the gate's summary: a display part (strings) and a machine part (key, metric id, numbers). */
export interface GateCheck {
  /**
   * Stable identity, unique within one result: `scenario|metricId|kind`, and for an SLA check also the rule's match,
   * `scenario|metricId|sla@<match>` (two rules may limit one scenario's metric); see `checkKey`. What
   * re-measurement matches checks by.
   */
  readonly key: string;
  readonly kind: CheckKind;
  /** The scenario id; for a presence check of an SLA rule that matched nothing, the rule's pattern. */
  readonly scenario: string;
  readonly metricId: MetricId;
  /** Display label, e.g. `p95 latency vs baseline`; two checks may share one (both throughputs). */
  readonly metric: string;
  readonly value: string;
  readonly limit: string;
  readonly verdict: Verdict;
  readonly detail: string;
  /** Unit of `measured`, `limitValue` and `baselineValue` (e.g. `ms`, `items/s`, `MiB`, `%`, `bytes`). */
  readonly unit?: string;
  /** The measured value, in `unit`, where there is one. */
  readonly measured?: number;
  /**
   * The limit in `unit` for SLA, upload, memory-plan and capacity-limit checks; for a regression check, the
   * allowed change in percent (after any window-noise widening).
   */
  readonly limitValue?: number;
  /** Regression checks: the baseline's value, in `unit` (its latest run's, or the history's centre). */
  readonly baselineValue?: number;
  /** Regression checks: measured / baseline - 1, as a percentage. */
  readonly changePct?: number;
}

/**
 * The stable key of a check: scenario, metric id and kind, then `@rule` when one is given (an SLA rule's match).
 * @example checkKey({ scenario: 'a', metricId: 'p95Ms', kind: 'sla' }, 'in-process/**') // 'a|p95Ms|sla@in-process/**'
 */
export function checkKey(check: Pick<GateCheck, 'scenario' | 'metricId' | 'kind'>, rule?: string): string {
  return `${check.scenario}|${check.metricId}|${check.kind}${rule === undefined ? '' : `@${rule}`}`;
}

/** A check without its key, which `keyed` derives. */
export type UnkeyedCheck = Omit<GateCheck, 'key'>;

/** Adds the stable key to a check; `rule` is the SLA rule's match for an SLA check. */
export function keyed(check: UnkeyedCheck, rule?: string): GateCheck {
  return { key: checkKey(check, rule), ...check };
}

export interface GateResult {
  readonly passed: boolean;
  readonly checks: readonly GateCheck[];
  /** Things a reader should know that are not checks (e.g. no baseline given, re-measurement reports). */
  readonly notes: readonly string[];
  /**
   * What must be read before any verdict (the baseline ran on another machine or in another mode): the summary
   * states these right under its title.
   */
  readonly caveats?: readonly string[];
}

export interface GateInput {
  readonly report: Report;
  readonly sla: Sla;
  /** Without a baseline, only the SLA is checked; a single report is wrapped by `baselineFromReport`. */
  readonly baseline?: Baseline;
  /** Overrides the report's own `uploadSize` (e.g. from `--upload-size-file`). */
  readonly uploadSize?: UploadSize;
}
