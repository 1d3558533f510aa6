// Go's number formatting as Prometheus's alert templates apply it, so generated unit tests can state the exact
// annotation text promtool will render (promtool compares annotations exactly).

function stripTrailingZeros(digits: string): string {
  return digits.includes('.') ? digits.replace(/0+$/, '').replace(/\.$/, '') : digits;
}

/**
 * `fmt.Sprintf("%.<precision>g", x)` in Go: shortest of fixed and exponent notation at `precision` significant
 * digits, trailing zeros removed, exponent with a sign and at least two digits (`1e-05`). Go rounds an exact tie
 * (12345 to 4 digits) to even and JavaScript up; the generated tests' values are never exact ties at the digit
 * they round.
 */
export function formatGoG(x: number, precision: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  if (x === 0) return '0';
  const [mantissa = '', exponentText = '0'] = x.toExponential(precision - 1).split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= precision) {
    const sign = exponent < 0 ? '-' : '+';
    return `${stripTrailingZeros(mantissa)}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return stripTrailingZeros(x.toFixed(Math.max(0, precision - 1 - exponent)));
}

/** Prometheus's `humanizePercentage` template function: `%.4g%%` of `x * 100`. */
export function humanizePercentage(x: number): string {
  return `${formatGoG(x * 100, 4)}%`;
}
