// Request bodies: the size limit (hono/body-limit), strict UTF-8 reading, and leaving the connection usable after
// a refused body.
//
// Why the last part: workerd closes a keep-alive connection, without a `Connection: close` header (it drops that
// header from responses), when a response leaves the request body unread; the client's next request on that
// connection then fails with ECONNRESET (measured with curl and undici against Miniflare). Node discards unread
// bodies itself. So before an error answer the edge reads what is left of the body, discarding it, up to DRAIN_CAP.
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { EdgeError, isEdgeError } from './errors.ts';

/** Most bytes read and thrown away to keep a connection usable; past it the connection is left to close. */
export const DRAIN_CAP_BYTES = 8 * 1024 * 1024;

function tooLarge(maxBytes: number): EdgeError {
  return new EdgeError(
    'PAYLOAD_TOO_LARGE',
    `The request body is over ${maxBytes} bytes (SHIPSHAPE_MAX_BODY_BYTES); send fewer or shorter texts.`,
  );
}

/** A body stream that failed mid-read: the client went away, or the framing (chunked encoding) is broken. */
function bodyIncomplete(cause: unknown): EdgeError {
  return new EdgeError(
    'BODY_INCOMPLETE',
    'The request body ended before it was complete (the connection closed or its framing is broken); ' +
      'send the whole body.',
    { cause },
  );
}

/** Reads and discards the rest of a stream, up to `cap` bytes. */
async function discard(reader: ReadableStreamDefaultReader<Uint8Array>, cap: number): Promise<void> {
  let read = 0;
  try {
    while (read <= cap) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // The client went away: nothing left to keep usable.
  }
}

/**
 * A body of unknown length (chunked), passed through until it exceeds `maxBytes`; then the rest is read and
 * discarded and the read fails with PAYLOAD_TOO_LARGE. (hono's bodyLimit would stop reading mid-body.)
 */
function limitedStream(source: ReadableStream<Uint8Array>, maxBytes: number): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let size = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (cause) {
        // workerd: "Network connection lost." or an internal error for a bad chunk size; Node: "aborted".
        controller.error(bodyIncomplete(cause));
        return;
      }
      const { done, value } = chunk;
      if (done) {
        controller.close();
        return;
      }
      size += value.byteLength;
      if (size > maxBytes) {
        await discard(reader, DRAIN_CAP_BYTES);
        controller.error(tooLarge(maxBytes));
        return;
      }
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/**
 * Refuses bodies over `maxBytes` with EdgeError PAYLOAD_TOO_LARGE (413): by Content-Length before reading
 * (hono/body-limit), or while reading one without it.
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge(maxBytes);
    },
  });
  return async function limitRequestBody(c, next) {
    const { body } = c.req.raw;
    if (body !== null && !c.req.raw.headers.has('Content-Length')) {
      c.req.raw = new Request(c.req.raw, {
        body: limitedStream(body, maxBytes),
        duplex: 'half',
      } as RequestInit);
    }
    return limit(c, next);
  };
}

/**
 * Before an error answer: discards what is left of the request body (up to DRAIN_CAP_BYTES), so the client's
 * connection survives the refusal. A body already read, or cut off by `limitBody` (which drained it), is left alone.
 */
export async function settleRequestBody(c: Context): Promise<void> {
  const request = c.req.raw;
  if (request.body === null || request.bodyUsed) return;
  const length = Number(request.headers.get('Content-Length') ?? Number.NaN);
  if (Number.isFinite(length) && length > DRAIN_CAP_BYTES) return;
  await discard(request.body.getReader(), DRAIN_CAP_BYTES);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the whole body as UTF-8 text, strictly: no replacement characters for bad bytes (a leading BOM is dropped).
 * @throws EdgeError BODY_INCOMPLETE when the body stream fails (the client went away mid-body, or the framing is
 *   broken), MALFORMED_BODY for bytes that are not UTF-8; PAYLOAD_TOO_LARGE from `limitBody` passes through.
 */
export async function readBodyText(c: Context): Promise<string> {
  let bytes: ArrayBuffer;
  try {
    bytes = await c.req.arrayBuffer();
  } catch (cause) {
    if (isEdgeError(cause)) throw cause;
    // Node rejects with "aborted" (ECONNRESET) when the client closes mid-body: answered as a client fault, so no
    // stack reaches the log; the access log has the one line.
    throw bodyIncomplete(cause);
  }
  try {
    return strictUtf8.decode(bytes);
  } catch (cause) {
    throw new EdgeError('MALFORMED_BODY', 'The body is not valid UTF-8; send JSON encoded as UTF-8.', {
      cause,
    });
  }
}
