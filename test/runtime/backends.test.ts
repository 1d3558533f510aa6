// Tests of the backend ladder: each platform's order, where a choice starts, and what falls back to what.
import { describe, expect, it } from 'vitest';
import {
  BACKEND_LADDERS,
  climbLadder,
  fallbacksBelow,
  isBackendName,
  ladderStart,
  type BackendName,
} from '../../runtime/backends.ts';
import { hasErrorCode } from '../../runtime/errors.ts';
import { nodePlatform } from '../../runtime/platform/node.ts';

describe('BACKEND_LADDERS', () => {
  it('orders Node native then wasm', () => {
    expect(BACKEND_LADDERS.node).toEqual(['native', 'wasm']);
  });

  it('orders the browser webgpu then wasm', () => {
    expect(BACKEND_LADDERS.browser).toEqual(['webgpu', 'wasm']);
  });

  it('gives workerd wasm only', () => {
    expect(BACKEND_LADDERS.workerd).toEqual(['wasm']);
  });

  it('is the ladder the Node platform walks', () => {
    expect(nodePlatform.ladder).toBe(BACKEND_LADDERS.node);
  });

  it('cannot be edited at run time', () => {
    expect(Object.isFrozen(BACKEND_LADDERS)).toBe(true);
    expect(Object.isFrozen(BACKEND_LADDERS.browser)).toBe(true);
  });
});

describe('ladderStart', () => {
  it("tries the whole ladder in order for 'auto', skipping nothing", () => {
    expect(ladderStart('browser', BACKEND_LADDERS.browser, 'auto')).toEqual({
      candidates: ['webgpu', 'wasm'],
      skipped: [],
    });
  });

  it('tries only a named backend and records the ones above it as not requested', () => {
    expect(ladderStart('node', BACKEND_LADDERS.node, 'wasm')).toEqual({
      candidates: ['wasm'],
      skipped: [{ backend: 'native', reason: 'not requested (backend: "wasm")' }],
    });
  });

  it('refuses a backend the platform does not have with BACKEND_UNAVAILABLE naming the ladder', () => {
    let caught: unknown;
    try {
      ladderStart('workerd', BACKEND_LADDERS.workerd, 'webgpu');
    } catch (error) {
      caught = error;
    }
    expect(hasErrorCode(caught, 'BACKEND_UNAVAILABLE')).toBe(true);
    expect((caught as Error).message).toBe(
      'Unsupported backend "webgpu" on workerd. Should be one of: wasm.',
    );
  });
});

describe('fallbacksBelow', () => {
  it('falls back from a lost webgpu device to wasm in the browser', () => {
    expect(fallbacksBelow(BACKEND_LADDERS.browser, 'webgpu')).toEqual(['wasm']);
  });

  it('has nothing below wasm', () => {
    expect(fallbacksBelow(BACKEND_LADDERS.browser, 'wasm')).toEqual([]);
    expect(fallbacksBelow(BACKEND_LADDERS.workerd, 'wasm')).toEqual([]);
  });
});

describe('climbLadder', () => {
  it('starts the first backend that works and records why each one above it failed', async () => {
    const tried: BackendName[] = [];
    const climb = await climbLadder(BACKEND_LADDERS.browser, (backend) => {
      tried.push(backend);
      return backend === 'webgpu'
        ? Promise.reject(new Error('no WebGPU adapter (requestAdapter() returned null)'))
        : Promise.resolve(`engine on ${backend}`);
    });
    expect(tried).toEqual(['webgpu', 'wasm']);
    expect(climb).toEqual({
      started: 'engine on wasm',
      backend: 'wasm',
      skipped: [{ backend: 'webgpu', reason: 'no WebGPU adapter (requestAdapter() returned null)' }],
    });
  });

  it('tries no backend below the first that starts', async () => {
    const tried: BackendName[] = [];
    await climbLadder(BACKEND_LADDERS.node, (backend) => {
      tried.push(backend);
      return Promise.resolve(backend);
    });
    expect(tried).toEqual(['native']);
  });

  it('gives every failure and the last error when no backend starts', async () => {
    const last = new Error('wasm failed too');
    const climb = await climbLadder(BACKEND_LADDERS.node, (backend) =>
      Promise.reject(backend === 'wasm' ? last : new Error('native failed')),
    );
    expect(climb).toEqual({
      started: undefined,
      lastError: last,
      skipped: [
        { backend: 'native', reason: 'native failed' },
        { backend: 'wasm', reason: 'wasm failed too' },
      ],
    });
  });
});

describe('isBackendName', () => {
  it('knows the three backends and nothing else', () => {
    expect(['native', 'webgpu', 'wasm', 'auto', 'cuda', 1].map(isBackendName)).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
  });
});
