// The Node entry: the edge app on @hono/node-server, the model from a bundle directory, the demo page from dist/web.
import { serve, type ServerType } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { resolve } from 'node:path';
import { createPredictor, loadBundle } from '../runtime/node.ts';
import type { PredictorOptions } from '../runtime/types.ts';
import { createApp, type AssetStore, type EdgeApp } from './app.ts';
import { readConfig, type EdgeConfig } from './config.ts';
import { statusOf, type EdgeErrorCode } from './errors.ts';
import type { Log } from './log.ts';

/** Where `npm run build:web` writes the demo page and its files. */
export const WEB_DIR = resolve(import.meta.dirname, '../dist/web');

export interface NodeServerOptions {
  /** The bundle directory. */
  readonly bundle: string;
  /** Default 8787; 0 picks a free port. */
  readonly port?: number;
  /** Default '127.0.0.1'. */
  readonly host?: string;
  /** Default: read from `process.env` (`readConfig`). */
  readonly config?: EdgeConfig;
  /** Built demo page to serve at `/`; default `dist/web` when it exists, else none. */
  readonly webDir?: string | false;
  /** Predictor options, e.g. `backend` (default 'auto': native onnxruntime-node, else WASM) or `batching`. */
  readonly predictor?: PredictorOptions;
  /** Wait for the model to load and warm up before resolving. Default true. */
  readonly waitReady?: boolean;
  /** The access log and warnings. Default: `createLog()` (JSON lines on the console). */
  readonly log?: Log;
}

export interface NodeServer {
  /** `http://host:port`. */
  readonly url: string;
  readonly port: number;
  readonly edge: EdgeApp;
  close(): Promise<void>;
}

/** Static files from a folder, behind the same `fetch(request)` shape as a Worker's assets binding. */
export function folderAssets(dir: string): AssetStore {
  const files = new Hono().use('*', serveStatic({ root: dir }));
  return { fetch: async (request) => files.fetch(request) };
}

/** What Node's HTTP parser refuses before the app runs, as the app's error codes. */
function clientErrorCode(code: string | undefined): { code: EdgeErrorCode; message: string } {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return {
      code: 'HEADERS_TOO_LARGE',
      message: 'The request headers are too large; send fewer or shorter ones.',
    };
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { code: 'REQUEST_TIMEOUT', message: 'The request did not arrive in time; send it again.' };
  }
  return {
    code: 'MALFORMED_REQUEST',
    message:
      `The request is not valid HTTP/1.1 (${code ?? 'parse error'}: broken framing, such as a bad ` +
      'Content-Length or chunk size); send a well-formed request.',
  };
}

/**
 * Answers what Node's HTTP parser refuses (the app never sees it) in the app's JSON error shape, instead of Node's
 * bare `400 Bad Request`, and logs it as one line (repeats counted), unless the client just went away.
 */
function answerClientError(log: Log) {
  return (error: Error & { code?: string }, socket: Duplex): void => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const { code, message } = clientErrorCode(error.code);
    const status = statusOf(code);
    const requestId = randomUUID();
    // A connection closed mid-request (HPE_INVALID_EOF_STATE) is the client going away: when the app already had
    // the request, its access-log line says BODY_INCOMPLETE, and one line per aborted upload is enough.
    if (error.code !== 'HPE_INVALID_EOF_STATE') {
      log.warn('request refused by the HTTP parser', { code, reason: error.code, requestId });
    }
    const body = JSON.stringify({ error: { code, message, requestId } });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  };
}

/**
 * Starts the HTTP server; with `waitReady` (default) it resolves once the model answered its warm-up prediction.
 * @throws EdgeError MODEL_UNAVAILABLE when the bundle does not load (the server is closed first).
 */
export async function startNodeServer(options: NodeServerOptions): Promise<NodeServer> {
  const config = options.config ?? readConfig(process.env);
  const webDir = options.webDir ?? (existsSync(WEB_DIR) ? WEB_DIR : false);
  const bundleDir = resolve(options.bundle);
  const edge = createApp({
    config,
    loadPredictor: async () =>
      createPredictor(await loadBundle(bundleDir, { verify: 'serving' }), {
        maxTextLength: config.maxTextLength,
        ...options.predictor,
      }),
    ...(webDir === false ? {} : { assets: folderAssets(webDir) }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  const server: ServerType = await new Promise((resolveServer, reject) => {
    const started = serve(
      { fetch: edge.fetch, port: options.port ?? 8787, hostname: options.host ?? '127.0.0.1' },
      () => resolveServer(started),
    );
    started.once('error', reject);
  });
  server.on('clientError', answerClientError(edge.log));
  const close = () =>
    new Promise<void>((resolveClose) => {
      server.close(() => resolveClose());
      if ('closeAllConnections' in server) server.closeAllConnections();
    })
      .then(() => edge.dispose())
      .finally(() => edge.log.flush());
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const warming = edge.warmUp();
  if (options.waitReady ?? true) {
    try {
      await warming;
    } catch (error) {
      await close();
      throw error;
    }
  } else {
    warming.catch(() => undefined);
  }
  return { url: `http://${host}:${address.port}`, port: address.port, edge, close };
}
