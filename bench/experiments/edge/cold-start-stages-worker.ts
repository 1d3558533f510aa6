// The cold-start bench's stage Worker (built by workerd.ts's startBareWorker): each request runs one step of what the
// edge Worker does before its first prediction, so the client can time each step apart (workerd's clock stands still
// during CPU work). Steps in order: bundle, engine (the first session: WASM instance, onnxruntime init, session),
// session (a second session of the same model: session creation alone), proof, first, next.
import bundleFiles from 'shipshape-bench:bundle';
import {
  createPredictor,
  filesSource,
  loadBundle,
  proveParity,
  type Bundle,
  type Predictor,
} from '../../../runtime/workerd.ts';

let bundle: Bundle | undefined;
let predictor: Predictor | undefined;

const TEXT = 'Stocks rally as the central bank holds rates';

function load(): Promise<Bundle> {
  const files = Object.fromEntries(
    Object.entries(bundleFiles).map(([file, bytes]) => [file, new Uint8Array(bytes)]),
  );
  return loadBundle(filesSource(files, 'bench:bundle'), {
    verify: 'serving',
    timeoutMs: Number.POSITIVE_INFINITY,
  });
}

async function step(name: string): Promise<unknown> {
  switch (name) {
    case 'bundle':
      bundle = await load();
      return bundle.manifest.name;
    case 'engine':
      // As the edge Worker creates it.
      predictor = await createPredictor(need(bundle), { batching: false, returnLogits: true });
      return predictor.backend.backend;
    case 'session': {
      const second = await createPredictor(need(bundle), { batching: false, returnLogits: true });
      await second.dispose();
      return 'disposed';
    }
    case 'proof':
      return (await proveParity(need(predictor), { batchSize: 32 })).cases;
    case 'first':
    case 'next':
      return (await need(predictor).predict(TEXT)).label;
    default:
      throw new Error(`unknown step "${name}"`);
  }
}

function need<T>(value: T | undefined): T {
  if (value === undefined)
    throw new Error('run the steps in order: bundle, engine, session, proof, first, next');
  return value;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const name = new URL(request.url).searchParams.get('step') ?? '';
    // Read to its end, or workerd closes the keep-alive connection the client sends the next step on.
    await request.text();
    try {
      return Response.json({ step: name, result: await step(name) });
    } catch (error) {
      return Response.json({ step: name, error: String(error) }, { status: 500 });
    }
  },
};
