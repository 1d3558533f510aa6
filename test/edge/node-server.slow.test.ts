// What only the Node entry does: back-pressure from the micro-batcher, a bundle that does not load or fails its
// parity proof, the CLI.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readConfig } from '../../edge/config.ts';
import { createLog } from '../../edge/log.ts';
import { startNodeServer } from '../../edge/node-server.ts';
import { copyBundle, tamper, type BundleCopy } from '../helpers/bundle-copy.ts';
import { shipshape, startServe } from '../helpers/cli.ts';
import {
  requireEdgeBuild,
  QUIET_VARS,
  request,
  startNode,
  type RunningServer,
  type WireError,
} from './support.ts';

/** The log line of a passed proof (news-bag: 278 golden cases, atol 1e-4). */
const PROOF_LINE =
  /news-bag 1\.0\.0 passed its parity proof on native: 256 of 278 cases, logits within 1e-4 \(max \S+\) at batch [0-9, and]+, \d+ ms/;

describe('the Node server', () => {
  beforeAll(() => requireEdgeBuild());

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
        // Refused by the batcher's queue of one (not by the admission gate, whose default bounds are far larger).
        expect(response.body.error.message).toMatch(/^The prediction queue is full \(1 items waiting\)/);
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

  describe('with a bundle that fails its parity proof', () => {
    let reordered: BundleCopy;
    let swapped: BundleCopy;
    beforeAll(() => {
      reordered = copyBundle('news-bag');
      tamper.reorderLabels(reordered);
      // Same signature as news-bag's model, other outputs: only running it tells.
      swapped = copyBundle('news-bag');
      tamper.swapModel(swapped);
    });
    afterAll(() => {
      reordered?.remove();
      swapped?.remove();
    });

    it('makes startNodeServer reject a reordered label list with the ShipshapeError PARITY_MISMATCH naming a case', async () => {
      await expect(
        startNodeServer({
          bundle: reordered.dir,
          port: 0,
          config: readConfig(QUIET_VARS),
          webDir: false,
          log: createLog({ sink: () => undefined }),
        }),
      ).rejects.toMatchObject({
        name: 'ShipshapeError',
        code: 'PARITY_MISMATCH',
        message: expect.stringMatching(
          /^label order: case \d+ of \S+ records label "\S+", but its top golden logit/,
        ),
      });
    });

    it('makes shipshape serve with a worker pool exit 1 on a swapped model with PARITY_MISMATCH, proven on the workers', () => {
      const result = shipshape(
        ['serve', '--port', '0', '--workers', '2', '--bundle', swapped.dir],
        '',
        QUIET_VARS,
        60_000,
      );
      expect(result.code).toBe(1);
      expect(result.stderr.trimEnd().split('\n').at(-1)).toMatch(
        /^shipshape: PARITY_MISMATCH: Parity cases of \S+ differ on native: \d+ of 256 at batch size 32, \d+ of 16 at batch size 1; first: case /,
      );
    });

    it('is served with SHIPSHAPE_SKIP_PARITY=1, with a warning on the first load and on every reload', async () => {
      const lines: string[] = [];
      const server = await startNodeServer({
        bundle: reordered.dir,
        port: 0,
        config: readConfig({ ...QUIET_VARS, SHIPSHAPE_SKIP_PARITY: '1' }),
        webDir: false,
        log: createLog({ sink: (line) => lines.push(line) }),
      });
      try {
        await server.reload();
        await server.reload();
      } finally {
        await server.close();
      }
      const warnings = lines
        .map((line) => JSON.parse(line) as { level: string; msg: string })
        .filter((line) => line.level === 'warn');
      expect(warnings.map((line) => line.msg)).toEqual(
        Array.from(
          { length: 3 },
          () =>
            'news-bag 1.0.0 serves on native WITHOUT its parity proof (--skip-parity or SHIPSHAPE_SKIP_PARITY=1): ' +
            'its outputs were not compared with parity.jsonl. Use this in emergencies only.',
        ),
      );
    });

    it('is served by shipshape serve --skip-parity, which logs the warning before it says it is up', async () => {
      const serve = await startServe(
        ['--skip-parity', '--workers', '0', '--bundle', reordered.dir],
        QUIET_VARS,
      );
      try {
        const output = serve.output();
        expect(output.indexOf('WITHOUT its parity proof')).toBeGreaterThan(-1);
        expect(output.indexOf('WITHOUT its parity proof')).toBeLessThan(output.indexOf(serve.banner));
      } finally {
        expect(await serve.stop()).toBe(0);
      }
    });
  });

  describe('when a client aborts an upload mid-body', () => {
    let server: RunningServer;
    const lines: string[] = [];
    beforeAll(async () => {
      server = await startNode(
        { SHIPSHAPE_ACCESS_LOG: 'on' },
        { log: createLog({ sink: (line) => lines.push(line) }) },
      );
      // The startup's lines (the parity proof's) are not this test's business.
      lines.length = 0;
    });
    afterAll(async () => {
      await server?.close();
    });

    it('logs one access line with BODY_INCOMPLETE and no stack, and nothing on the console', async () => {
      const consoleError = vi.spyOn(console, 'error');
      const { hostname, port } = new URL(server.url);
      const socket = connect(Number(port), hostname);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(
        'POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n' +
          'X-Request-Id: aborted-1\r\n\r\n{"texts":["half a text',
      );
      // Gone once the bytes are on their way: the server sees the headers, then the connection close mid-body.
      await new Promise<void>((resolve) => socket.end(() => resolve()));
      socket.destroy();
      await vi.waitFor(() => expect(lines.some((line) => line.includes('aborted-1'))).toBe(true), {
        timeout: 10_000,
      });
      expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
        expect.objectContaining({
          msg: 'request',
          route: '/v1/predict',
          status: 400,
          error: 'BODY_INCOMPLETE',
        }),
      ]);
      expect(lines.join('\n')).not.toMatch(/\n\s+at /);
      expect(consoleError).not.toHaveBeenCalled();
      consoleError.mockRestore();
    });
  });

  it('takes the port from PORT when --port is not given', async () => {
    const serve = await startServe([], { PORT: '0' });
    expect((await request(`${serve.url}/healthz`)).status).toBe(200);
    expect(await serve.stop()).toBe(0);
  });

  it('lets --port win over PORT', async () => {
    // PORT is not a port at all: serve only starts if the flag's value is the one used.
    const serve = await startServe(['--port', '0'], { PORT: 'not-a-port' });
    expect((await request(`${serve.url}/healthz`)).status).toBe(200);
    expect(await serve.stop()).toBe(0);
  });

  it('proves the bundle on the pool before it says it is up, and logs the proof line', async () => {
    const serve = await startServe(['--workers', '2'], QUIET_VARS);
    try {
      const output = serve.output();
      const proof = PROOF_LINE.exec(output);
      expect(proof).not.toBeNull();
      expect(proof!.index).toBeLessThan(output.indexOf(serve.banner));
      expect(serve.banner).toContain('on native (2 workers)');
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });

  it('runs as `shipshape serve --port 0` and stops cleanly on SIGTERM', async () => {
    const serve = await startServe([]);
    const response = await request<{ predictions: { label: string }[] }>(`${serve.url}/v1/predict`, {
      json: { text: 'Lakers win the title' },
    });
    expect(response.status).toBe(200);
    expect(response.body.predictions[0]!.label).toBe('Sports');
    expect(await serve.stop()).toBe(0);
  });
});
