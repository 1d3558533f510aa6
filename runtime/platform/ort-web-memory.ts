// Finds onnxruntime-web's WASM linear memory: the build does not expose its Emscripten module, so watch it instantiate.

/** The WebAssembly.Memory among an instantiation's imports or the instance's exports, if any. */
export function findWasmMemory(imports: unknown, instance: unknown): WebAssembly.Memory | undefined {
  for (const namespace of Object.values((imports ?? {}) as Record<string, unknown>)) {
    for (const value of Object.values((namespace ?? {}) as Record<string, unknown>)) {
      if (value instanceof WebAssembly.Memory) return value;
    }
  }
  if (instance instanceof WebAssembly.Instance) {
    for (const value of Object.values(instance.exports))
      if (value instanceof WebAssembly.Memory) return value;
  }
  return undefined;
}

function instanceOf(result: unknown): unknown {
  return result instanceof WebAssembly.Instance
    ? result
    : (result as { instance?: unknown } | undefined)?.instance;
}

/**
 * Reports the memory of every WASM instantiation (`instantiate` and `instantiateStreaming`, which Emscripten glue
 * prefers in browsers) until the returned function restores the originals. Scope it to one session creation.
 */
export function watchWasmMemory(found: (memory: WebAssembly.Memory) => void): () => void {
  const original = WebAssembly.instantiate;
  const originalStreaming = WebAssembly.instantiateStreaming as
    typeof WebAssembly.instantiateStreaming | undefined;
  const report = (imports: unknown, result: unknown) => {
    const memory = findWasmMemory(imports, instanceOf(result));
    if (memory !== undefined) found(memory);
    return result;
  };
  const watched = async function (this: unknown, ...args: Parameters<typeof original>): Promise<unknown> {
    return report(args[1], await Reflect.apply(original, this, args));
  } as typeof original;
  WebAssembly.instantiate = watched;
  let watchedStreaming: typeof WebAssembly.instantiateStreaming | undefined;
  if (originalStreaming !== undefined) {
    watchedStreaming = async function (this: unknown, ...args: Parameters<typeof originalStreaming>) {
      return report(
        args[1],
        await Reflect.apply(originalStreaming, this, args),
      ) as WebAssembly.WebAssemblyInstantiatedSource;
    };
    WebAssembly.instantiateStreaming = watchedStreaming;
  }
  return () => {
    if (WebAssembly.instantiate === watched) WebAssembly.instantiate = original;
    if (watchedStreaming !== undefined && WebAssembly.instantiateStreaming === watchedStreaming) {
      WebAssembly.instantiateStreaming = originalStreaming!;
    }
  };
}
