// The edge's settings: one typed object, read from environment variables (Node) or Worker vars and secrets.
import { z } from 'zod';
import { thresholdsSchema, type Thresholds } from '../runtime/monitor/index.ts';
import { messageOf } from '../runtime/errors.ts';

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
  /** Most texts in one request; more get 413 TOO_MANY_TEXTS. Env `SHIPSHAPE_MAX_TEXTS`. Default 64. */
  readonly maxTexts: number;
  /**
   * Longest text in UTF-16 code units; longer get 422. Env `SHIPSHAPE_MAX_TEXT_LENGTH`. Default 4,096 (the demo
   * models read at most 72 tokens, a few hundred characters; the rest of a longer text is not looked at).
   */
  readonly maxTextLength: number;
  /** Texts per session run for multi-text requests. Env `SHIPSHAPE_BATCH_SIZE`. Default 32. */
  readonly batchSize: number;
  /**
   * Bearer token of the admin routes (`POST /admin/reload`, Node only); undefined leaves them out (404).
   * Env `SHIPSHAPE_ADMIN_TOKEN`. Default: unset.
   */
  readonly adminToken: string | undefined;
  /**
   * Classify empty and whitespace-only texts instead of answering 422. Env `SHIPSHAPE_ALLOW_EMPTY_TEXTS`
   * (`true`/`false`). Default false.
   */
  readonly allowEmptyTexts: boolean;
  /** One JSON access-log line per request. Env `SHIPSHAPE_ACCESS_LOG` (`on`/`off`). Default on. */
  readonly accessLog: boolean;
  /**
   * Admission control (edge/admission.ts): most texts in service at once, over all requests. Env
   * `SHIPSHAPE_MAX_INFLIGHT_TEXTS`. Default: the batch size (32), one full batch for the one session, which runs one
   * batch at a time: more in service would only wait inside, behind it, where no deadline applies. With N sessions
   * in parallel (a worker pool), N x the batch size.
   */
  readonly maxInflightTexts: number;
  /**
   * Most texts waiting for service; a request that would pass it gets 503 OVERLOADED at once. Env
   * `SHIPSHAPE_MAX_QUEUED_TEXTS`. Default 256: four requests of the default SHIPSHAPE_MAX_TEXTS (64) can
   * queue; on news-transformer (native, one thread) that is about 0.15 s of work.
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
  /**
   * Serve a bundle without its load-time parity proof (`proveParity`: the model against `parity.jsonl`), for
   * emergencies only; every load that skips it logs a warning. Env `SHIPSHAPE_SKIP_PARITY` (`1`/`0`, or
   * `true`/`false`). Default false.
   */
  readonly skipParity: boolean;
  /**
   * Serve `GET /metrics` without the bearer token (for a scraper inside the network). Env `SHIPSHAPE_METRICS_PUBLIC`
   * (`1`/`0`, or `true`/`false`). Default false: `/metrics` needs `SHIPSHAPE_TOKEN` like the model endpoints.
   */
  readonly metricsPublic: boolean;
  /**
   * Overrides of the health thresholds the monitor derives from the bundle (`defaultThresholds`): a JSON object
   * with any fields of `Thresholds`, e.g. `{"minTexts":100,"maxOovRate":0.1}`. Env `SHIPSHAPE_HEALTH_THRESHOLDS`.
   * Default `{}`.
   */
  readonly healthThresholds: Partial<Thresholds>;
  /**
   * URL that receives every alert event as a JSON POST (timeout 2 s, 2 retries), besides the log line. Env
   * `SHIPSHAPE_ALERT_WEBHOOK` (http or https). Default: unset.
   */
  readonly alertWebhook: string | undefined;
}

export const DEFAULT_CONFIG: EdgeConfig = Object.freeze({
  token: undefined,
  corsOrigins: [],
  maxBodyBytes: 1024 * 1024,
  maxTexts: 64,
  maxTextLength: 4_096,
  batchSize: 32,
  adminToken: undefined,
  allowEmptyTexts: false,
  accessLog: true,
  maxInflightTexts: 32,
  maxQueuedTexts: 256,
  maxQueueWaitMs: 100,
  skipParity: false,
  metricsPublic: false,
  healthThresholds: Object.freeze({}),
  alertWebhook: undefined,
});

/** The environment variables (Worker vars / secrets) the edge reads. */
export const CONFIG_VARIABLES = [
  'SHIPSHAPE_TOKEN',
  'SHIPSHAPE_CORS_ORIGINS',
  'SHIPSHAPE_MAX_BODY_BYTES',
  'SHIPSHAPE_MAX_TEXTS',
  'SHIPSHAPE_MAX_TEXT_LENGTH',
  'SHIPSHAPE_BATCH_SIZE',
  'SHIPSHAPE_ADMIN_TOKEN',
  'SHIPSHAPE_ALLOW_EMPTY_TEXTS',
  'SHIPSHAPE_ACCESS_LOG',
  'SHIPSHAPE_MAX_INFLIGHT_TEXTS',
  'SHIPSHAPE_MAX_QUEUED_TEXTS',
  'SHIPSHAPE_MAX_QUEUE_WAIT_MS',
  'SHIPSHAPE_SKIP_PARITY',
  'SHIPSHAPE_METRICS_PUBLIC',
  'SHIPSHAPE_HEALTH_THRESHOLDS',
  'SHIPSHAPE_ALERT_WEBHOOK',
] as const;

const positiveInteger = (name: string) =>
  z
    .string()
    .trim()
    .regex(/^[1-9][0-9]*$/, `${name} must be a positive integer`)
    .transform(Number)
    .pipe(z.number().max(Number.MAX_SAFE_INTEGER, `${name} is too large`));

const flag = (name: string, on: string, off: string) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((value) => value === on || value === off, `${name} must be "${on}" or "${off}"`)
    .transform((value) => value === on);

const bearerToken = (name: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9._~+/-]+=*$/, `${name} must be a bearer token (RFC 6750 b64token characters)`)
    .optional()
    .or(z.literal('').transform(() => undefined));

const switchFlag = (name: string) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine(
      (value) => ['1', 'true', '0', 'false', ''].includes(value),
      `${name} must be "1" or "0" (or "true" or "false")`,
    )
    .transform((value) => value === '1' || value === 'true');

/** A JSON object of threshold overrides; the message names the variable and the field at fault. */
const thresholdsJson = (name: string) =>
  z.string().transform((text, ctx): Partial<Thresholds> => {
    if (text.trim() === '') return {};
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `${name} is not valid JSON (${messageOf(error)})` });
      return z.NEVER;
    }
    const parsed = thresholdsSchema.safeParse(json);
    if (!parsed.success) {
      const why = parsed.error.issues
        .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(value)'}: ${issue.message}`)
        .join('; ');
      ctx.addIssue({ code: 'custom', message: `${name} is not a thresholds object (${why})` });
      return z.NEVER;
    }
    // JSON has no undefined, so every present field is a number.
    return Object.freeze(parsed.data) as Partial<Thresholds>;
  });

/** Variables whose values are secrets: never echoed in an error. A webhook URL often carries its own token. */
const SECRETS: readonly string[] = ['SHIPSHAPE_TOKEN', 'SHIPSHAPE_ADMIN_TOKEN', 'SHIPSHAPE_ALERT_WEBHOOK'];

const envSchema = z.object({
  SHIPSHAPE_TOKEN: bearerToken('SHIPSHAPE_TOKEN'),
  SHIPSHAPE_ADMIN_TOKEN: bearerToken('SHIPSHAPE_ADMIN_TOKEN'),
  SHIPSHAPE_CORS_ORIGINS: z.string().optional(),
  SHIPSHAPE_MAX_BODY_BYTES: positiveInteger('SHIPSHAPE_MAX_BODY_BYTES').optional(),
  SHIPSHAPE_MAX_TEXTS: positiveInteger('SHIPSHAPE_MAX_TEXTS').optional(),
  SHIPSHAPE_MAX_TEXT_LENGTH: positiveInteger('SHIPSHAPE_MAX_TEXT_LENGTH').optional(),
  SHIPSHAPE_BATCH_SIZE: positiveInteger('SHIPSHAPE_BATCH_SIZE').optional(),
  SHIPSHAPE_ALLOW_EMPTY_TEXTS: flag('SHIPSHAPE_ALLOW_EMPTY_TEXTS', 'true', 'false').optional(),
  SHIPSHAPE_ACCESS_LOG: flag('SHIPSHAPE_ACCESS_LOG', 'on', 'off').optional(),
  SHIPSHAPE_MAX_INFLIGHT_TEXTS: positiveInteger('SHIPSHAPE_MAX_INFLIGHT_TEXTS').optional(),
  SHIPSHAPE_MAX_QUEUED_TEXTS: positiveInteger('SHIPSHAPE_MAX_QUEUED_TEXTS').optional(),
  SHIPSHAPE_MAX_QUEUE_WAIT_MS: positiveInteger('SHIPSHAPE_MAX_QUEUE_WAIT_MS').optional(),
  SHIPSHAPE_SKIP_PARITY: switchFlag('SHIPSHAPE_SKIP_PARITY').optional(),
  SHIPSHAPE_METRICS_PUBLIC: switchFlag('SHIPSHAPE_METRICS_PUBLIC').optional(),
  SHIPSHAPE_HEALTH_THRESHOLDS: thresholdsJson('SHIPSHAPE_HEALTH_THRESHOLDS').optional(),
  SHIPSHAPE_ALERT_WEBHOOK: z
    .string()
    .trim()
    .refine(
      (value) => value === '' || (URL.canParse(value) && /^https?:$/.test(new URL(value).protocol)),
      'SHIPSHAPE_ALERT_WEBHOOK must be an http or https URL',
    )
    .transform((value) => (value === '' ? undefined : value))
    .optional(),
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
        const got = SECRETS.includes(name) ? '' : ` (got ${JSON.stringify(picked[name])})`;
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
    adminToken: v.SHIPSHAPE_ADMIN_TOKEN,
    allowEmptyTexts: v.SHIPSHAPE_ALLOW_EMPTY_TEXTS ?? DEFAULT_CONFIG.allowEmptyTexts,
    accessLog: v.SHIPSHAPE_ACCESS_LOG ?? DEFAULT_CONFIG.accessLog,
    maxInflightTexts:
      v.SHIPSHAPE_MAX_INFLIGHT_TEXTS ?? v.SHIPSHAPE_BATCH_SIZE ?? DEFAULT_CONFIG.maxInflightTexts,
    maxQueuedTexts: v.SHIPSHAPE_MAX_QUEUED_TEXTS ?? DEFAULT_CONFIG.maxQueuedTexts,
    maxQueueWaitMs: v.SHIPSHAPE_MAX_QUEUE_WAIT_MS ?? DEFAULT_CONFIG.maxQueueWaitMs,
    skipParity: v.SHIPSHAPE_SKIP_PARITY ?? DEFAULT_CONFIG.skipParity,
    metricsPublic: v.SHIPSHAPE_METRICS_PUBLIC ?? DEFAULT_CONFIG.metricsPublic,
    healthThresholds: v.SHIPSHAPE_HEALTH_THRESHOLDS ?? DEFAULT_CONFIG.healthThresholds,
    alertWebhook: v.SHIPSHAPE_ALERT_WEBHOOK,
  });
}

/** UTF-8 bytes per UTF-16 code unit at most, unescaped (a BMP character is 3 bytes; a surrogate pair 4 for 2). */
const BYTES_PER_CHAR = 3;
/** JSON around each text (`"...",`) and around the list (`{"texts":[...],"model":"..."}`), generously. */
const JSON_BYTES_PER_TEXT = 3;
const JSON_BYTES_PER_BODY = 128;

/** Body bytes a request of `maxTexts` texts of `maxTextLength` characters needs at most, written as plain UTF-8. */
export function largestRequestBytes(config: Pick<EdgeConfig, 'maxTexts' | 'maxTextLength'>): number {
  return (
    config.maxTexts * (config.maxTextLength * BYTES_PER_CHAR + JSON_BYTES_PER_TEXT) + JSON_BYTES_PER_BODY
  );
}

/**
 * Why the limits do not fit together, or undefined when they do: a request at the text count and text length
 * limits must fit the body limit. Only a warning (logged at startup): a small body limit with many short texts is
 * a sound choice, the body limit then being the one that bites. (JSON escapes such as `\u0001` take 6 bytes per
 * character; texts of control characters are not what the limits are sized for.)
 */
export function limitsWarning(config: EdgeConfig): string | undefined {
  const needed = largestRequestBytes(config);
  if (needed <= config.maxBodyBytes) return undefined;
  return (
    `SHIPSHAPE_MAX_TEXTS (${config.maxTexts}) texts of SHIPSHAPE_MAX_TEXT_LENGTH (${config.maxTextLength}) ` +
    `characters need up to ${needed} bytes of UTF-8 JSON, over SHIPSHAPE_MAX_BODY_BYTES (${config.maxBodyBytes}); ` +
    'such requests get 413. Raise SHIPSHAPE_MAX_BODY_BYTES or lower one of the others.'
  );
}
