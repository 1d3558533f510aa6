// Drift statistics: Jensen-Shannon distance and PSI between two distributions, and a Wilson bound for rates.
/**
 * PSI's floor for a bin's share: without one, a bin empty on one side makes PSI infinite (news-bag's reference has
 * no text of 0-7 tokens). 1e-4 is the usual choice of credit-scoring practice.
 */
export const PSI_EPSILON = 1e-4;

function total(counts: readonly number[]): number {
  let sum = 0;
  for (const count of counts) sum += count;
  return sum;
}

/**
 * Jensen-Shannon distance (base 2) between two distributions given as counts or shares over the same bins: the
 * square root of the JS divergence, so 0 for equal distributions and 1 for disjoint ones. Bounded, symmetric and
 * finite when a bin is empty on one side.
 * @returns null when either side has no mass.
 * @throws RangeError when the two sides have different numbers of bins.
 */
export function jsDistance(observed: readonly number[], reference: readonly number[]): number | null {
  if (observed.length !== reference.length) {
    throw new RangeError(
      `jsDistance: ${observed.length} observed bins against ${reference.length} reference bins.`,
    );
  }
  const p = total(observed);
  const q = total(reference);
  if (!(p > 0) || !(q > 0)) return null;
  let divergence = 0;
  for (let i = 0; i < observed.length; i += 1) {
    const pi = (observed[i] as number) / p;
    const qi = (reference[i] as number) / q;
    const mi = (pi + qi) / 2;
    if (pi > 0) divergence += 0.5 * pi * Math.log2(pi / mi);
    if (qi > 0) divergence += 0.5 * qi * Math.log2(qi / mi);
  }
  // Rounding can leave a hair below 0 for equal distributions.
  return Math.sqrt(Math.min(1, Math.max(0, divergence)));
}

/**
 * Population stability index, `sum((p - q) * ln(p / q))`, with each share floored at `epsilon` so an empty bin
 * gives a large finite term rather than infinity. Rule of thumb: below 0.1 stable, 0.1-0.25 a shift, above 0.25 a
 * major shift (at large samples: PSI grows like (bins - 1) / n from sampling noise alone).
 * @param epsilon share floor, default `PSI_EPSILON` (1e-4).
 * @returns null when either side has no mass.
 * @throws RangeError when the two sides have different numbers of bins.
 */
export function psi(
  observed: readonly number[],
  reference: readonly number[],
  epsilon = PSI_EPSILON,
): number | null {
  if (observed.length !== reference.length) {
    throw new RangeError(`psi: ${observed.length} observed bins against ${reference.length} reference bins.`);
  }
  const p = total(observed);
  const q = total(reference);
  if (!(p > 0) || !(q > 0)) return null;
  let index = 0;
  for (let i = 0; i < observed.length; i += 1) {
    const pi = Math.max(epsilon, (observed[i] as number) / p);
    const qi = Math.max(epsilon, (reference[i] as number) / q);
    index += (pi - qi) * Math.log(pi / qi);
  }
  return index;
}

/**
 * The 0.99 quantile of the standard normal distribution (one-sided 99%). A constant: simple-statistics' `probit`
 * approximates it as 2.3214, which moves a bound at 5 in 100 by 1%.
 */
export const Z_99 = 2.3263478740408408;

/**
 * Lower end of the one-sided Wilson score interval for a binomial rate: the observed rate is above this with the
 * given confidence. Unlike the normal approximation it stays inside [0, 1] and behaves at rates near 0, where OOV and
 * truncation rates live.
 * @param z the standard normal quantile of the confidence wanted, default `Z_99` (one-sided 99%).
 * @returns 0 when `trials` is 0.
 * @throws RangeError when `successes` is outside [0, trials] or `z` is not positive.
 */
export function wilsonLowerBound(successes: number, trials: number, z = Z_99): number {
  if (!(successes >= 0 && successes <= trials)) {
    throw new RangeError(
      `wilsonLowerBound: ${successes} successes of ${trials} trials; need 0 <= successes <= trials.`,
    );
  }
  if (!(z > 0))
    throw new RangeError(`wilsonLowerBound: z = ${z}; give a positive normal quantile (Z_99 = 2.326).`);
  if (trials === 0) return 0;
  const rate = successes / trials;
  const z2n = (z * z) / trials;
  const centre = rate + z2n / 2;
  const spread = z * Math.sqrt((rate * (1 - rate)) / trials + z2n / (4 * trials));
  return Math.max(0, (centre - spread) / (1 + z2n));
}

/**
 * Upper end of the one-sided Wilson score interval: the true rate is below this with the given confidence. By the
 * interval's symmetry, one minus the lower bound of the failures.
 * @param z as for `wilsonLowerBound`, default `Z_99`.
 * @returns 1 when `trials` is 0.
 * @throws RangeError as `wilsonLowerBound`.
 */
export function wilsonUpperBound(successes: number, trials: number, z = Z_99): number {
  if (trials === 0) return 1;
  return 1 - wilsonLowerBound(trials - successes, trials, z);
}
