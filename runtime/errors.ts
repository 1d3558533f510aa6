// The one error type of shipshape: a stable `code` callers branch on, a message that names the fix.

/** Every code a shipshape error can carry. Stable: callers and the edge's status mapping depend on them. */
export type ErrorCode =
  | 'BUNDLE_INVALID'
  | 'BUNDLE_FILE_MISSING'
  | 'BUNDLE_FILE_TRUNCATED'
  | 'BUNDLE_FILE_TOO_LARGE'
  | 'BUNDLE_FILE_UNSAFE'
  | 'BUNDLE_LOAD_TIMEOUT'
  | 'BUNDLE_HASH_MISMATCH'
  | 'BUNDLE_SCHEMA_UNSUPPORTED'
  | 'BUNDLE_MODEL_MISMATCH'
  | 'TOKENIZER_UNSUPPORTED'
  | 'VOCAB_INVALID'
  | 'PREPROCESSING_MISMATCH'
  | 'PARITY_MISMATCH'
  // A Worker isolate's health delta sent to the aggregator of another model name or version (a deployment bug).
  | 'HEALTH_DELTA_MISMATCH'
  | 'INPUT_INVALID'
  | 'BACKEND_UNAVAILABLE'
  | 'BACKEND_FAILED'
  | 'OVERLOADED'
  | 'DISPOSED'
  // Feedback (POST /v1/feedback): an id no prediction of the serving model has (or one forgotten), and an id that
  // already has its ground truth.
  | 'PREDICTION_NOT_FOUND'
  | 'FEEDBACK_DUPLICATE'
  // The bench's baseline (bench/baseline-history.json or a report): unreadable or invalid, and a run of another
  // mode (quick/full) than the history's, which must not be pooled with it.
  | 'BASELINE_INVALID'
  | 'BASELINE_MODE_MISMATCH';

export interface ShipshapeErrorOptions {
  /** The underlying error, passed through untouched. */
  cause?: unknown;
  /** The bundle file, input index or backend the error is about, when there is one. */
  subject?: string;
}

/** Base error. `name` is fixed so type guards survive two bundled copies of this module. */
export class ShipshapeError extends Error {
  override readonly name = 'ShipshapeError';
  readonly code: ErrorCode;
  readonly subject: string | undefined;

  constructor(code: ErrorCode, message: string, options: ShipshapeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.subject = options.subject;
  }

  /** The wire shape the edge answers with: never a stack. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** True for any shipshape error, including one thrown by another bundled copy of this module. */
export function isShipshapeError(value: unknown): value is ShipshapeError {
  return (
    value instanceof ShipshapeError ||
    (value instanceof Error &&
      value.name === 'ShipshapeError' &&
      typeof (value as { code?: unknown }).code === 'string')
  );
}

/** True when `value` is a shipshape error with this code. */
export function hasErrorCode(value: unknown, code: ErrorCode): value is ShipshapeError {
  return isShipshapeError(value) && value.code === code;
}

/** The message of anything thrown: an Error's `message`, or the value as a string. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
