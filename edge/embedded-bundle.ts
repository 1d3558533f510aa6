// The default bundle, shipped inside the Worker's upload: edit these four imports to embed another (small) one.
import manifest from '../artifacts/news-bag/manifest.json' with { type: 'json' };
import model from '../artifacts/news-bag/model.onnx';
import normalization from '../artifacts/news-bag/normalization.json' with { type: 'json' };
import vocab from '../artifacts/news-bag/vocab.txt';

/**
 * The embedded bundle's files, as `filesSource` takes them. `normalization.json` is hashed in the manifest, so it
 * must come in as its exact bytes: wrangler.toml's Data rule makes it an ArrayBuffer (the JSON import attribute is
 * only for TypeScript, which still sees the parsed type, hence the cast). The manifest is not hashed, so a JSON
 * import re-encoded is fine. parity.jsonl stays out of the upload.
 */
export function embeddedBundleFiles(): Record<string, Uint8Array> {
  return {
    'manifest.json': new TextEncoder().encode(JSON.stringify(manifest)),
    [manifest.model.file]: new Uint8Array(model),
    [manifest.preprocessing.vocab]: new Uint8Array(vocab),
    [manifest.preprocessing.normalization]: new Uint8Array(normalization as unknown as ArrayBuffer),
  };
}
