// The prediction routes, as the edge labels requests (`RequestRecord.route`): one list for the monitor, the alert
// rules and the dashboard. No imports, so the Worker, the dashboard bundle and Node-only ops code can all read it.

/**
 * The inference routes: only their POSTs count as prediction requests (`RequestRecord.inference`), for the latency
 * and error-rate checks, the SLO alerts and the dashboard's requests/s.
 */
export const INFERENCE_ROUTES: ReadonlySet<string> = new Set([
  '/v1/predict',
  '/v2/models/:name/infer',
  '/v2/models/:name/versions/:version/infer',
]);
