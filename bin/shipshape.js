#!/usr/bin/env node
// Entry of the `shipshape` command: runs the precompiled CLI (dist/cli/main.js, built by `npm run build:cli` and by
// `npm install` / `npm ci` through `prepare`) while it matches the sources, otherwise the TypeScript sources
// through tsx's loader.
//
// The build is trusted only while every source file it bundled has the size and mtime recorded in
// dist/cli/stamp.json: editing, checking out or deleting any of them makes this entry run the sources instead (about
// 2 s of compiling per call) until the next `npm run build:cli`. SHIPSHAPE_CLI_ENTRY=source forces the sources,
// SHIPSHAPE_CLI_ENTRY=dist the build (even a stale one); SHIPSHAPE_CLI_TRACE=1 prints which one ran to stderr.
import { readFileSync, statSync } from 'node:fs';
import { URL } from 'node:url';

const ROOT = new URL('../', import.meta.url);
const BUILT = new URL('dist/cli/main.js', ROOT);
const STAMP = new URL('dist/cli/stamp.json', ROOT);

/** Why the build cannot be used, or null when it can. */
function staleReason() {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(STAMP, 'utf8'));
    statSync(BUILT);
  } catch {
    return 'no build (npm run build:cli)';
  }
  if (stamp?.version !== 1 || typeof stamp.inputs !== 'object' || stamp.inputs === null) {
    return 'unreadable dist/cli/stamp.json';
  }
  for (const [file, recorded] of Object.entries(stamp.inputs)) {
    const info = statSync(new URL(file, ROOT), { throwIfNoEntry: false });
    if (info === undefined || info.size !== recorded.size || info.mtimeMs !== recorded.mtimeMs) {
      return `${file} changed since the build (npm run build:cli)`;
    }
  }
  return null;
}

const forced = process.env.SHIPSHAPE_CLI_ENTRY;
if (forced !== undefined && forced !== '' && forced !== 'dist' && forced !== 'source') {
  process.stderr.write(`shipshape: SHIPSHAPE_CLI_ENTRY must be "dist" or "source", not "${forced}"\n`);
  process.exit(2);
}
const reason = forced === 'source' ? 'SHIPSHAPE_CLI_ENTRY=source' : forced === 'dist' ? null : staleReason();
if (process.env.SHIPSHAPE_CLI_TRACE === '1') {
  process.stderr.write(
    `shipshape: entry ${reason === null ? 'dist/cli/main.js' : `cli/main.ts (${reason})`}\n`,
  );
}

let main;
if (reason === null) {
  // Stack traces point into the TypeScript sources through dist/cli/main.js.map.
  process.setSourceMapsEnabled(true);
  ({ main } = await import(BUILT.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../cli/main.ts'));
}
process.exitCode = await main(process.argv);
