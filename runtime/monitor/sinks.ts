// Alert sinks: one structured log line per event, and a webhook POST with a timeout and bounded retries.
import { messageOf } from '../errors.ts';
import type { AlertEvent, AlertSink } from './types.ts';

/**
 * A sink that writes one JSON line per alert event: `{"level":"warn"|"info","event":"alert","kind","check",
 * "severity","value","threshold","model","detail"}` (`info` for a resolution). Give it `console.log`, or the edge's
 * log writer.
 */
export function logSink(write: (line: string) => void): AlertSink {
  return {
    name: 'log',
    send(event: AlertEvent): void {
      const { alert } = event;
      write(
        JSON.stringify({
          level: event.kind === 'resolved' ? 'info' : 'warn',
          event: 'alert',
          kind: event.kind,
          check: alert.check,
          severity: alert.severity,
          value: alert.value,
          threshold: alert.threshold,
          model: alert.model,
          detail: alert.detail,
          since: alert.since,
        }),
      );
    },
  };
}

export interface WebhookSinkOptions {
  /** Longest one attempt may take, ms. Default 2000. */
  readonly timeoutMs?: number;
  /** Attempts after the first, for network errors, timeouts and 5xx answers (a 4xx is final). Default 2. */
  readonly retries?: number;
  /** Waits before each retry, ms; the last is reused past its end. Default [250, 1000]. */
  readonly backoffMs?: readonly number[];
  /** The fetch to use. Default the global `fetch` (Node 18+, browsers, Workers). */
  readonly fetch?: typeof fetch;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A sink that POSTs each alert event as JSON (`{"kind", "alert": AlertState}`) to `url`. Each attempt is bounded
 * by `AbortSignal.timeout(timeoutMs)`; network errors, timeouts and 5xx answers are retried up to `retries` times
 * with the `backoffMs` waits. The promise rejects once every attempt failed (the monitor reports it and goes on).
 * @throws TypeError when `url` is not an http(s) URL.
 */
export function webhookSink(url: string, options: WebhookSinkOptions = {}): AlertSink {
  const target = new URL(url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new TypeError(
      `webhookSink: "${url}" is not an http(s) URL. Give the webhook's http:// or https:// address.`,
    );
  }
  const timeoutMs = options.timeoutMs ?? 2000;
  const retries = options.retries ?? 2;
  const backoffMs = options.backoffMs ?? [250, 1000];
  return {
    // The origin only: webhook paths often carry a secret (Slack's do), and the name goes into warnings.
    name: `webhook ${target.origin}`,
    async send(event: AlertEvent): Promise<void> {
      const doFetch = options.fetch ?? fetch;
      const body = JSON.stringify({ kind: event.kind, alert: event.alert });
      let failure = '';
      let attempts = 0;
      for (let attempt = 0; attempt <= retries; attempt += 1) {
        attempts += 1;
        if (attempt > 0) await sleep(backoffMs[Math.min(attempt - 1, backoffMs.length - 1)] ?? 0);
        try {
          const response = await doFetch(target, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(timeoutMs),
          });
          // Free the connection; the body says nothing we use.
          await response.body?.cancel();
          if (response.ok) return;
          failure = `answered ${response.status}`;
          // A 4xx is final, except 408 and 429: the receiver was slow or rate-limiting (Slack-style webhooks do).
          if (response.status < 500 && response.status !== 408 && response.status !== 429) break;
        } catch (error) {
          failure =
            error instanceof Error && error.name === 'TimeoutError'
              ? `did not answer within ${timeoutMs} ms`
              : messageOf(error);
        }
      }
      throw new Error(
        `webhook ${target.origin} ${failure} (${attempts} ${attempts === 1 ? 'attempt' : 'attempts'})`,
      );
    },
  };
}
