// The gate's public types: one check, the result, and what the gate is given.
import type { Report, UploadSize } from '../report.ts';
import type { Sla } from '../sla.ts';

/** `warn` marks a finding that does not block a release (e.g. a memory plan that missed); only `fail` does. */
export type Verdict = 'pass' | 'fail' | 'warn' | 'skipped';
export type CheckKind =
  'sla' | 'presence' | 'regression' | 'upload' | 'memory-plan' | 'capacity-plan' | 'capacity-limit';

/** One line of the gate's summary. */
export interface GateCheck {
  readonly kind: CheckKind;
  readonly scenario: string;
  readonly metric: string;
  readonly value: string;
  readonly limit: string;
  readonly verdict: Verdict;
  readonly detail: string;
}

export interface GateResult {
  readonly passed: boolean;
  readonly checks: readonly GateCheck[];
  /** Things a reader should know that are not checks (e.g. the baseline ran on another machine). */
  readonly notes: readonly string[];
}

export interface GateInput {
  readonly report: Report;
  readonly sla: Sla;
  /** Without a baseline, only the SLA is checked. */
  readonly baseline?: Report;
  /** Overrides the report's own `uploadSize` (e.g. from `--upload-size-file`). */
  readonly uploadSize?: UploadSize;
}
