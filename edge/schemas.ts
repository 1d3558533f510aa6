// The request bodies the edge accepts, as zod schemas, and reading a JSON body through one of them.
import type { Context } from 'hono';
import { z } from 'zod';
import type { EdgeConfig } from './config.ts';
import { readBodyText } from './body.ts';
import { EdgeError } from './errors.ts';
import { excerpt } from './excerpt.ts';
import { ShipshapeError, messageOf } from '../runtime/errors.ts';

/** A model name as the bundle format spells it (manifest.json `name`). */
export const modelNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a model name like "news-bag" ([a-z0-9][a-z0-9-]*)');

/** Whether a text holds something to classify: not empty, not only whitespace (JavaScript's `trim`). */
export const isBlank = (text: string): boolean => text.trim() === '';

/** The 422 message for a blank text. */
export const BLANK_TEXT_MESSAGE =
  'must not be empty or only whitespace (SHIPSHAPE_ALLOW_EMPTY_TEXTS=true classifies such texts)';

/** `POST /v1/predict`: `{ "texts": [...] }` or `{ "text": "..." }`, optionally naming the model. */
export function predictRequestSchema(config: EdgeConfig) {
  const bounded = z.string().max(config.maxTextLength, `must be at most ${config.maxTextLength} characters`);
  const text = config.allowEmptyTexts ? bounded : bounded.refine((t) => !isBlank(t), BLANK_TEXT_MESSAGE);
  const model = modelNameSchema.optional();
  return z.union([
    z.strictObject({ text, model }),
    z.strictObject({
      texts: z.array(text).min(1, 'must hold at least one text').max(config.maxTexts),
      model,
    }),
  ]);
}

/** Most feedback items in one `POST /v1/feedback`. */
export const MAX_FEEDBACK_ITEMS = 1_000;

/** One piece of ground truth: the id a prediction was answered with, and the true label. */
const feedbackItemSchema = z.strictObject({
  id: z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
  label: z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
});

/**
 * `POST /v1/feedback`: `{ "id", "label" }`, or `{ "feedback": [{ "id", "label" }, ...] }`. The item count is checked
 * by the route (413 past `MAX_FEEDBACK_ITEMS`), not here: the schema's array bound would be reported as texts.
 */
export const feedbackRequestSchema = z.union([
  feedbackItemSchema,
  z.strictObject({ feedback: z.array(feedbackItemSchema).min(1, 'must hold at least one item') }),
]);
export type FeedbackRequest = z.infer<typeof feedbackRequestSchema>;

/** One tensor of an Open Inference Protocol request. */
const requestInputSchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  datatype: z.string(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  data: z.array(z.unknown()),
});

/**
 * `POST /v2/models/{name}/infer` (KServe Open Inference Protocol, REST `$inference_request`):
 * https://kserve.github.io/website/docs/concepts/architecture/data-plane/v2-protocol
 */
export const inferRequestSchema = z.object({
  id: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  inputs: z.array(requestInputSchema).min(1, 'must hold one input'),
  outputs: z
    .array(z.object({ name: z.string(), parameters: z.record(z.string(), z.unknown()).optional() }))
    .optional(),
});
export type InferRequest = z.infer<typeof inferRequestSchema>;

const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;.*)?$/i;
/** WHATWG Encoding labels of UTF-8 a client may plausibly send (https://encoding.spec.whatwg.org/#names-and-labels). */
const UTF8_LABELS = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8']);

/** A JSON path segment as a message shows it: a long key (user input) as an excerpt. */
function pathSegment(segment: PropertyKey): string {
  const text = String(segment);
  return text.length > 32 ? excerpt(text, 32) : text;
}

/** An issue's message; unknown keys are user input, so at most three are named, each as an excerpt. */
function issueMessage(issue: z.ZodError['issues'][number]): string {
  if (issue.code === 'unrecognized_keys') {
    const named = issue.keys.slice(0, 3).map((key) => excerpt(key, 32));
    const more = issue.keys.length - named.length;
    return `Unrecognized key${issue.keys.length > 1 ? 's' : ''}: ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
  }
  return issue.message.length > 200 ? `${issue.message.slice(0, 199)}…` : issue.message;
}

/** Names each issue by its JSON path: `texts.3: Invalid input: expected string, received number`. */
export function describeIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(pathSegment).join('.') : '(body)';
    return `${path}: ${issueMessage(issue)}`;
  });
  const more = error.issues.length - shown.length;
  return shown.join('; ') + (more > 0 ? `; and ${more} more` : '');
}

/** The union's branch errors, flattened, so messages name the field rather than "invalid input". */
function unionIssues(error: z.ZodError): z.ZodError {
  const [first] = error.issues;
  if (error.issues.length !== 1 || first?.code !== 'invalid_union') return error;
  const branches = first.errors;
  // Report the branch that got furthest: fewest issues that are not about unknown keys.
  const ranked = [...branches].sort(
    (a, b) =>
      a.filter((issue) => issue.code === 'unrecognized_keys').length -
        b.filter((issue) => issue.code === 'unrecognized_keys').length || a.length - b.length,
  );
  const best = ranked[0];
  return best === undefined || best.length === 0 ? error : new z.ZodError(best);
}

/** The texts count issue, if the request has too many: answered 413 TOO_MANY_TEXTS instead of 422. */
function tooMany(error: z.ZodError, max: number): EdgeError | undefined {
  const issue = error.issues.find((i) => i.code === 'too_big' && i.origin === 'array');
  if (issue === undefined) return undefined;
  return new EdgeError(
    'TOO_MANY_TEXTS',
    `${issue.path.map(String).join('.')} holds more than ${max} texts; send at most ${max} per request ` +
      '(SHIPSHAPE_MAX_TEXTS) or split the request.',
  );
}

/**
 * The media type check: JSON, in UTF-8, not compressed.
 *
 * A compressed body is refused rather than inflated: the size limit would then bound only the compressed bytes (a
 * small gzip bomb inflates to gigabytes), inflating costs the CPU the service needs for inference, and JSON texts
 * of at most 1 MiB gain little from it.
 * @throws EdgeError UNSUPPORTED_MEDIA_TYPE naming the fix.
 */
function checkMediaType(c: Context): void {
  const type = c.req.header('Content-Type');
  if (type === undefined || !JSON_MEDIA_TYPE.test(type)) {
    throw new EdgeError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type ${type === undefined ? 'is missing' : excerpt(type)}; send the body as ` +
        '"Content-Type: application/json".',
    );
  }
  for (const parameter of type.split(';').slice(1)) {
    const [name = '', value = ''] = parameter.split('=', 2).map((part) => part.trim());
    if (name.toLowerCase() !== 'charset') continue;
    const charset = value.replace(/^"(.*)"$/, '$1').toLowerCase();
    if (!UTF8_LABELS.has(charset)) {
      throw new EdgeError(
        'UNSUPPORTED_MEDIA_TYPE',
        `Content-Type charset ${excerpt(charset)} is not supported; send the body in UTF-8 ` +
          '("Content-Type: application/json" or "application/json; charset=utf-8").',
      );
    }
  }
  const encoding = c.req.header('Content-Encoding')?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    throw new EdgeError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Encoding ${excerpt(encoding)} is not supported; send the body uncompressed ` +
        '(no Content-Encoding header).',
      { headers: { 'Accept-Encoding': 'identity' } },
    );
  }
}

/**
 * Reads the body as JSON and validates it.
 * @throws EdgeError UNSUPPORTED_MEDIA_TYPE (not `application/json`, a charset other than UTF-8, a Content-Encoding),
 *   BODY_INCOMPLETE, MALFORMED_BODY (not UTF-8), MALFORMED_JSON, TOO_MANY_TEXTS; ShipshapeError INPUT_INVALID when
 *   the JSON does not match the schema.
 */
export async function readJson<S extends z.ZodType>(
  c: Context,
  schema: S,
  config: EdgeConfig,
): Promise<z.infer<S>> {
  checkMediaType(c);
  const text = await readBodyText(c);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    // V8's message quotes about ten characters of the body; bounded here all the same.
    const reason = messageOf(cause);
    throw new EdgeError(
      'MALFORMED_JSON',
      `The body is not valid JSON (${reason.length > 120 ? `${reason.slice(0, 119)}…` : reason}); send a JSON object.`,
      { cause },
    );
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const error = unionIssues(parsed.error);
  throw (
    tooMany(error, config.maxTexts) ??
    new ShipshapeError('INPUT_INVALID', `The request body is invalid: ${describeIssues(error)}.`, {
      subject: 'body',
    })
  );
}
