// Confirmation of timing failures by re-measurement: a failure that a fresh measurement does not reproduce was the
// machine's moment, not the code's. On shared cores one burst of contention can push one scenario's p95 past any
// threshold a useful gate can afford, while a slower build stays slower every time it is measured.
import type { Report } from '../report.ts';
import type { GateCheck, GateResult } from './types.ts';

/**
 * Checks whose failure a re-measurement can overturn: measured values (a capacity plan's verdict among them), not
 * missing scenarios, upload sizes or a plan's configured limit.
 */
const REMEASURABLE: ReadonlySet<GateCheck['kind']> = new Set(['sla', 'regression', 'capacity-plan']);

/**
 * The re-measure policy, stated once: a failure that re-measurement can overturn stands only if every
 * re-measurement of its scenario fails the same check (same key) again; one that any re-measurement passes, or
 * merely warns about, becomes a warning. Its error rates: README "The re-measure policy", from
 * `bench/gate/policy-simulation.ts`.
 */
export const REMEASURE_POLICY = 'a failure stands only if every re-measurement reproduces it';

/**
 * The policy as a decision: does a first failure stand, given the verdicts of its check in each re-measurement
 * (undefined where a round did not produce the check, e.g. the scenario errored)? A round without the check
 * cannot clear it.
 */
export function failureStands(again: readonly (GateCheck['verdict'] | undefined)[]): boolean {
  return again.every((verdict) => verdict === undefined || verdict === 'fail');
}

/** Ids of the scenarios with a failing check that a re-measurement could overturn, in report order. */
export function scenariosToRemeasure(result: GateResult): string[] {
  const ids = result.checks
    .filter((c) => c.verdict === 'fail' && REMEASURABLE.has(c.kind))
    .map((c) => c.scenario);
  return [...new Set(ids)];
}

/** One re-measurement of some scenarios, judged on its own against the same SLA and baseline. */
export interface Remeasurement {
  /** Where its report was written, for the summary. */
  readonly report: string;
  readonly scenarios: readonly string[];
  readonly result: GateResult;
}

/**
 * The gate's verdict after re-measurement. A failing SLA, regression or capacity-plan check stays a failure only when every
 * re-measurement of its scenario fails the same check again; a check that any re-measurement passes becomes a
 * warning that keeps both values. Failures of other kinds (a missing or errored scenario, the upload size) stand.
 */
export function confirmFailures(first: GateResult, remeasured: readonly Remeasurement[]): GateResult {
  if (remeasured.length === 0) return first;
  checksByKey(first, 'the first measurement');
  const rounds = remeasured.map((r, i) => ({
    ...r,
    round: i + 1,
    checks: checksByKey(r.result, `re-measurement ${i + 1}`),
  }));
  const checks = first.checks.map((check): GateCheck => {
    if (check.verdict !== 'fail' || !REMEASURABLE.has(check.kind)) return check;
    const again = rounds
      .filter((r) => r.scenarios.includes(check.scenario))
      .map((r) => ({ round: r.round, check: r.checks.get(check.key) }));
    if (again.length === 0) return check;
    if (!failureStands(again.map((a) => a.check?.verdict))) {
      const cleared = again.find((a) => a.check !== undefined && a.check.verdict !== 'fail');
      if (cleared?.check === undefined) return check;
      return {
        ...check,
        verdict: 'warn',
        detail:
          `not reproduced: re-measurement ${cleared.round} gave ${cleared.check.value} (${cleared.check.verdict}); ` +
          `first measurement: ${check.detail || 'failed'}`,
      };
    }
    const values = again.map((a) => a.check?.value ?? 'not measured').join('; ');
    return {
      ...check,
      detail: `reproduced in ${again.length} re-measurement(s) (${values}); ${check.detail || 'failed'}`,
    };
  });
  const notes = [
    ...first.notes,
    ...remeasured.map(
      (r, i) =>
        `Re-measurement ${i + 1} of ${r.scenarios.map((s) => `\`${s}\``).join(', ')}: \`${r.report}\` ` +
        `(${r.result.checks.filter((c) => c.verdict === 'fail' && r.scenarios.includes(c.scenario)).length} of its checks failed).`,
    ),
  ];
  return { ...first, passed: checks.every((c) => c.verdict !== 'fail'), checks, notes };
}

/**
 * A result's checks by key. Keys must be unique: with two checks on one key the last would win, and a failure
 * could be cleared by another rule's pass.
 * @throws Error naming the first key that two checks share (a bug in how checks are keyed).
 */
function checksByKey(result: GateResult, which: string): Map<string, GateCheck> {
  const byKey = new Map<string, GateCheck>();
  for (const check of result.checks) {
    if (byKey.has(check.key)) throw new Error(`${which}: two checks share the key ${check.key}`);
    byKey.set(check.key, check);
  }
  return byKey;
}

/** One re-measurement's report, and where it was written. */
export interface MeasuredRound {
  readonly report: Report;
  /** Where the round's report was written, as the summary names it. */
  readonly path: string;
}

export interface RemeasureOptions {
  /** Re-measurements at most (0 re-measures nothing). */
  readonly rounds: number;
  /** Measures these scenarios once more (the bench, in the CLI); `round` counts from 1. */
  readonly measure: (scenarios: readonly string[], round: number) => Promise<MeasuredRound>;
  /** The gate's own checks, applied to each re-measurement. */
  readonly judge: (report: Report) => GateResult;
}

/**
 * Re-measures the scenarios with a failing SLA, regression or capacity-plan check, up to `rounds` times; each round
 * measures only the scenarios that failed every round before it. Rejects with whatever `measure` rejects with.
 */
export async function remeasureFailures(
  first: GateResult,
  options: RemeasureOptions,
): Promise<Remeasurement[]> {
  const rounds: Remeasurement[] = [];
  let pending = scenariosToRemeasure(first);
  for (let round = 1; round <= options.rounds && pending.length > 0; round++) {
    const measured = await options.measure(pending, round);
    const result = options.judge(measured.report);
    rounds.push({ report: measured.path, scenarios: pending, result });
    const stillFailing = new Set(scenariosToRemeasure(result));
    pending = pending.filter((id) => stillFailing.has(id));
  }
  return rounds;
}
