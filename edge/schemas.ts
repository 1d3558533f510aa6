// The request bodies the edge accepts, as zod schemas, and reading a JSON body through one of them.
import type { Context } from 'hono';
import { z } from 'zod';
import type { EdgeConfig } from './config.ts';
import { EdgeError } from './errors.ts';
import { ShipshapeError } from '../runtime/errors.ts';

/** A model name as the bundle format spells it (manifest.json `name`). */
export const modelNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a model name like "news-bag" ([a-z0-9][a-z0-9-]*)');

/** `POST /v1/predict`: `{ "texts": [...] }` or `{ "text": "..." }`, optionally naming the model. */
export function predictRequestSchema(config: EdgeConfig) {
  const text = z.string().max(config.maxTextLength, `must be at most ${config.maxTextLength} characters`);
  const model = modelNameSchema.optional();
  return z.union([
    z.strictObject({ text, model }),
    z.strictObject({
      texts: z.array(text).min(1, 'must hold at least one text').max(config.maxTexts),
      model,
    }),
  ]);
}

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

/** Names each issue by its JSON path: `texts.3: Invalid input: expected string, received number`. */
export function describeIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)';
    return `${path}: ${issue.message}`;
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
 * Reads the body as JSON and validates it.
 * @throws EdgeError UNSUPPORTED_MEDIA_TYPE (not `application/json`), MALFORMED_JSON, TOO_MANY_TEXTS;
 *   ShipshapeError INPUT_INVALID when the JSON does not match the schema.
 */
export async function readJson<S extends z.ZodType>(
  c: Context,
  schema: S,
  config: EdgeConfig,
): Promise<z.infer<S>> {
  const type = c.req.header('Content-Type');
  if (type === undefined || !JSON_MEDIA_TYPE.test(type)) {
    throw new EdgeError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type ${type === undefined ? 'is missing' : JSON.stringify(type)}; send the body as ` +
        '"Content-Type: application/json".',
    );
  }
  const text = await c.req.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new EdgeError(
      'MALFORMED_JSON',
      `The body is not valid JSON (${(cause as Error).message}); send a JSON object.`,
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
