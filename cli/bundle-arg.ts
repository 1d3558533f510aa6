// Shared CLI plumbing: the default bundle and loading a bundle directory given on the command line.
import { loadBundle, type LoadBundleOptions } from '../runtime/bundle/index.ts';
import { directorySource } from '../runtime/platform/node-files.ts';
import type { Bundle } from '../runtime/types.ts';

/** The bundle `npm start` and every command use when none is given. */
export const DEFAULT_BUNDLE = 'artifacts/news-bag';

export function loadBundleDir(dir: string, options: LoadBundleOptions = {}): Promise<Bundle> {
  return loadBundle(directorySource(dir), options);
}
