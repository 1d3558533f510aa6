// The edge API contract in-process: Hono's app.request() against the app edge/app.ts builds, on a real news-bag
// predictor (onnxruntime-node), with no server and no workerd. The fast tier's view of routes, errors and the Open
// Inference Protocol; api-node and api-workerd run the same contract over real HTTP.
import { describe } from 'vitest';
import { createApp } from '../../edge/app.ts';
import { readConfig } from '../../edge/config.ts';
import { createPredictor, loadBundle } from '../../runtime/node.ts';
import { CONTRACT_VARS, describeApiContract } from './api-contract.ts';
import { BUNDLE_DIR, QUIET_VARS } from './support.ts';

describe('the app in-process', () => {
  describeApiContract(
    'the app in-process (app.request)',
    async () => {
      const config = readConfig({ ...QUIET_VARS, ...CONTRACT_VARS });
      // As the Node entry loads it, without the parity proof (test/runtime/parity.test.ts covers that).
      const edge = createApp({
        config,
        loadPredictor: async () =>
          createPredictor(await loadBundle(BUNDLE_DIR, { verify: 'serving' }), {
            maxTextLength: config.maxTextLength,
            returnLogits: true,
          }),
      });
      await edge.warmUp();
      return {
        fetch: async (path, init) => edge.app.request(path, init),
        close: () => edge.dispose(),
      };
    },
    ['native', 'wasm'],
    { transport: 'in-process' },
  );
});
