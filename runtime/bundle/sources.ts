// Where a bundle's bytes come from (memory, HTTP), and the bounds every source keeps while reading them.
import { ShipshapeError } from '../errors.ts';

/** How one file is read. */
export interface ReadOptions {
  /**
   * The most bytes the file may have: the size manifest.json declares for it, or MANIFEST_MAX_BYTES for the
   * manifest. A source refuses a larger file with BUNDLE_FILE_TOO_LARGE, before reading it where it can tell the size
   * first, and never reads more than `maxBytes + 1` bytes. Default: no bound.
   */
  readonly maxBytes?: number;
  /** Aborted when the load gives up (its timeout): a source stops reading then. */
  readonly signal?: AbortSignal;
}

/** Where a bundle's bytes come from: a directory, a map of files, a base URL... */
export interface BundleSource {
  /** Shown in messages, e.g. the directory path or base URL. */
  readonly describe: string;
  /**
   * The file's bytes, or undefined when it does not exist.
   * @throws ShipshapeError BUNDLE_FILE_TOO_LARGE past `options.maxBytes`; BUNDLE_FILE_UNSAFE (sources that can
   *   tell) for anything that is not a regular file inside the bundle.
   */
  read(name: string, options?: ReadOptions): Promise<Uint8Array | undefined>;
}

/** The most bytes manifest.json may have: 1 MiB, some 300 times the shipped bundles' manifests. */
export const MANIFEST_MAX_BYTES = 1 << 20;

/**
 * The refusal of a file larger than its bound.
 * @param size The file's size when the source knows it; undefined when it found out by reading past the bound.
 */
export function fileTooLarge(where: string, size: number | undefined, maxBytes: number): ShipshapeError {
  const actual = size === undefined ? `more than ${maxBytes} bytes` : `${size} bytes`;
  const bound = where.endsWith('/manifest.json')
    ? `a manifest may have at most ${maxBytes}`
    : `manifest.json declares ${maxBytes}`;
  return new ShipshapeError(
    'BUNDLE_FILE_TOO_LARGE',
    `${where} is ${actual}, but ${bound}. ${size === undefined ? 'Reading stopped one byte past that' : 'It was not read'}; ` +
      'copy the bundle again.',
    { subject: where },
  );
}

/**
 * The refusal of a bundle file that is not a regular file inside the bundle.
 * @param what What the file is, e.g. "is a named pipe (FIFO)".
 */
export function fileUnsafe(where: string, what: string): ShipshapeError {
  return new ShipshapeError(
    'BUNDLE_FILE_UNSAFE',
    `${where} ${what}. A bundle is read only from regular files inside its folder: put the file itself there.`,
    { subject: where },
  );
}

/**
 * Reads a body to its end, but never more than `maxBytes + 1` bytes of it.
 * @throws ShipshapeError BUNDLE_FILE_TOO_LARGE once the body passes `maxBytes` (the rest is cancelled, not read).
 */
export async function readBody(
  body: ReadableStream<Uint8Array> | null,
  where: string,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw fileTooLarge(where, undefined, maxBytes);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/** A bundle held in memory, e.g. files imported into a Worker or fetched by a page. */
export function filesSource(
  files: Readonly<Record<string, Uint8Array>>,
  describe = 'in-memory bundle',
): BundleSource {
  return {
    describe,
    read(name, { maxBytes } = {}) {
      const bytes = Object.hasOwn(files, name) ? files[name] : undefined;
      if (bytes !== undefined && maxBytes !== undefined && bytes.byteLength > maxBytes) {
        return Promise.reject(fileTooLarge(`${describe}/${name}`, bytes.byteLength, maxBytes));
      }
      return Promise.resolve(bytes);
    },
  };
}

/**
 * A bundle served over HTTP under `base` (a directory URL; a trailing slash is added if missing). A file is refused
 * by its Content-Length when that tells it is too large, else once its body passes the bound.
 * @param fetchImpl Default: the global `fetch`.
 */
export function urlSource(base: string | URL, fetchImpl: typeof fetch = fetch): BundleSource {
  const root = new URL(String(base).endsWith('/') ? String(base) : `${String(base)}/`);
  const describe = root.href.replace(/\/$/, '');
  return {
    describe,
    async read(name, { maxBytes, signal } = {}) {
      const url = new URL(name, root);
      const where = `${describe}/${name}`;
      const response = await fetchImpl(url, signal === undefined ? {} : { signal });
      if (!response.ok) {
        await response.body?.cancel();
        if (response.status === 404) return undefined;
        throw new Error(`GET ${url.href} answered ${response.status}`);
      }
      // Content-Length counts encoded bytes: only an unencoded body's length is the file's size.
      const length = response.headers.get('content-length');
      const encoding = response.headers.get('content-encoding');
      const size = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
      if (
        maxBytes !== undefined &&
        size !== undefined &&
        size > maxBytes &&
        [null, 'identity'].includes(encoding)
      ) {
        await response.body?.cancel();
        throw fileTooLarge(where, size, maxBytes);
      }
      return readBody(response.body, where, maxBytes);
    },
  };
}

/** The longest delay setTimeout keeps (a larger one fires at once); a timeout past it waits for ever. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `source` with all its reads under one deadline, `timeoutMs` from now: a read still running then fails with
 * BUNDLE_LOAD_TIMEOUT naming its file, and its signal aborts so the source stops (a fetch is cancelled).
 * @throws ShipshapeError INPUT_INVALID when `timeoutMs` is not a positive number (`Infinity` is: no deadline).
 */
export function withinDeadline(source: BundleSource, timeoutMs: number): BundleSource {
  if (!(timeoutMs > 0)) {
    throw new ShipshapeError(
      'INPUT_INVALID',
      `timeoutMs is ${String(timeoutMs)}; it must be a positive number of milliseconds (Infinity: no limit).`,
    );
  }
  if (timeoutMs > MAX_TIMER_MS) return source;
  const expires = Date.now() + timeoutMs;
  return {
    describe: source.describe,
    async read(name, options = {}) {
      const where = `${source.describe}/${name}`;
      const controller = new AbortController();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => {
            const error = new ShipshapeError(
              'BUNDLE_LOAD_TIMEOUT',
              `Loading ${source.describe} took longer than ${timeoutMs} ms; it was reading ${where}. Check that the ` +
                `source answers (a stalled server, bucket or network share), or allow more time with timeoutMs.`,
              { subject: where },
            );
            controller.abort(error);
            reject(error);
          },
          Math.max(0, expires - Date.now()),
        );
      });
      // Also abort when the caller's own signal does (AbortSignal.any is too new for some runtimes).
      const outer = options.signal;
      outer?.addEventListener('abort', () => controller.abort(outer.reason), { once: true });
      try {
        return await Promise.race([source.read(name, { ...options, signal: controller.signal }), expired]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
