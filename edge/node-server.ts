// The Node entry: the edge app on @hono/node-server, the model from a bundle directory, the demo page from dist/web,
// graceful shutdown and model swaps from the same directory.
import { serve } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { STATUS_CODES, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { resolve } from 'node:path';
import { isShipshapeError, messageOf } from '../runtime/errors.ts';
import type { Thresholds } from '../runtime/monitor/types.ts';
import { createPredictor, createPredictorPool, loadBundle } from '../runtime/node.ts';
import type { Predictor, PredictorOptions } from '../runtime/types.ts';
import { createApp, type AssetStore, type EdgeApp } from './app.ts';
import { readConfig, type EdgeConfig } from './config.ts';
import { isEdgeError, statusOf, type EdgeErrorCode } from './errors.ts';
import type { HealthStore } from './health-store.ts';
import { proveBeforeServing } from './load-proof.ts';
import type { Log } from './log.ts';
import type { ModelSwap } from './model-slot.ts';

/**
 * How long a shutdown waits for in-flight requests by default: 25 s, under Kubernetes' default 30 s
 * `terminationGracePeriodSeconds`, so the pool and sessions are disposed and the exit code says what happened before
 * the kubelet's SIGKILL.
 */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 25_000;

/** Where `npm run build:web` writes the demo page and its files. */
export const WEB_DIR = resolve(import.meta.dirname, '../dist/web');

/** How often the server checks its health by itself, so alerts fire when nobody reads `/v1/health` or `/metrics`. */
export const DEFAULT_HEALTH_INTERVAL_MS = 10_000;

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
  /**
   * Worker threads that run the model, each with its own session (`createPredictorPool`), so inference never runs
   * on the event loop that answers HTTP. Default 0: the model runs in this thread (`shipshape serve` defaults to
   * every core instead).
   */
  readonly workers?: number;
  /**
   * Serve without the load-time parity proof (emergencies only; every load logs a warning instead). Default
   * `config.skipParity` (env `SHIPSHAPE_SKIP_PARITY`).
   */
  readonly skipParity?: boolean;
  /** Wait for the model to load, pass its parity proof and warm up before resolving. Default true. */
  readonly waitReady?: boolean;
  /** The access log and warnings. Default: `createLog()` (JSON lines on the console). */
  readonly log?: Log;
  /**
   * Health threshold overrides (see `CreateAppOptions.thresholds`). Default `config.healthThresholds` (env
   * `SHIPSHAPE_HEALTH_THRESHOLDS`).
   */
  readonly thresholds?: Partial<Thresholds>;
  /**
   * Checks health (and so fires alerts) every this many ms, on a timer that does not keep the process alive. Default
   * `DEFAULT_HEALTH_INTERVAL_MS`; 0 turns it off.
   */
  readonly healthIntervalMs?: number;
  /**
   * Where `/metrics`, `/v1/health`, `/v1/feedback` and the health timer read from (see `CreateAppOptions.health`).
   * Default `localHealthStore()`: this process's own monitor.
   */
  readonly health?: HealthStore;
}

/** What a shutdown did with the requests in flight when it began, and with those that came on open connections. */
export interface ShutdownReport {
  /** Requests that got their whole response during the drain. */
  readonly completed: number;
  /** Requests whose connection was closed at the deadline before their response was complete. */
  readonly cut: number;
}

export interface NodeServer {
  /** `http://host:port`. */
  readonly url: string;
  readonly port: number;
  readonly edge: EdgeApp;
  /** The bundle directory, resolved: where `reload()` reads from. */
  readonly bundle: string;
  /** Requests received and not yet answered. */
  readonly inFlight: number;
  /**
   * Loads the bundle directory again, verifies it (hashes, then the parity proof on the serving backend), warms it
   * up and swaps it in; requests in flight finish on the old model. The same as `POST /admin/reload`.
   * @throws EdgeError SWAP_REFUSED (the old model keeps serving), SWAP_IN_PROGRESS, NOT_READY while shutting down.
   */
  reload(): Promise<ModelSwap>;
  /**
   * Graceful shutdown: readiness turns "not ready", the listener closes, idle keep-alive connections close and
   * responses say `Connection: close`; requests in flight get up to `deadlineMs` (default
   * `DEFAULT_SHUTDOWN_TIMEOUT_MS`) to finish, then the connections left are closed and counted as cut; the model is
   * disposed last. Calling it again returns the first call's report.
   */
  shutdown(options?: { deadlineMs?: number }): Promise<ShutdownReport>;
  /** Shuts down without waiting: in-flight requests are cut. For tests and embedding. */
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
 * The config from the environment, with admission's in-service bound scaled to the pool: N workers run N batches at
 * once, so unless `SHIPSHAPE_MAX_INFLIGHT_TEXTS` says otherwise, N x the batch size texts are in service.
 */
export function serverConfig(env: NodeJS.ProcessEnv, workers: number): EdgeConfig {
  const config = readConfig(env);
  if (workers <= 1 || (env.SHIPSHAPE_MAX_INFLIGHT_TEXTS ?? '') !== '') return config;
  return Object.freeze({ ...config, maxInflightTexts: config.batchSize * workers });
}

/**
 * Starts the HTTP server; with `waitReady` (default) it resolves once the model loaded, passed its parity proof on
 * the backend that serves it (`proveParity`, unless `skipParity`) and answered its warm-up prediction.
 * @throws ShipshapeError with the bundle's code (BUNDLE_*, PARITY_MISMATCH, PREPROCESSING_MISMATCH,
 *   BACKEND_UNAVAILABLE...) when the bundle is refused; EdgeError MODEL_UNAVAILABLE for any other load failure. The
 *   server is closed first.
 */
export async function startNodeServer(options: NodeServerOptions): Promise<NodeServer> {
  const workers = options.workers ?? 0;
  const config = options.config ?? serverConfig(process.env, workers);
  const webDir = options.webDir ?? (existsSync(WEB_DIR) ? WEB_DIR : false);
  const bundleDir = resolve(options.bundle);
  const skipParity = options.skipParity ?? config.skipParity;
  const loadPredictor = async (): Promise<Predictor> => {
    const predictorOptions = {
      maxTextLength: config.maxTextLength,
      // Logits cost one 4-number copy per text; they let the parity proof compare logits, not scores.
      returnLogits: true,
      ...options.predictor,
    };
    return workers === 0
      ? createPredictor(await loadBundle(bundleDir, { verify: 'serving' }), predictorOptions)
      : createPredictorPool(bundleDir, { ...predictorOptions, workers });
  };
  // The first load and every swap (SIGHUP, POST /admin/reload) go through this one step, so a bundle serves only
  // once it reproduced its golden cases on the backend that serves it, and both log the same proof line.
  const loadProven = async (): Promise<Predictor> =>
    proveBeforeServing(await loadPredictor(), {
      batchSize: config.batchSize,
      skip: skipParity,
      log: edge.log,
    });
  const edge = createApp({
    config,
    loadPredictor: loadProven,
    reload: (slot) => slot.swap(loadProven),
    ...(webDir === false ? {} : { assets: folderAssets(webDir) }),
    ...(options.log === undefined ? {} : { log: options.log }),
    ...(options.thresholds === undefined ? {} : { thresholds: options.thresholds }),
    ...(options.health === undefined ? {} : { health: options.health }),
  });
  // We pass no createServer: @hono/node-server makes a plain node:http server.
  const server = await new Promise<Server>((resolveServer, reject) => {
    const started = serve(
      { fetch: edge.fetch, port: options.port ?? 8787, hostname: options.host ?? '127.0.0.1' },
      () => resolveServer(started as Server),
    );
    started.once('error', reject);
  });

  server.on('clientError', answerClientError(edge.log));
  const healthIntervalMs = options.healthIntervalMs ?? DEFAULT_HEALTH_INTERVAL_MS;
  const healthTimer =
    healthIntervalMs > 0
      ? setInterval(() => {
          edge.checkHealth().catch((error: unknown) => {
            edge.log.error('health check failed', { reason: messageOf(error) });
          });
        }, healthIntervalMs).unref()
      : undefined;
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  let completed = 0;
  let deadlinePassed = false;
  let drained: (() => void) | undefined;
  server.on('request', (_request, response: ServerResponse) => {
    inFlight.add(response);
    if (draining && !response.headersSent) response.setHeader('Connection', 'close');
    response.once('close', () => {
      inFlight.delete(response);
      if (draining) {
        if (response.writableFinished && !deadlinePassed) completed += 1;
        // A connection whose response had its headers out before the drain began is idle now: close it too.
        server.closeIdleConnections();
        if (inFlight.size === 0) drained?.();
      }
    });
  });

  let stopping: Promise<ShutdownReport> | undefined;
  const shutdown = ({ deadlineMs = DEFAULT_SHUTDOWN_TIMEOUT_MS }: { deadlineMs?: number } = {}) => {
    stopping ??= (async () => {
      draining = true;
      clearInterval(healthTimer);
      edge.drain();
      for (const response of inFlight) {
        if (!response.headersSent) response.setHeader('Connection', 'close');
      }
      // Stops accepting and closes idle keep-alive connections; resolves once every connection is gone.
      const closed = new Promise<void>((resolveClosed) => server.close(() => resolveClosed()));
      let timer: NodeJS.Timeout | undefined;
      const inTime = await new Promise<boolean>((resolveDrain) => {
        if (inFlight.size === 0) return resolveDrain(true);
        drained = () => resolveDrain(true);
        timer = setTimeout(() => resolveDrain(false), deadlineMs);
      });
      clearTimeout(timer);
      let cut = 0;
      if (!inTime) {
        // A response whose last bytes were handed to the socket before the deadline reached its client complete,
        // though its 'close' has not come yet: it is completed, not cut. The count is settled here, once.
        deadlinePassed = true;
        const left = [...inFlight];
        const finished = left.filter((response) => response.writableFinished).length;
        completed += finished;
        cut = left.length - finished;
        server.closeAllConnections();
      }
      await closed;
      try {
        await edge.dispose();
      } finally {
        edge.log.flush();
      }
      return { completed, cut };
    })();
    return stopping;
  };
  const close = () => shutdown({ deadlineMs: 0 }).then(() => undefined);
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const warming = edge.warmUp();
  if (options.waitReady ?? true) {
    try {
      await warming;
    } catch (error) {
      await close();
      // The slot wraps the cause for HTTP clients (who get only its code); the caller gets the bundle's own error.
      throw isEdgeError(error) && isShipshapeError(error.cause) ? error.cause : error;
    }
  } else {
    warming.catch(() => undefined);
  }
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    edge,
    bundle: bundleDir,
    get inFlight() {
      return inFlight.size;
    },
    reload: () => edge.model.swap(loadProven),
    shutdown,
    close,
  };
}
