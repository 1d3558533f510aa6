// The bench's bare predict Worker (built by workerd.ts): the runtime alone, no HTTP layer, K predictions a request.
import bundleFiles from 'shipshape-bench:bundle';
import { createPredictor, filesSource, loadBundle, type Predictor } from '../../../runtime/workerd.ts';

let predictor: Promise<Predictor> | undefined;

function start(): Promise<Predictor> {
  const files = Object.fromEntries(
    Object.entries(bundleFiles).map(([name, bytes]) => [name, new Uint8Array(bytes)]),
  );
  // As the edge Worker: no micro-batching on workerd.
  return loadBundle(filesSource(files, 'bench:bundle'), { verify: 'serving' }).then((bundle) =>
    createPredictor(bundle, { batching: false }),
  );
}

export default {
  async fetch(request: Request): Promise<Response> {
    const repeat = Number(new URL(request.url).searchParams.get('repeat') ?? '1');
    // The edge API's body: { "text" } or { "texts" }.
    const body = (await request.json()) as { text?: string; texts?: string[] };
    const texts = body.texts ?? [body.text ?? ''];
    predictor ??= start();
    const active = await predictor;
    let count = 0;
    for (let i = 0; i < repeat; i++) {
      if (texts.length === 1) {
        await active.predict(texts[0]!);
        count += 1;
      } else {
        count += (await active.predictBatch(texts, { batchSize: 32 })).length;
      }
    }
    return Response.json({ predictions: count });
  },
};
