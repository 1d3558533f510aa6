// Labels named like Object.prototype's members keep their scores over HTTP (/v1 and the Open Inference Protocol):
// Hono's app.request on the app of edge/app.ts with a real news-bag predictor whose labels were renamed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type EdgeApp } from '../../edge/app.ts';
import { readConfig } from '../../edge/config.ts';
import { createLog } from '../../edge/log.ts';
import { createPredictor, loadBundle } from '../../runtime/node.ts';
import type { BundleCopy } from '../helpers/bundle-copy.ts';
import { PROTOTYPE_LABELS, copyWithLabels } from '../helpers/renamed-labels.ts';

const TEXT = 'Stocks rallied after the earnings report';

describe('labels named __proto__, constructor, toString and hasOwnProperty over HTTP', () => {
  let copy: BundleCopy;
  let edge: EdgeApp;

  beforeAll(async () => {
    copy = copyWithLabels();
    edge = createApp({
      config: readConfig({ SHIPSHAPE_ACCESS_LOG: 'off' }),
      log: createLog({ sink: () => undefined }),
      loadPredictor: async () => createPredictor(await loadBundle(copy.dir), { backend: 'native' }),
    });
    await edge.warmUp();
  });
  afterAll(async () => {
    await edge?.dispose();
    copy?.remove();
  });

  const post = (path: string, body: unknown) =>
    edge.app.request(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('each get a score in POST /v1/predict', async () => {
    const response = await post('/v1/predict', { texts: [TEXT] });
    expect(response.status).toBe(200);
    const text = await response.text();
    const body = JSON.parse(text) as { predictions: { label: string; scores: Record<string, number> }[] };
    const [prediction] = body.predictions;
    expect(prediction?.label).toBe('toString');
    expect(Object.keys(prediction!.scores)).toEqual([...PROTOTYPE_LABELS]);
    expect(text).toMatch(
      /"scores":\{"__proto__":0\.\d+,"constructor":0\.\d+,"toString":0\.\d+,"hasOwnProperty":0\.\d+\}/,
    );
  });

  it('each get a number in the FP32 output of POST /v2/models/news-bag/infer', async () => {
    const response = await post('/v2/models/news-bag/infer', {
      inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: [TEXT] }],
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { outputs: { shape: number[]; data: unknown[] }[] };
    const [output] = body.outputs;
    expect(output?.shape).toEqual([1, 4]);
    expect(output?.data.every((value) => typeof value === 'number' && value > 0)).toBe(true);
    expect((output!.data as number[]).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });
});
