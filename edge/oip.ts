// The Open Inference Protocol (KServe v2) REST endpoints over the one model the edge serves.
// Spec: https://kserve.github.io/website/docs/concepts/architecture/data-plane/v2-protocol (REST/HTTP section).
import type { Context, Hono } from 'hono';
import type { Predictor } from '../runtime/types.ts';
import { ShipshapeError } from '../runtime/errors.ts';
import { admitRequest, type Admission } from './admission.ts';
import type { EdgeConfig } from './config.ts';
import { notePredictor, noteTexts, timeInference } from './access-log.ts';
import { EdgeError } from './errors.ts';
import { excerpt } from './excerpt.ts';
import type { HealthMonitors } from './health.ts';
import type { ModelSlot } from './model-slot.ts';
import {
  BLANK_TEXT_MESSAGE,
  inferRequestSchema,
  isBlank,
  modelNameSchema,
  readJson,
  type InferRequest,
} from './schemas.ts';

/** The model's one input and one output, as the protocol's model metadata names them. */
export const INPUT_NAME = 'text';
export const OUTPUT_NAME = 'probabilities';
/**
 * A second output: one prediction id per input row, for `POST /v1/feedback`. An output tensor (BYTES, [N]) rather
 * than a response `parameters` entry, because the protocol's parameter values are scalars; a request that names only
 * `probabilities` in `outputs` gets only that.
 */
export const ID_OUTPUT_NAME = 'prediction_id';
const OUTPUT_NAMES: readonly string[] = [OUTPUT_NAME, ID_OUTPUT_NAME];
const PLATFORM = 'onnxruntime_onnx';

export interface OipOptions {
  readonly slot: ModelSlot;
  readonly config: EdgeConfig;
  /** The gate every infer passes (shared with /v1/predict). */
  readonly admission: Admission;
  /** Where predictions are remembered for feedback. */
  readonly monitors: HealthMonitors;
  readonly serverName: string;
  readonly serverVersion: string;
}

function invalid(message: string): ShipshapeError {
  return new ShipshapeError('INPUT_INVALID', message, { subject: 'body' });
}

/**
 * Runs `work` with the served predictor (held until `work` settles, see `ModelSlot.use`) if `name` (and `version`,
 * when given) is the served model's.
 * @throws EdgeError MODEL_NOT_FOUND otherwise.
 */
function withModel<T>(
  slot: ModelSlot,
  c: Context,
  work: (predictor: Predictor) => T | Promise<T>,
): Promise<T> {
  const name = c.req.param('name') ?? '';
  const version = c.req.param('version');
  if (!modelNameSchema.safeParse(name).success) {
    throw new EdgeError('MODEL_NOT_FOUND', `No model named ${excerpt(name)}; see GET /v1/models.`);
  }
  return slot.use(async (predictor) => {
    notePredictor(c, predictor);
    checkModel(predictor, name, version);
    return work(predictor);
  });
}

function checkModel(predictor: Predictor, name: string, version: string | undefined): void {
  const { manifest } = predictor.bundle;
  if (name !== manifest.name) {
    throw new EdgeError(
      'MODEL_NOT_FOUND',
      `No model named ${excerpt(name)}; this server serves "${manifest.name}".`,
    );
  }
  if (version !== undefined && version !== manifest.version) {
    throw new EdgeError(
      'MODEL_NOT_FOUND',
      `Model "${name}" has no version ${excerpt(version)}; this server serves version "${manifest.version}".`,
    );
  }
}

/** A shape as messages show it: `[2, 1]`, at most four dimensions (the rest is user input of any length). */
function showShape(shape: readonly number[]): string {
  return `[${shape.slice(0, 4).join(', ')}${shape.length > 4 ? `, … (${shape.length} dimensions)` : ''}]`;
}

/** Flattens the input's data (flat or nested row-major, as the protocol allows) and checks it against its shape. */
function textsOf(request: InferRequest, config: EdgeConfig): string[] {
  if (request.inputs.length !== 1) {
    throw invalid(`inputs holds ${request.inputs.length} tensors; the model takes one, "${INPUT_NAME}".`);
  }
  const input = request.inputs[0]!;
  if (input.name !== INPUT_NAME) {
    throw invalid(`inputs.0.name is ${excerpt(input.name)}; the model's input is "${INPUT_NAME}".`);
  }
  if (input.datatype !== 'BYTES') {
    throw invalid(`inputs.0.datatype is ${excerpt(input.datatype)}; input "${INPUT_NAME}" is BYTES.`);
  }
  const { shape } = input;
  if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
    throw invalid(`inputs.0.shape is ${showShape(shape)}; input "${INPUT_NAME}" is [N] (or [N, 1]).`);
  }
  const rows = shape[0]!;
  if (rows > config.maxTexts) {
    throw new EdgeError(
      'TOO_MANY_TEXTS',
      `inputs.0.shape asks for ${rows} texts; send at most ${config.maxTexts} per request (SHIPSHAPE_MAX_TEXTS).`,
    );
  }
  if (rows === 0) throw invalid('inputs.0.shape is [0]; send at least one text.');
  const texts = input.data.flat(shape.length);
  if (texts.length !== rows) {
    throw invalid(`inputs.0.data holds ${texts.length} elements; shape ${showShape(shape)} needs ${rows}.`);
  }
  return texts.map((text, i) => {
    if (typeof text !== 'string') {
      throw invalid(
        `inputs.0.data.${i} is ${text === null ? 'null' : typeof text}; BYTES elements are strings.`,
      );
    }
    if (text.length > config.maxTextLength) {
      throw invalid(
        `inputs.0.data.${i} is ${text.length} characters long; the limit is ${config.maxTextLength}.`,
      );
    }
    if (!config.allowEmptyTexts && isBlank(text)) throw invalid(`inputs.0.data.${i}: ${BLANK_TEXT_MESSAGE}.`);
    return text;
  });
}

/** The outputs to answer, in the model's order: those the request names, or all when it names none. */
function requestedOutputs(request: InferRequest): ReadonlySet<string> {
  if (request.outputs === undefined || request.outputs.length === 0) return new Set(OUTPUT_NAMES);
  for (const [i, output] of request.outputs.entries()) {
    if (!OUTPUT_NAMES.includes(output.name)) {
      throw invalid(
        `outputs.${i}.name is ${excerpt(output.name)}; the model's outputs are "${OUTPUT_NAME}" and ` +
          `"${ID_OUTPUT_NAME}".`,
      );
    }
  }
  return new Set(request.outputs.map((output) => output.name));
}

/** Registers `/v2`, `/v2/health/*` and `/v2/models/{name}[/versions/{version}][/ready|/infer]`. */
export function registerOpenInference(app: Hono, options: OipOptions): void {
  const { slot, config, admission } = options;
  const model = <T>(c: Context, work: (predictor: Predictor) => T | Promise<T>) => withModel(slot, c, work);

  app.get('/v2', (c) =>
    c.json({ name: options.serverName, version: options.serverVersion, extensions: [] as string[] }),
  );
  // Health: "A 200 status code indicates true and a 4xx status code indicates false. The HTTP response body
  // should be empty."
  app.get('/v2/health/live', (c) => c.body(null, 200));
  app.get('/v2/health/ready', (c) => c.body(null, slot.state === 'ready' && !slot.draining ? 200 : 400));

  for (const base of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get(base, (c) =>
      model(c, (predictor) => {
        const { manifest } = predictor.bundle;
        return c.json({
          name: manifest.name,
          versions: [manifest.version],
          platform: PLATFORM,
          inputs: [{ name: INPUT_NAME, datatype: 'BYTES', shape: [-1] }],
          outputs: [
            { name: OUTPUT_NAME, datatype: 'FP32', shape: [-1, manifest.labels.length] },
            { name: ID_OUTPUT_NAME, datatype: 'BYTES', shape: [-1] },
          ],
        });
      }),
    );
    app.get(`${base}/ready`, async (c) => {
      // Not loaded yet: false, without waiting for the load (the name cannot be checked before it).
      if (slot.current === undefined) return c.body(null, 400);
      return model(c, () => c.body(null, slot.draining ? 400 : 200));
    });
    app.post(`${base}/infer`, async (c) => {
      const request = await readJson(c, inferRequestSchema, config);
      return model(c, async (predictor) => {
        const texts = textsOf(request, config);
        noteTexts(c, texts.length);
        const wanted = requestedOutputs(request);
        const { labels, name, version } = predictor.bundle.manifest;
        const monitor = options.monitors.of(predictor);
        const items = await admitRequest(c, admission, texts.length, () =>
          timeInference(c, predictor.predictBatch(texts, { batchSize: config.batchSize })),
        );
        const data: number[] = [];
        for (const [i, item] of items.entries()) {
          if (item.status === 'error') {
            throw new ShipshapeError(item.error.code, `inputs.0.data.${i}: ${item.error.message}`);
          }
          for (const label of labels) data.push(Math.fround(item.scores[label] ?? 0));
        }
        const outputs: { name: string; shape: number[]; datatype: string; data: (number | string)[] }[] = [];
        if (wanted.has(OUTPUT_NAME)) {
          outputs.push({ name: OUTPUT_NAME, shape: [texts.length, labels.length], datatype: 'FP32', data });
        }
        if (wanted.has(ID_OUTPUT_NAME)) {
          // Every item is ok here (an item's error failed the request above).
          const ids = monitor.rememberAll(items.map((item) => (item.status === 'ok' ? item.label : '')));
          outputs.push({ name: ID_OUTPUT_NAME, shape: [texts.length], datatype: 'BYTES', data: ids });
        }
        return c.json({
          model_name: name,
          model_version: version,
          ...(request.id === undefined ? {} : { id: request.id }),
          outputs,
        });
      });
    });
  }
}

/** The v2 paths and the methods each takes, for 405 answers. */
export const OIP_ROUTES: readonly (readonly [string, readonly string[]])[] = [
  ['/v2', ['GET']],
  ['/v2/health/live', ['GET']],
  ['/v2/health/ready', ['GET']],
  ['/v2/models/:name', ['GET']],
  ['/v2/models/:name/ready', ['GET']],
  ['/v2/models/:name/infer', ['POST']],
  ['/v2/models/:name/versions/:version', ['GET']],
  ['/v2/models/:name/versions/:version/ready', ['GET']],
  ['/v2/models/:name/versions/:version/infer', ['POST']],
];
