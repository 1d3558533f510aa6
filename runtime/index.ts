// The portable entry (`shipshape` under the `default` condition): the core, no platform. Pass `platform` yourself,
// or import a platform entry (`shipshape/node`, `shipshape/browser`, `shipshape/workerd`) that binds one.
export { createPredictor, type PortablePredictorOptions } from './predictor.ts';
export { loadBundle } from './bundle/index.ts';
export * from './shared-exports.ts';
