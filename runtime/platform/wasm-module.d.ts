// Bundlers for Workers (wrangler, Miniflare's CompiledWasm modules) turn a `.wasm` import into a compiled module.
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
