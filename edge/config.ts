// The edge's settings: one typed object, read from environment variables (Node) or Worker vars and secrets.
import { z } from 'zod';

export interface EdgeConfig {
  /** Bearer token that protects the API; undefined leaves it open. Env `SHIPSHAPE_TOKEN`. Default: unset. */
  readonly token: string | undefined;
  /**
   * Origins allowed to call the API from a browser (CORS): a list, `'*'` for any, or empty for no CORS headers.
   * Env `SHIPSHAPE_CORS_ORIGINS`, comma-separated. Default: none.
   */
  readonly corsOrigins: readonly string[] | '*';
  /** Largest request body in bytes; larger ones get 413. Env `SHIPSHAPE_MAX_BODY_BYTES`. Default 1 MiB. */
  readonly maxBodyBytes: number;
  /** Most texts in one request; more get 413 TOO_MANY_TEXTS. Env `SHIPSHAPE_MAX_TEXTS`. Default 256. */
  readonly maxTexts: number;
  /** Longest text in UTF-16 code units; longer get 422. Env `SHIPSHAPE_MAX_TEXT_LENGTH`. Default 10,000. */
  readonly maxTextLength: number;
  /** Texts per session run for multi-text requests. Env `SHIPSHAPE_BATCH_SIZE`. Default 32. */
  readonly batchSize: number;
  /**
   * Admission control (edge/admission.ts): most texts in service at once, over all requests. Env
   * `SHIPSHAPE_MAX_INFLIGHT_TEXTS`. Default: the batch size (32), one full batch for the one session, which runs one
   * batch at a time: more in service would only wait inside, behind it, where no deadline applies. With N sessions
   * in parallel (a worker pool), N x the batch size.
   */
  readonly maxInflightTexts: number;
  /**
   * Most texts waiting for service; a request that would pass it gets 503 OVERLOADED at once. Env
   * `SHIPSHAPE_MAX_QUEUED_TEXTS`. Default 256: the default SHIPSHAPE_MAX_TEXTS, so one full-size request can
   * always queue; on news-transformer (native, one thread) that is about 0.15 s of work.
   */
  readonly maxQueuedTexts: number;
  /**
   * Longest a request may wait, from reaching the app to being admitted, in ms; past it 503 OVERLOADED. Env
   * `SHIPSHAPE_MAX_QUEUE_WAIT_MS`. Default 100: the p95 the SLA allows (bench/sla.json, http-open), so an admitted
   * request waits at most that plus its own batch and the one running when it arrived (19 ms each for 32 texts on
   * news-transformer, native): within twice the SLA p95, the bound the overload bench checks. 50 ms shed more and
   * served less at 2x overload (goodput 65-99% of capacity against 102-131%, three quick runs each), because waiters
   * expired before a busy session reached them and it idled.
   */
  readonly maxQueueWaitMs: number;
}

export const DEFAULT_CONFIG: EdgeConfig = Object.freeze({
  token: undefined,
  corsOrigins: [],
  maxBodyBytes: 1024 * 1024,
  maxTexts: 256,
  maxTextLength: 10_000,
  batchSize: 32,
  maxInflightTexts: 32,
  maxQueuedTexts: 256,
  maxQueueWaitMs: 100,
});

/** The environment variables (Worker vars / secrets) the edge reads. */
export const CONFIG_VARIABLES = [
  'SHIPSHAPE_TOKEN',
  'SHIPSHAPE_CORS_ORIGINS',
  'SHIPSHAPE_MAX_BODY_BYTES',
  'SHIPSHAPE_MAX_TEXTS',
  'SHIPSHAPE_MAX_TEXT_LENGTH',
  'SHIPSHAPE_BATCH_SIZE',
  'SHIPSHAPE_MAX_INFLIGHT_TEXTS',
  'SHIPSHAPE_MAX_QUEUED_TEXTS',
  'SHIPSHAPE_MAX_QUEUE_WAIT_MS',
] as const;

const positiveInteger = (name: string) =>
  z
    .string()
    .trim()
    .regex(/^[1-9][0-9]*$/, `${name} must be a positive integer`)
    .transform(Number)
    .pipe(z.number().max(Number.MAX_SAFE_INTEGER, `${name} is too large`));

const envSchema = z.object({
  SHIPSHAPE_TOKEN: z
    .string()
    .regex(/^[A-Za-z0-9._~+/-]+=*$/, 'SHIPSHAPE_TOKEN must be a bearer token (RFC 6750 b64token characters)')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  SHIPSHAPE_CORS_ORIGINS: z.string().optional(),
  SHIPSHAPE_MAX_BODY_BYTES: positiveInteger('SHIPSHAPE_MAX_BODY_BYTES').optional(),
  SHIPSHAPE_MAX_TEXTS: positiveInteger('SHIPSHAPE_MAX_TEXTS').optional(),
  SHIPSHAPE_MAX_TEXT_LENGTH: positiveInteger('SHIPSHAPE_MAX_TEXT_LENGTH').optional(),
  SHIPSHAPE_BATCH_SIZE: positiveInteger('SHIPSHAPE_BATCH_SIZE').optional(),
  SHIPSHAPE_MAX_INFLIGHT_TEXTS: positiveInteger('SHIPSHAPE_MAX_INFLIGHT_TEXTS').optional(),
  SHIPSHAPE_MAX_QUEUED_TEXTS: positiveInteger('SHIPSHAPE_MAX_QUEUED_TEXTS').optional(),
  SHIPSHAPE_MAX_QUEUE_WAIT_MS: positiveInteger('SHIPSHAPE_MAX_QUEUE_WAIT_MS').optional(),
});

function parseOrigins(value: string | undefined): readonly string[] | '*' {
  const origins = (value ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  if (origins.includes('*')) return '*';
  return Object.freeze(origins);
}

/**
 * Reads the config from environment variables or Worker bindings (other keys are ignored).
 * @throws Error naming the variable and the fix, for a value that does not parse.
 */
export function readConfig(env: Readonly<Record<string, unknown>>): EdgeConfig {
  const picked: Record<string, unknown> = {};
  for (const name of CONFIG_VARIABLES) {
    const value = env[name];
    // wrangler.toml [vars] may hold numbers or JSON; the schema reads their text.
    if (value !== undefined) picked[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  const parsed = envSchema.safeParse(picked);
  if (!parsed.success) {
    const details = parsed.error.issues
      .map((issue) => {
        const name = String(issue.path[0]);
        // Never echo a secret.
        const got = name === 'SHIPSHAPE_TOKEN' ? '' : ` (got ${JSON.stringify(picked[name])})`;
        return `${issue.message}${got}`;
      })
      .join('; ');
    throw new Error(`Invalid shipshape edge configuration: ${details}.`);
  }
  const v = parsed.data;
  return Object.freeze({
    token: v.SHIPSHAPE_TOKEN,
    corsOrigins: parseOrigins(v.SHIPSHAPE_CORS_ORIGINS),
    maxBodyBytes: v.SHIPSHAPE_MAX_BODY_BYTES ?? DEFAULT_CONFIG.maxBodyBytes,
    maxTexts: v.SHIPSHAPE_MAX_TEXTS ?? DEFAULT_CONFIG.maxTexts,
    maxTextLength: v.SHIPSHAPE_MAX_TEXT_LENGTH ?? DEFAULT_CONFIG.maxTextLength,
    batchSize: v.SHIPSHAPE_BATCH_SIZE ?? DEFAULT_CONFIG.batchSize,
    maxInflightTexts:
      v.SHIPSHAPE_MAX_INFLIGHT_TEXTS ?? v.SHIPSHAPE_BATCH_SIZE ?? DEFAULT_CONFIG.maxInflightTexts,
    maxQueuedTexts: v.SHIPSHAPE_MAX_QUEUED_TEXTS ?? DEFAULT_CONFIG.maxQueuedTexts,
    maxQueueWaitMs: v.SHIPSHAPE_MAX_QUEUE_WAIT_MS ?? DEFAULT_CONFIG.maxQueueWaitMs,
  });
}
