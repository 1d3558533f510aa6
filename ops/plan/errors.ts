// The errors of `shipshape plan`: a stable code per reason the plan cannot be made, and a message naming the fix.
import { CodedError, isCodedErrorOf } from '../../runtime/errors.ts';

/** Every code a plan error can carry. Stable: scripts and tests branch on them. */
export type PlanErrorCode =
  /** The report has no HTTP measurements to take the service profile from (for `--bundle`, none for that bundle). */
  | 'PLAN_NO_HTTP_PROFILE'
  /** The report has self-checks (`http-capacity` scenarios) for several bundles and no `--bundle` chose one. */
  | 'PLAN_PROFILE_AMBIGUOUS'
  /** The p95 limit is below what one request takes alone: no rate meets it. */
  | 'PLAN_SLA_UNREACHABLE'
  /** The replicas the peak needs cost more than `--max-monthly-usd` allows, or exceed `--max-replicas`. */
  | 'PLAN_OVER_BUDGET'
  /** A pricing file that is missing or malformed. */
  | 'PLAN_PRICING_INVALID'
  /** A generated Kubernetes manifest failed its schema (a bug: nothing is written). */
  | 'PLAN_MANIFEST_INVALID'
  /** An SLA without an `http-open/*` p95 line and no `--p95-ms`. */
  | 'PLAN_NO_P95_LIMIT'
  /** A plan that fails its own schema (plan.json read back, or a bug: nothing is written). */
  | 'PLAN_INVALID';

/** A plan that cannot be made from these inputs. `name` is fixed so the type guard survives two bundled copies. */
export class PlanError extends CodedError<PlanErrorCode> {
  override readonly name = 'PlanError';
}

/** True for a plan error, including one from another bundled copy of this module. */
export function isPlanError(value: unknown): value is PlanError {
  return isCodedErrorOf(value, PlanError, 'PlanError');
}
