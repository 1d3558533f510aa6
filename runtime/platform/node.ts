// The Node platform: onnxruntime-node's native CPU build first, onnxruntime-web's WASM build when that is missing.
import type { EngineOptions, InferenceEngine, Platform } from '../engine.ts';
import { ShipshapeError } from '../errors.ts';
import { definePlatform } from './define.ts';
import { createOrtEngine, type OrtModule } from './ort-engine.ts';
import { createWasmEngine } from './ort-wasm-node.ts';

export interface NodePlatformOptions {
  /**
   * Loads onnxruntime-node. Default: `import('onnxruntime-node')`, an optional dependency, so its absence is a
   * reported skip on the ladder rather than a crash.
   */
  readonly loadNative?: () => Promise<unknown>;
}

const NATIVE_PACKAGE = 'onnxruntime-node';

/** Builds a Node platform; `nodePlatform` is the default one. */
export function createNodePlatform(options: NodePlatformOptions = {}): Platform {
  const loadNative = options.loadNative ?? (() => import('onnxruntime-node'));
  let native: Promise<OrtModule> | undefined;

  async function createNativeEngine(
    model: Uint8Array,
    engineOptions: EngineOptions,
  ): Promise<InferenceEngine> {
    native ??= loadNative().then(asOrtModule, (error: unknown) => {
      native = undefined;
      throw new ShipshapeError('BACKEND_UNAVAILABLE', nativeLoadFailure(error), {
        cause: error,
        subject: 'native',
      });
    });
    const ort = await native;
    return createOrtEngine({
      ort,
      backend: 'native',
      model,
      sessionOptions: {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        intraOpNumThreads: engineOptions.numThreads,
        interOpNumThreads: 1,
      },
    });
  }

  return definePlatform(
    'node',
    { native: createNativeEngine, wasm: createWasmEngine },
    () => 'Node has no WebGPU backend. Use "native" or "wasm".',
  );
}

/** The Node platform with onnxruntime-node loaded from node_modules. */
export const nodePlatform: Platform = createNodePlatform();

function asOrtModule(loaded: unknown): OrtModule {
  // A CommonJS package imported from ESM may put its exports on `default`.
  for (const candidate of [loaded, (loaded as { default?: unknown } | null)?.default]) {
    const ort = candidate as Partial<OrtModule> | null | undefined;
    if (typeof ort?.InferenceSession?.create === 'function' && typeof ort.Tensor === 'function') {
      return ort as OrtModule;
    }
  }
  throw new ShipshapeError(
    'BACKEND_UNAVAILABLE',
    `${NATIVE_PACKAGE} loaded but exports no InferenceSession/Tensor; reinstall it with the version in package.json.`,
    { subject: 'native' },
  );
}

function nativeLoadFailure(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    return (
      `${NATIVE_PACKAGE} is not installed (it is an optional dependency): ${message}. ` +
      `Install it with \`ONNXRUNTIME_NODE_INSTALL=skip npm install ${NATIVE_PACKAGE}\`.`
    );
  }
  return `${NATIVE_PACKAGE} failed to load: ${message}`;
}
