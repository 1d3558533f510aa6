// The errors of shipshape: one coded base class every project error extends, and the runtime's own codes.

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
  | 'FEEDBACK_DUPLICATE';

/** Marks a coded error; `Symbol.for` so the guard also knows errors made by another bundled copy of this module. */
const CODED = Symbol.for('shipshape.coded-error');

export interface CodedErrorOptions {
  /** The underlying error, passed through untouched. */
  cause?: unknown;
}

/**
 * The base of every shipshape error, in the runtime, the edge, the bench harness, ops and the CLI: a stable `code`
 * callers branch on and a message that says what failed, the value and the fix. Each subclass keeps its own code
 * namespace (`ErrorCode`, `EdgeErrorCode`, `PlanErrorCode`, ...) and a fixed `name`.
 */
export abstract class CodedError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options: CodedErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    Object.defineProperty(this, CODED, { value: true });
  }

  /** The wire shape: code and message, never a stack. */
  toJSON(): { code: Code; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** True for any shipshape error of any subclass, including one thrown by another bundled copy of this module. */
export function isCodedError(value: unknown): value is CodedError {
  return (
    value instanceof CodedError ||
    (value instanceof Error &&
      (value as { [CODED]?: unknown })[CODED] === true &&
      typeof (value as { code?: unknown }).code === 'string')
  );
}

export interface ShipshapeErrorOptions extends CodedErrorOptions {
  /** The bundle file, input index or backend the error is about, when there is one. */
  subject?: string;
}

/** The runtime's error (bundles, tokenizers, backends, predictors). `name` is fixed so type guards survive two bundled copies. */
export class ShipshapeError extends CodedError<ErrorCode> {
  override readonly name = 'ShipshapeError';
  readonly subject: string | undefined;

  constructor(code: ErrorCode, message: string, options: ShipshapeErrorOptions = {}) {
    super(code, message, options);
    this.subject = options.subject;
  }
}

/**
 * True for an error of the coded subclass `type`, including one thrown by another bundled copy of its module: there
 * `instanceof` fails, so the subclass's fixed `name` and a string `code` decide.
 */
export function isCodedErrorOf<E extends CodedError>(
  value: unknown,
  type: abstract new (...args: never[]) => E,
  name: string,
): value is E {
  return (
    value instanceof type ||
    (value instanceof Error && value.name === name && typeof (value as { code?: unknown }).code === 'string')
  );
}

/** True for any shipshape error, including one thrown by another bundled copy of this module. */
export function isShipshapeError(value: unknown): value is ShipshapeError {
  return isCodedErrorOf(value, ShipshapeError, 'ShipshapeError');
}

/** True when `value` is a shipshape error with this code. */
export function hasErrorCode(value: unknown, code: ErrorCode): value is ShipshapeError {
  return isShipshapeError(value) && value.code === code;
}

/**
 * The message of anything thrown, for a message of our own: an Error's `message`, a string as it is, an object's
 * string `message` field (an error from another realm, or one posted from a worker), else the value as
 * JSON, else `String(value)` (`undefined`, symbols, objects that cannot be serialized).
 */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null) {
    const { message } = error as { message?: unknown };
    if (typeof message === 'string') return message;
    try {
      const json = JSON.stringify(error);
      if (json !== undefined) return json;
    } catch {
      // Cyclic or BigInt-holding: fall through to String().
    }
  }
  return String(error);
}
