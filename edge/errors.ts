// The edge's errors: its own codes next to the runtime's, and the one table that maps every code to an HTTP status.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import {
  CodedError,
  isCodedErrorOf,
  isShipshapeError,
  type CodedErrorOptions,
  type ErrorCode,
} from '../runtime/errors.ts';
import { boundMessage } from './excerpt.ts';
import { createLog, type Log } from './log.ts';

declare module 'hono' {
  interface ContextVariableMap {
    /** The code of the error answer, for the access log. */
    errorCode: WireErrorCode;
  }
}

/** Codes only the HTTP layer produces. */
export type EdgeErrorCode =
  | 'MALFORMED_JSON'
  | 'MALFORMED_BODY'
  | 'BODY_INCOMPLETE'
  | 'MALFORMED_REQUEST'
  | 'REQUEST_TIMEOUT'
  | 'HEADERS_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'TOO_MANY_TEXTS'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'MODEL_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'NOT_READY'
  | 'MODEL_UNAVAILABLE'
  | 'SWAP_REFUSED'
  | 'SWAP_IN_PROGRESS'
  // Workers: the Durable Object that aggregates every isolate's health cannot be reached right now.
  | 'HEALTH_UNAVAILABLE'
  // Also a runtime code (the micro-batcher's last-line queue); the edge's admission control sheds with its own
  // Retry-After estimate, which only an EdgeError carries.
  | 'OVERLOADED'
  | 'INTERNAL';

/** Every code an error body of the edge can carry. */
export type WireErrorCode = ErrorCode | EdgeErrorCode;

export interface EdgeErrorOptions extends CodedErrorOptions {
  /** Extra response headers, e.g. `Allow` for 405 or `Retry-After` for 503. */
  headers?: Record<string, string>;
}

/** An error of the HTTP layer. `name` is fixed so the guard survives two bundled copies. */
export class EdgeError extends CodedError<EdgeErrorCode> {
  override readonly name = 'EdgeError';
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: EdgeErrorCode, message: string, options: EdgeErrorOptions = {}) {
    super(code, message, options);
    this.headers = options.headers ?? {};
  }
}

export function isEdgeError(value: unknown): value is EdgeError {
  return isCodedErrorOf(value, EdgeError, 'EdgeError');
}

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 1;

/**
 * The one code → status table. Client mistakes are 4xx; 5xx only for what the server cannot do right now (503, with
 * Retry-After) or a bug (500).
 */
const STATUS: Readonly<Record<WireErrorCode, ContentfulStatusCode>> = Object.freeze({
  MALFORMED_JSON: 400,
  MALFORMED_BODY: 400,
  BODY_INCOMPLETE: 400,
  MALFORMED_REQUEST: 400,
  REQUEST_TIMEOUT: 408,
  HEADERS_TOO_LARGE: 431,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  PREDICTION_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  // A refused swap is no fault of the server (the old model serves on) nor of the request's syntax: the bundle on
  // disk conflicts with serving, and the operator can fix it and retry (RFC 9110 15.5.10).
  SWAP_REFUSED: 409,
  SWAP_IN_PROGRESS: 409,
  // The prediction already has its ground truth; a second answer would count it twice.
  FEEDBACK_DUPLICATE: 409,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_TEXTS: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INPUT_INVALID: 422,
  OVERLOADED: 503,
  NOT_READY: 503,
  MODEL_UNAVAILABLE: 503,
  HEALTH_UNAVAILABLE: 503,
  DISPOSED: 503,
  BACKEND_UNAVAILABLE: 503,
  BACKEND_FAILED: 500,
  BUNDLE_INVALID: 500,
  BUNDLE_FILE_MISSING: 500,
  BUNDLE_FILE_TRUNCATED: 500,
  BUNDLE_FILE_TOO_LARGE: 500,
  BUNDLE_FILE_UNSAFE: 500,
  BUNDLE_LOAD_TIMEOUT: 500,
  BUNDLE_HASH_MISMATCH: 500,
  BUNDLE_SCHEMA_UNSUPPORTED: 500,
  BUNDLE_MODEL_MISMATCH: 500,
  TOKENIZER_UNSUPPORTED: 500,
  VOCAB_INVALID: 500,
  PREPROCESSING_MISMATCH: 500,
  PARITY_MISMATCH: 500,
  HEALTH_DELTA_MISMATCH: 500,
  INTERNAL: 500,
});

/** The status an error code answers with. */
export function statusOf(code: WireErrorCode): ContentfulStatusCode {
  return STATUS[code];
}

/** Hono's own exceptions (bearerAuth's 401/400 and the like), by status. */
function fromHttpException(error: HTTPException): { code: WireErrorCode; message: string } {
  switch (error.status) {
    case 400:
      // bearerAuth answers 400 for a malformed Authorization header; to a client it is still "not authorized".
      return {
        code: 'UNAUTHORIZED',
        message: 'The Authorization header is malformed; send "Authorization: Bearer <token>".',
      };
    case 401:
      return {
        code: 'UNAUTHORIZED',
        message: 'A valid bearer token is required; send "Authorization: Bearer <token>".',
      };
    case 413:
      return { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large.' };
    default:
      return error.status < 500
        ? { code: 'INPUT_INVALID', message: error.message || `Request refused (${error.status}).` }
        : { code: 'INTERNAL', message: 'Internal error.' };
  }
}

const fallbackLog = createLog();

/**
 * Turns anything thrown while serving into the wire error `{ "error": { "code", "message", "requestId" } }` with
 * its status and headers. Never includes a stack; an error that is not ours is logged (with its stack, in the log
 * only) and answered as a bare 500; a 5xx of ours is logged as one line, repeats counted (see `createLog`).
 * @param log Default: a console log of this module.
 */
export function errorResponse(c: Context, error: unknown, log: Log = fallbackLog): Response {
  let code: WireErrorCode;
  let message: string;
  const headers: Record<string, string> = {};
  if (isEdgeError(error)) {
    ({ code, message } = error);
    Object.assign(headers, error.headers);
  } else if (isShipshapeError(error)) {
    ({ code, message } = error);
  } else if (error instanceof HTTPException) {
    ({ code, message } = fromHttpException(error));
    const challenge = error.getResponse().headers.get('WWW-Authenticate');
    if (challenge !== null) headers['WWW-Authenticate'] = challenge;
  } else {
    log.error('unexpected error', {
      requestId: c.get('requestId'),
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    code = 'INTERNAL';
    message = 'Internal error; the server log has the details.';
  }
  const status = statusOf(code);
  if (status === 503 && headers['Retry-After'] === undefined)
    headers['Retry-After'] = String(RETRY_AFTER_SECONDS);
  if (status >= 500 && code !== 'INTERNAL' && isShipshapeError(error)) log.error(message, { code });
  c.set('errorCode', code);
  // The request id middleware runs first, so it is set unless the app was built without it.
  const requestId = c.get('requestId') ?? crypto.randomUUID();
  return c.json({ error: { code, message: boundMessage(message), requestId } }, status, headers);
}
