// What only the Worker does: load on its first request, take the model from static assets, refuse a bad setting,
// and fit Cloudflare's upload limit.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMIT_GZIP_BYTES, measureWorker } from '../../edge/size.ts';
import {
  BUNDLE_DIR,
  IN_CI,
  WORKER_DIR,
  requireEdgeBuild,
  hasWorkerd,
  readServableGoldenCases,
  request,
  softmax,
  startWorkerd,
  type RunningServer,
  type WireError,
} from './support.ts';

const HAS_WORKERD = hasWorkerd();

interface V1Answer {
  readonly backend: string;
  readonly predictions: readonly { label: string; scores: Record<string, number> }[];
}

describe.runIf(HAS_WORKERD)('the Worker', () => {
  beforeAll(() => requireEdgeBuild());

  it('fits the 10 MiB compressed upload limit with the embedded bundle and its parity cases', async () => {
    const size = await measureWorker(WORKER_DIR);
    expect(size.gzipBytes).toBeLessThanOrEqual(LIMIT_GZIP_BYTES);
    expect(size.files.map((file) => file.name.replace(/^[0-9a-f]{40}-/, ''))).toEqual(
      expect.arrayContaining([
        'manifest.bin',
        'model.bin',
        'vocab.bin',
        'normalization.bin',
        'parity.bin',
        'ort-wasm-simd-threaded.wasm',
        'worker.js',
      ]),
    );
  });

  describe('with the embedded bundle, from a fresh isolate', () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await startWorkerd();
    });
    afterAll(async () => {
      await server?.close();
    });

    it('answers /readyz 503 NOT_READY with Retry-After on its first request, then 200 once warmed up', async () => {
      const first = await request<WireError>(`${server.url}/readyz`);
      expect({ status: first.status, code: first.body.error.code }).toEqual({
        status: 503,
        code: 'NOT_READY',
      });
      expect(first.headers.get('retry-after')).toBe('1');
      const deadline = Date.now() + 30_000;
      let status = first.status;
      while (status !== 200 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        status = (await request(`${server.url}/readyz`)).status;
      }
      expect(status).toBe(200);
    });

    it('leaves the API open when no token is set', async () => {
      const response = await request<V1Answer>(`${server.url}/v1/predict`, { json: { text: 'open' } });
      expect(response.status).toBe(200);
      expect(response.body.backend).toBe('wasm');
    });
  });

  describe('with SHIPSHAPE_MODEL_SOURCE = "assets"', () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await startWorkerd({
        SHIPSHAPE_MODEL_SOURCE: 'assets',
        SHIPSHAPE_MODEL_PATH: '/models/news-bag/',
      });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('answers /v2/health/ready 400 before the model has loaded', async () => {
      const response = await fetch(`${server.url}/v2/health/ready`);
      expect(response.status).toBe(400);
    });

    it('loads the bundle through env.ASSETS and matches the golden cases', async () => {
      const golden = readServableGoldenCases().slice(0, 64);
      const response = await request<V1Answer>(`${server.url}/v1/predict`, {
        json: { texts: golden.map((c) => c.text) },
      });
      expect(response.status).toBe(200);
      response.body.predictions.forEach((prediction, i) => {
        const expected = golden[i]!;
        expect(prediction.label).toBe(expected.label);
        const reference = softmax(expected.logits);
        Object.values(prediction.scores).forEach((score, j) =>
          expect(Math.abs(score - reference[j]!)).toBeLessThanOrEqual(1e-4),
        );
      });
    });
  });

  describe('with SHIPSHAPE_MODEL_SOURCE = "r2"', () => {
    let server: RunningServer;
    beforeAll(async () => {
      const files = ['manifest.json', 'model.onnx', 'vocab.txt', 'normalization.json', 'parity.jsonl'];
      const objects = Object.fromEntries(
        files.map((file) => [
          `models/news-bag/${file}`,
          new Uint8Array(readFileSync(join(BUNDLE_DIR, file))),
        ]),
      );
      server = await startWorkerd(
        { SHIPSHAPE_MODEL_SOURCE: 'r2', SHIPSHAPE_MODEL_PATH: 'models/news-bag/' },
        { r2: { MODELS: objects } },
      );
    });
    afterAll(async () => {
      await server?.close();
    });

    it('loads the bundle from the MODELS bucket and matches the golden labels', async () => {
      const golden = readServableGoldenCases().slice(0, 32);
      const response = await request<V1Answer>(`${server.url}/v1/predict`, {
        json: { texts: golden.map((c) => c.text) },
      });
      expect(response.status).toBe(200);
      expect(response.body.predictions.map((p) => p.label)).toEqual(golden.map((c) => c.label));
    });
  });

  describe('with an R2 model object larger than manifest.json declares', () => {
    let server: RunningServer;
    beforeAll(async () => {
      const files = ['manifest.json', 'model.onnx', 'vocab.txt', 'normalization.json'];
      const objects: Record<string, Uint8Array> = Object.fromEntries(
        files.map((file) => [
          `models/news-bag/${file}`,
          new Uint8Array(readFileSync(join(BUNDLE_DIR, file))),
        ]),
      );
      const model = objects['models/news-bag/model.onnx']!;
      const grown = new Uint8Array(model.byteLength + 1);
      grown.set(model);
      objects['models/news-bag/model.onnx'] = grown;
      server = await startWorkerd(
        { SHIPSHAPE_MODEL_SOURCE: 'r2', SHIPSHAPE_MODEL_PATH: 'models/news-bag/' },
        { r2: { MODELS: objects } },
      );
    });
    afterAll(async () => {
      await server?.close();
    });

    it('answers 503 MODEL_UNAVAILABLE with BUNDLE_FILE_TOO_LARGE', async () => {
      const response = await request<WireError>(`${server.url}/v1/predict`, { json: { text: 'a' } });
      expect({ status: response.status, code: response.body.error.code }).toEqual({
        status: 503,
        code: 'MODEL_UNAVAILABLE',
      });
      expect(response.body.error.message).toContain('(BUNDLE_FILE_TOO_LARGE)');
    });
  });

  describe('with the embedded bundle and a setting its load refuses', () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await startWorkerd({ SHIPSHAPE_MAX_TEXTS: 'many' });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('stays alive at /healthz and answers /readyz 503 NOT_READY', async () => {
      expect((await request(`${server.url}/healthz`)).status).toBe(200);
      const ready = await request<WireError>(`${server.url}/readyz`);
      expect({ status: ready.status, code: ready.body.error.code }).toEqual({
        status: 503,
        code: 'NOT_READY',
      });
    });

    it('answers model endpoints 503 MODEL_UNAVAILABLE naming the bad variable, request after request', async () => {
      for (let i = 0; i < 2; i++) {
        const response = await request<WireError>(`${server.url}/v1/predict`, { json: { text: 'a' } });
        expect({ status: response.status, code: response.body.error.code }).toEqual({
          status: 503,
          code: 'MODEL_UNAVAILABLE',
        });
        expect(response.body.error.message).toContain('SHIPSHAPE_MAX_TEXTS');
      }
    });
  });

  describe('with a wrong setting', () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await startWorkerd({ SHIPSHAPE_MODEL_SOURCE: 'ftp', SHIPSHAPE_MAX_TEXTS: 'many' });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('stays alive at /healthz', async () => {
      expect((await request(`${server.url}/healthz`)).status).toBe(200);
    });

    it('answers model endpoints 503 MODEL_UNAVAILABLE naming the bad variable', async () => {
      const response = await request<WireError>(`${server.url}/v1/predict`, { json: { text: 'a' } });
      expect({ status: response.status, code: response.body.error.code }).toEqual({
        status: 503,
        code: 'MODEL_UNAVAILABLE',
      });
      expect(response.body.error.message).toContain('SHIPSHAPE_MAX_TEXTS');
      expect(response.headers.get('retry-after')).toBe('1');
    });
  });
});

describe.runIf(!HAS_WORKERD && IN_CI)('the Worker without workerd', () => {
  it('fails in CI because workerd is missing', () => {
    throw new Error('workerd is not installed (node_modules/@cloudflare/workerd-*); run npm ci.');
  });
});
