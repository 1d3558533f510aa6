// The bundle inside the Worker's upload: the files `npm run build:web` verified and wrote to dist/embedded/
// (`--bundle PATH-OR-NAME` or SHIPSHAPE_BUNDLE picks it; news-bag by default). wrangler.toml's Data rule makes each
// `.bin` the file's exact bytes.
import manifest from '../dist/embedded/manifest.bin';
import model from '../dist/embedded/model.bin';
import normalization from '../dist/embedded/normalization.bin';
import parity from '../dist/embedded/parity.bin';
import vocab from '../dist/embedded/vocab.bin';

/** The manifest fields that name the other files (loadBundle validates the whole manifest). */
interface FileNames {
  readonly model?: { readonly file?: string };
  readonly preprocessing?: { readonly vocab?: string; readonly normalization?: string };
  readonly parity?: { readonly file?: string };
}

/**
 * The embedded bundle's files, as `filesSource` takes them, under the names its manifest gives. Every file comes in
 * as its exact bytes, so each one's sha256 is checked against the manifest when it is read. A name the manifest
 * lacks is left out: loadBundle then refuses the manifest with its own message.
 */
export function embeddedBundleFiles(): Record<string, Uint8Array> {
  const names = JSON.parse(new TextDecoder().decode(manifest)) as FileNames;
  const files: Record<string, Uint8Array> = { 'manifest.json': new Uint8Array(manifest) };
  const add = (name: string | undefined, bytes: ArrayBuffer) => {
    if (typeof name === 'string') files[name] = new Uint8Array(bytes);
  };
  add(names.model?.file, model);
  add(names.preprocessing?.vocab, vocab);
  add(names.preprocessing?.normalization, normalization);
  add(names.parity?.file, parity);
  return files;
}
