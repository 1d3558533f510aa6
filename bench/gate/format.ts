// How the gate writes numbers, changes and p-values in its checks and summary.
import type { Scenario } from '../report.ts';

/** Formats a number with about three significant digits, without exponent notation for ordinary sizes. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  if (abs === 0) return '0';
  return value.toPrecision(3);
}

/** A relative change as a signed percentage, e.g. `+12.5%`. */
export function formatPct(change: number): string {
  return `${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`;
}

/** A p-value, e.g. `p=0.031`, or `p<0.0001` below that. */
export function formatP(p: number): string {
  return p < 1e-4 ? 'p<0.0001' : `p=${p.toPrecision(2)}`;
}

/** The higher capacity point's name: its rate as a multiple of the sustainable rate. */
export function aboveLabel(c: NonNullable<Scenario['capacity']>): string {
  const factor = c.aboveRatePerSecond / c.model.sustainableRatePerSecond;
  return `${Number.isFinite(factor) ? Number(factor.toFixed(2)) : c.aboveFactor}x sustainable`;
}

/** Bytes in a MiB, the unit of the gate's memory checks. */
export const MIB = 1024 * 1024;
