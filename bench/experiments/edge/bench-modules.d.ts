// The bench worker's virtual module (workerd.ts): the bundle's files as Data modules.
declare module 'shipshape-bench:bundle' {
  const files: Readonly<Record<string, ArrayBuffer>>;
  export default files;
}
