// Files that wrangler.toml's `Data` rule bundles into the Worker: their default export is the file's bytes.
declare module '*.onnx' {
  const bytes: ArrayBuffer;
  export default bytes;
}
declare module '*.txt' {
  const bytes: ArrayBuffer;
  export default bytes;
}
