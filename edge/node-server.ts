// The Node entry: the edge app on @hono/node-server, the model from a bundle directory, the demo page from dist/web.
import { serve, type ServerType } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { createPredictor, createPredictorPool, loadBundle } from '../runtime/node.ts';
import type { PredictorOptions } from '../runtime/types.ts';
import { createApp, type AssetStore, type EdgeApp } from './app.ts';
import { readConfig, type EdgeConfig } from './config.ts';

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
  /**
   * Worker threads that run the model, each with its own session (`createPredictorPool`), so inference never runs
   * on the event loop that answers HTTP. Default 0: the model runs in this thread (`shipshape serve` defaults to
   * every core instead).
   */
  readonly workers?: number;
  /** Wait for the model to load and warm up before resolving. Default true. */
  readonly waitReady?: boolean;
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
    loadPredictor: async () => {
      const predictorOptions = { maxTextLength: config.maxTextLength, ...options.predictor };
      const workers = options.workers ?? 0;
      return workers === 0
        ? createPredictor(await loadBundle(bundleDir, { verify: 'serving' }), predictorOptions)
        : createPredictorPool(bundleDir, { ...predictorOptions, workers });
    },
    ...(webDir === false ? {} : { assets: folderAssets(webDir) }),
  });
  const server: ServerType = await new Promise((resolveServer, reject) => {
    const started = serve(
      { fetch: edge.fetch, port: options.port ?? 8787, hostname: options.host ?? '127.0.0.1' },
      () => resolveServer(started),
    );
    started.once('error', reject);
  });
  const close = () =>
    new Promise<void>((resolveClose) => {
      server.close(() => resolveClose());
      if ('closeAllConnections' in server) server.closeAllConnections();
    }).then(() => edge.dispose());
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
