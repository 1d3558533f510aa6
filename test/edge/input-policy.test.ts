// Input policy settings in-process (app.request, real news-bag predictor): what SHIPSHAPE_ALLOW_EMPTY_TEXTS changes.
// The policy itself (UTF-8, charset, Content-Encoding, blank texts, excerpts) is in api-contract.ts, over HTTP on
// Node and workerd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type EdgeApp } from '../../edge/app.ts';
import { readConfig } from '../../edge/config.ts';
import { createLog } from '../../edge/log.ts';
import { createPredictor, loadBundle } from '../../runtime/node.ts';
import { BUNDLE_DIR, readBlankGoldenCases } from './support.ts';

describe('SHIPSHAPE_ALLOW_EMPTY_TEXTS=true', () => {
  let edge: EdgeApp;
  const blank = readBlankGoldenCases();

  beforeAll(async () => {
    edge = createApp({
      config: readConfig({ SHIPSHAPE_ALLOW_EMPTY_TEXTS: 'true', SHIPSHAPE_ACCESS_LOG: 'off' }),
      log: createLog({ sink: () => undefined }),
      loadPredictor: async () => createPredictor(await loadBundle(BUNDLE_DIR), { backend: 'native' }),
    });
    await edge.warmUp();
  });

  afterAll(async () => {
    await edge?.dispose();
  });

  it('classifies the empty and whitespace-only golden texts with their golden labels (v1)', async () => {
    expect(blank.length).toBeGreaterThan(0);
    const response = await edge.app.request('/v1/predict', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ texts: blank.map((c) => c.text) }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { predictions: { label: string }[] };
    expect(body.predictions.map((p) => p.label)).toEqual(blank.map((c) => c.label));
  });

  it('classifies an empty text through the Open Inference Protocol', async () => {
    const response = await edge.app.request('/v2/models/news-bag/infer', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', data: [''] }] }),
    });
    expect(response.status).toBe(200);
  });
});
