// What only the Node entry does: back-pressure from the micro-batcher, a bundle that does not load, the CLI.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyBundle, type BundleCopy } from '../helpers/bundle-copy.ts';
import { ROOT, ensureEdgeBuilt, request, startNode, type RunningServer, type WireError } from './support.ts';

describe('the Node server', () => {
  beforeAll(() => ensureEdgeBuilt());

  describe('under more load than its queue takes', () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await startNode({}, { predictor: { batching: { maxQueue: 1, maxDelayMs: 300 } } });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('answers 503 OVERLOADED with Retry-After to the overflow and 200 to the rest, then recovers', async () => {
      const responses = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          request<WireError>(`${server.url}/v1/predict`, { json: { text: `burst ${i}` } }),
        ),
      );
      const overloaded = responses.filter((response) => response.status === 503);
      expect(overloaded.length).toBeGreaterThan(0);
      expect(responses.filter((response) => response.status === 200).length).toBeGreaterThan(0);
      expect(responses.every((response) => response.status === 200 || response.status === 503)).toBe(true);
      for (const response of overloaded) {
        expect(response.body.error.code).toBe('OVERLOADED');
        expect(response.headers.get('retry-after')).toBe('1');
      }
      expect((await request(`${server.url}/v1/predict`, { json: { text: 'after the burst' } })).status).toBe(
        200,
      );
    });
  });

  describe('with a bundle that does not load', () => {
    let server: RunningServer;
    let broken: BundleCopy;
    beforeAll(async () => {
      broken = copyBundle('news-bag');
      broken.replaceFile('model.onnx', 'not an onnx model');
      server = await startNode({}, { bundle: broken.dir, waitReady: false });
    });
    afterAll(async () => {
      await server?.close();
      broken?.remove();
    });

    it('stays alive at /healthz', async () => {
      expect((await request(`${server.url}/healthz`)).status).toBe(200);
    });

    it('answers /readyz 503 NOT_READY and predictions 503 MODEL_UNAVAILABLE with the cause', async () => {
      const predict = await request<WireError>(`${server.url}/v1/predict`, { json: { text: 'a' } });
      expect({ status: predict.status, code: predict.body.error.code }).toEqual({
        status: 503,
        code: 'MODEL_UNAVAILABLE',
      });
      expect(predict.body.error.message).toContain('BUNDLE_INVALID');
      expect(predict.body.error.message).not.toContain(broken.dir);
      const ready = await request<WireError>(`${server.url}/readyz`);
      expect({ status: ready.status, code: ready.body.error.code }).toEqual({
        status: 503,
        code: 'NOT_READY',
      });
    });
  });

  it('runs as `shipshape serve --port 0` and stops cleanly on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin/shipshape.js'), 'serve', '--port', '0', '--host', '127.0.0.1'],
      {
        cwd: ROOT,
        env: { ...process.env, SHIPSHAPE_TOKEN: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (match) resolve(match[1]!);
      });
      child.once('exit', () => reject(new Error(`serve exited early: ${out}`)));
    });
    const response = await request<{ predictions: { label: string }[] }>(`${url}/v1/predict`, {
      json: { text: 'Lakers win the title' },
    });
    expect(response.status).toBe(200);
    expect(response.body.predictions[0]!.label).toBe('Sports');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
