// CLI: `npx tsx scripts/build-browser.ts [outdir]` (default dist/browser): the browser runtime, built by
// runtime/platform/browser-build.ts.
import { basename, join, resolve } from 'node:path';
import { buildBrowserRuntime } from '../runtime/platform/browser-build.ts';

const outdir = process.argv[2] ?? join(resolve(import.meta.dirname, '..'), 'dist/browser');
const build = await buildBrowserRuntime({ outdir });
console.log(`${basename(import.meta.filename)}: wrote ${build.files.length} files to ${build.outdir}`);
for (const file of build.files) console.log(`  ${file}`);
