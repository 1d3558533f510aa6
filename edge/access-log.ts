// One structured access-log line per request, and the request facts (texts, model, backend) routes note for it.
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { wrapTime } from 'hono/timing';
import type { Predictor } from '../runtime/types.ts';
import type { Log } from './log.ts';

declare module 'hono' {
  interface ContextVariableMap {
    /** Texts the request asked to classify, once its body is validated. */
    texts: number;
    /** The predictor that served (or was about to serve) the request. */
    predictor: Predictor;
  }
}

/** Notes how many texts the request holds, for the access log. */
export function noteTexts(c: Context, texts: number): void {
  c.set('texts', texts);
}

/** Notes the predictor serving the request, for the access log (model name, version, backend). */
export function notePredictor(c: Context, predictor: Predictor): void {
  c.set('predictor', predictor);
}

/**
 * Runs the prediction under the `infer` metric of `Server-Timing` (hono/timing). Without the timing middleware
 * hono only warns on the console, so routes always call this.
 */
export function timeInference<T>(c: Context, work: Promise<T>): Promise<T> {
  return wrapTime(c, 'infer', work, 'inference');
}

/**
 * The route pattern that answered (`/v2/models/:name/infer`), not the raw path, so log lines group by route and hold
 * no user input: the last matched route that is not a wildcard, else `*` (static files) or null (no route).
 */
export function routeOf(c: Context): string | null {
  const routes = matchedRoutes(c).filter((route) => !route.path.includes('*'));
  const last = routes.at(-1);
  if (last !== undefined) return last.path;
  return c.res.status === 404 ? null : '*';
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * Writes one `"msg":"request"` line per request after the response is ready: time, requestId, method, route,
 * status, texts, latencyMs, model {name, version}, backend, and the error code of an error answer. Register it
 * right after the request id middleware so it sees every answer, errors included.
 *
 * Latency is server-side, from this middleware to the response headers (a streamed body is not waited for). In
 * workerd the clock does not advance during CPU work, so there it counts only awaited I/O.
 */
export function accessLog(log: Log): MiddlewareHandler {
  return async function logAccess(c, next) {
    const start = performance.now();
    await next();
    const predictor = c.get('predictor');
    const manifest = predictor?.bundle.manifest;
    log.write(
      'info',
      'request',
      {
        requestId: c.get('requestId'),
        method: c.req.method,
        route: routeOf(c),
        status: c.res.status,
        texts: c.get('texts'),
        latencyMs: round(performance.now() - start),
        model: manifest === undefined ? undefined : { name: manifest.name, version: manifest.version },
        backend: predictor?.backend.backend,
        error: c.get('errorCode'),
      },
      { dedupe: false },
    );
  };
}
