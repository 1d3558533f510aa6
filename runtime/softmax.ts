// Turns a row of logits into probabilities, the top index and scores by label: the steps between a session run and a
// prediction.

/**
 * Numerically stable softmax of `logits[offset .. offset + width)`, computed in float64 (subtracting the row's
 * maximum first, so large logits do not overflow `Math.exp`).
 */
export function softmax(logits: ArrayLike<number>, offset = 0, width = logits.length - offset): number[] {
  let max = -Infinity;
  for (let i = 0; i < width; i++) {
    const value = logits[offset + i] as number;
    if (value > max) max = value;
  }
  const out = new Array<number>(width);
  let sum = 0;
  for (let i = 0; i < width; i++) {
    const e = Math.exp((logits[offset + i] as number) - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < width; i++) out[i] = (out[i] as number) / sum;
  return out;
}

/** Index of the largest value of `values[offset .. offset + width)`; the first one on ties, as `torch.argmax`. */
export function argmax(values: ArrayLike<number>, offset = 0, width = values.length - offset): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < width; i++) {
    const value = values[offset + i] as number;
    if (value > bestValue) {
      bestValue = value;
      best = i;
    }
  }
  return best;
}

/**
 * Scores keyed by label in an object with no prototype, so any label is an own key: `__proto__` would otherwise set
 * the prototype instead of a score, and `constructor` or `toString` would read as inherited functions when absent.
 * JSON.stringify, spreading and structured cloning keep every key.
 */
export function scoresByLabel(labels: readonly string[], values: ArrayLike<number>): Record<string, number> {
  const scores = Object.create(null) as Record<string, number>;
  labels.forEach((label, i) => (scores[label] = values[i] as number));
  return scores;
}
